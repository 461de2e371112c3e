package dev.kiln.spec;

import static dev.kiln.spec.SpecElement.*;

import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The rules a spec must follow. The annotation processor reports each problem on the annotation
 * value it names; the runtime throws {@link InvalidSpecException} for specs built in code or
 * derived from files. Every problem of a spec is found in one call.
 */
public final class SpecRules {
  /** The longest Java array the JVM reliably allocates. */
  public static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

  private SpecRules() {}

  public static List<SpecProblem> check(SpecDraft d) {
    List<SpecProblem> problems = new ArrayList<>();
    Reporter report = (element, message, args) -> problems.add(new SpecProblem(element, message, message.format(args)));

    checkSizes(d, report);
    checkHeads(d, report);
    checkNumerics(d, report);
    checkMemory(d, report);
    return problems;
  }

  private interface Reporter {
    void report(SpecElement element, SpecMessage message, Object... args);
  }

  private static void checkSizes(SpecDraft d, Reporter report) {
    for (SpecElement element :
        List.of(VOCAB_SIZE, HIDDEN_SIZE, NUM_HIDDEN_LAYERS, NUM_ATTENTION_HEADS, MAX_POSITION_EMBEDDINGS, MAX_BATCH_SIZE)) {
      int value = (Integer) d.value(element);
      if (value <= 0) {
        report.report(element, SpecMessage.POSITIVE, element.elementName(), value);
      }
    }
    if (d.maxKvCacheBytes() <= 0) {
      report.report(MAX_KV_CACHE_BYTES, SpecMessage.POSITIVE, MAX_KV_CACHE_BYTES.elementName(), d.maxKvCacheBytes());
    }
    if (d.mlp() == MlpKind.SWIGLU && d.intermediateSize() <= 0) {
      report.report(INTERMEDIATE_SIZE, SpecMessage.INTERMEDIATE_REQUIRED, d.intermediateSize());
    }
    if (d.mlp() == MlpKind.NONE && d.intermediateSize() != 0) {
      report.report(INTERMEDIATE_SIZE, SpecMessage.INTERMEDIATE_UNUSED, d.intermediateSize());
    }
  }

  private static void checkHeads(SpecDraft d, Reporter report) {
    int heads = d.numAttentionHeads();
    if (d.numKeyValueHeads() < 0) {
      report.report(NUM_KEY_VALUE_HEADS, SpecMessage.OPTIONAL_NOT_NEGATIVE, "numKeyValueHeads", "numAttentionHeads", d.numKeyValueHeads());
    } else if (d.numKeyValueHeads() > 0 && heads > 0 && heads % d.numKeyValueHeads() != 0) {
      report.report(NUM_KEY_VALUE_HEADS, SpecMessage.KV_HEADS_DIVIDE, d.numKeyValueHeads(), heads, divisors(heads));
    }

    if (d.headDim() < 0) {
      report.report(HEAD_DIM, SpecMessage.OPTIONAL_NOT_NEGATIVE, "headDim", "hiddenSize / numAttentionHeads", d.headDim());
      return;
    }
    if (d.headDim() == 0 && heads > 0 && d.hiddenSize() > 0 && d.hiddenSize() % heads != 0) {
      // The nearest multiples of heads around hiddenSize; when hiddenSize < heads, the two smallest.
      long below = (long) d.hiddenSize() / heads * heads;
      long first = below == 0 ? heads : below;
      report.report(HIDDEN_SIZE, SpecMessage.HEAD_DIM_UNDERIVABLE, d.hiddenSize(), heads, first, first + heads);
    }
    int headDim = d.effectiveHeadDim();
    if (headDim <= 0) {
      return;
    }
    if (d.positionEncoding() == PositionEncoding.ROPE && headDim % 2 != 0) {
      boolean explicit = d.headDim() != 0;
      report.report(explicit ? HEAD_DIM : HIDDEN_SIZE, SpecMessage.ROPE_ODD_HEAD_DIM, headDim,
          explicit ? "" : " (hiddenSize / numAttentionHeads)");
    }
    if (!d.attentionOutputProjection() && heads > 0 && d.hiddenSize() > 0 && (long) heads * headDim != d.hiddenSize()) {
      report.report(ATTENTION_OUTPUT_PROJECTION, SpecMessage.NO_OUTPUT_PROJECTION_WIDTH, (long) heads * headDim, d.hiddenSize());
    }
  }

  private static void checkNumerics(SpecDraft d, Reporter report) {
    if (d.positionEncoding() == PositionEncoding.ROPE && !(Double.isFinite(d.ropeTheta()) && d.ropeTheta() > 1.0)) {
      report.report(ROPE_THETA, SpecMessage.ROPE_THETA, d.ropeTheta());
    }
    if (d.norm() == NormKind.RMS_NORM
        && !(Double.isFinite(d.rmsNormEps()) && d.rmsNormEps() > 0.0 && d.rmsNormEps() < 0.1)) {
      report.report(RMS_NORM_EPS, SpecMessage.RMS_NORM_EPS, d.rmsNormEps());
    }
  }

  private static void checkMemory(SpecDraft d, Reporter report) {
    int kvHeads = d.effectiveNumKeyValueHeads();
    int headDim = d.effectiveHeadDim();
    if (kvHeads <= 0 || headDim <= 0 || d.maxBatchSize() <= 0 || d.maxPositionEmbeddings() <= 0
        || d.numHiddenLayers() <= 0 || d.maxKvCacheBytes() <= 0) {
      return; // reported above
    }
    long kvDim = (long) kvHeads * headDim;
    long rows = (long) d.maxBatchSize() * d.maxPositionEmbeddings();
    long perLayer = saturatingMultiply(rows, kvDim);
    if (perLayer > MAX_ARRAY_LENGTH) {
      report.report(MAX_POSITION_EMBEDDINGS, SpecMessage.KV_CACHE_INDEX,
          d.maxBatchSize(), d.maxPositionEmbeddings(), kvDim, perLayer, MAX_ARRAY_LENGTH);
    }
    long bytes = saturatingMultiply(saturatingMultiply(2L * d.numHiddenLayers(), perLayer), Float.BYTES);
    if (bytes > d.maxKvCacheBytes()) {
      report.report(MAX_KV_CACHE_BYTES, SpecMessage.KV_CACHE_BUDGET,
          bytes, d.numHiddenLayers(), d.maxBatchSize(), d.maxPositionEmbeddings(), kvDim, d.maxKvCacheBytes());
    }
    if (!d.causalMask()) {
      long width = maxActivationWidth(d, headDim);
      long floats = saturatingMultiply(rows, width);
      if (floats > MAX_ARRAY_LENGTH) {
        report.report(MAX_POSITION_EMBEDDINGS, SpecMessage.ACTIVATION_SIZE,
            "widest", d.maxBatchSize(), d.maxPositionEmbeddings(), width, floats, MAX_ARRAY_LENGTH);
      }
    }
  }

  /** The widest per-position activation a decoder keeps: the stream, q, the MLP's intermediate. */
  private static long maxActivationWidth(SpecDraft d, int headDim) {
    long width = Math.max(d.hiddenSize(), (long) Math.max(d.numAttentionHeads(), 0) * headDim);
    if (d.mlp() == MlpKind.SWIGLU) {
      width = Math.max(width, d.intermediateSize());
    }
    return width;
  }

  private static long saturatingMultiply(long a, long b) {
    long high = Math.multiplyHigh(a, b);
    long low = a * b;
    return (high == 0 && low >= 0) ? low : Long.MAX_VALUE;
  }

  private static String divisors(int n) {
    var small = new ArrayList<Integer>();
    var large = new ArrayList<Integer>();
    for (int i = 1; (long) i * i <= n; i++) {
      if (n % i == 0) {
        small.add(i);
        if (i != n / i) {
          large.addFirst(n / i);
        }
      }
    }
    small.addAll(large);
    return small.stream().map(String::valueOf).collect(Collectors.joining(", "));
  }
}
