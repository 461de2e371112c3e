package dev.kiln.spec;

import static dev.kiln.spec.SpecElement.*;

import dev.kiln.Activation;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.RopeScaling;
import dev.kiln.SlidingWindowLayers;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The rules a spec must follow. The annotation processor reports each problem on the annotation
 * value it names; the runtime throws {@link InvalidSpecException} for specs built in code or
 * derived from files. Every problem of a spec is found in one call. Range rules take their
 * elements, and what 0 means, from the {@link SpecElement} table ({@link SpecElement#rule()},
 * {@link SpecElement#zeroMeans()}); the rules that relate elements are here.
 */
public final class SpecRules {
  /** The longest Java array the JVM reliably allocates. */
  public static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

  private SpecRules() {}

  public static List<SpecProblem> check(SpecDraft d) {
    List<SpecProblem> problems = new ArrayList<>();
    Reporter report =
        (element, message, args) ->
            problems.add(new SpecProblem(element, message, message.format(args)));

    checkSizes(d, report);
    checkHeads(d, report);
    checkNumerics(d, report);
    checkMemory(d, report);
    checkArchitecture(d, report);
    return problems;
  }

  private interface Reporter {
    void report(SpecElement element, SpecMessage message, Object... args);
  }

  private static void checkSizes(SpecDraft d, Reporter report) {
    for (SpecElement element : SpecElement.values()) {
      if (element.rule() == SpecMessage.POSITIVE && ((Number) d.value(element)).longValue() <= 0) {
        report.report(element, SpecMessage.POSITIVE, element.elementName(), d.value(element));
      }
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
      reportNegative(report, NUM_KEY_VALUE_HEADS, d.numKeyValueHeads());
    } else if (d.numKeyValueHeads() > 0 && heads > 0 && heads % d.numKeyValueHeads() != 0) {
      report.report(
          NUM_KEY_VALUE_HEADS,
          SpecMessage.KV_HEADS_DIVIDE,
          d.numKeyValueHeads(),
          heads,
          divisors(heads));
    }

    if (d.headDim() < 0) {
      reportNegative(report, HEAD_DIM, d.headDim());
      return;
    }
    if (d.headDim() == 0 && heads > 0 && d.hiddenSize() > 0 && d.hiddenSize() % heads != 0) {
      // Suggest the nearest hidden sizes that derive a valid head dim: with RoPE it must also be
      // even.
      long step = d.positionEncoding() == PositionEncoding.ROPE ? 2L * heads : heads;
      long below = d.hiddenSize() / step * step;
      long above = below + step;
      report.report(
          HIDDEN_SIZE,
          SpecMessage.HEAD_DIM_UNDERIVABLE,
          d.hiddenSize(),
          heads,
          below == 0 ? above : below,
          below == 0 ? above + step : above);
    }
    int headDim = d.effectiveHeadDim();
    if (headDim <= 0) {
      return;
    }
    if (d.positionEncoding() == PositionEncoding.ROPE && headDim % 2 != 0) {
      boolean explicit = d.headDim() != 0;
      report.report(
          explicit ? HEAD_DIM : HIDDEN_SIZE,
          SpecMessage.ROPE_ODD_HEAD_DIM,
          headDim,
          explicit ? "" : " (hiddenSize / numAttentionHeads)");
    }
    if (!d.attentionOutputProjection()
        && heads > 0
        && d.hiddenSize() > 0
        && (long) heads * headDim != d.hiddenSize()) {
      report.report(
          ATTENTION_OUTPUT_PROJECTION,
          SpecMessage.NO_OUTPUT_PROJECTION_WIDTH,
          (long) heads * headDim,
          d.hiddenSize());
    }
  }

  private static void checkNumerics(SpecDraft d, Reporter report) {
    if (d.positionEncoding() == PositionEncoding.ROPE
        && !(Double.isFinite(d.ropeTheta()) && d.ropeTheta() > 1.0)) {
      report.report(ROPE_THETA, SpecMessage.ROPE_THETA, d.ropeTheta());
    }
    if (d.norm() == NormKind.RMS_NORM
        && !(Double.isFinite(d.rmsNormEps()) && d.rmsNormEps() > 0.0 && d.rmsNormEps() < 0.1)) {
      report.report(RMS_NORM_EPS, SpecMessage.RMS_NORM_EPS, d.rmsNormEps());
    }
  }

  /**
   * The elements of the newer families (Llama 3 RoPE scaling, Qwen, Gemma): values in range, and
   * only where they act.
   */
  private static void checkArchitecture(SpecDraft d, Reporter report) {
    boolean rope = d.positionEncoding() == PositionEncoding.ROPE;
    boolean rms = d.norm() == NormKind.RMS_NORM;
    if (d.ropeScaling() != RopeScaling.NONE && !rope) {
      report.report(
          ROPE_SCALING,
          SpecMessage.REQUIRES,
          "ropeScaling = " + d.ropeScaling(),
          "positionEncoding = ROPE");
    }
    if (d.ropeScaling() == RopeScaling.NONE) {
      if (d.ropeScalingFactor() != 1.0) {
        report.report(
            ROPE_SCALING_FACTOR,
            SpecMessage.UNUSED,
            "ropeScalingFactor",
            d.ropeScalingFactor(),
            "with ropeScaling = NONE");
      }
    } else if (!(Double.isFinite(d.ropeScalingFactor()) && d.ropeScalingFactor() >= 1.0)) {
      report.report(
          ROPE_SCALING_FACTOR,
          SpecMessage.ROPE_SCALING_FACTOR,
          d.ropeScaling(),
          d.ropeScalingFactor());
    }
    if (d.ropeScaling() == RopeScaling.LLAMA3) {
      if (!(Double.isFinite(d.ropeScalingLowFreqFactor())
          && Double.isFinite(d.ropeScalingHighFreqFactor())
          && d.ropeScalingLowFreqFactor() > 0
          && d.ropeScalingLowFreqFactor() < d.ropeScalingHighFreqFactor())) {
        report.report(
            ROPE_SCALING_LOW_FREQ_FACTOR,
            SpecMessage.ROPE_SCALING_FREQ_FACTORS,
            d.ropeScalingLowFreqFactor(),
            d.ropeScalingHighFreqFactor());
      }
      if (d.ropeScalingOriginalMaxPositionEmbeddings() <= 0) {
        report.report(
            ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS,
            SpecMessage.ROPE_SCALING_ORIGINAL,
            d.ropeScalingOriginalMaxPositionEmbeddings());
      }
    } else {
      for (SpecElement element :
          List.of(
              ROPE_SCALING_LOW_FREQ_FACTOR,
              ROPE_SCALING_HIGH_FREQ_FACTOR,
              ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS)) {
        if (!d.value(element).equals(element.defaultValue())) {
          report.report(
              element,
              SpecMessage.UNUSED,
              element.elementName(),
              d.value(element),
              "unless ropeScaling = LLAMA3");
        }
      }
    }
    if (d.qkvBias() && d.attentionBias()) {
      report.report(
          QKV_BIAS,
          SpecMessage.REDUNDANT,
          "qkvBias",
          "attentionBias (biases on q, k, v and o_proj)");
    }
    if (d.qkNorm() && !rms) {
      report.report(
          QK_NORM,
          SpecMessage.REQUIRES,
          "qkNorm (an RMSNorm of each q and k head)",
          "norm = RMS_NORM");
    }
    if (d.rmsNormUnitOffset() && !rms) {
      report.report(
          RMS_NORM_UNIT_OFFSET, SpecMessage.UNUSED, "rmsNormUnitOffset", true, "with norm = NONE");
    }
    if (d.sandwichNorms() && !(rms && d.residualConnections())) {
      report.report(
          SANDWICH_NORMS,
          SpecMessage.REQUIRES,
          "sandwichNorms (norms around the residual branches)",
          "norm = RMS_NORM and residualConnections = true");
    }
    if (d.hiddenAct() != Activation.SILU && d.mlp() != MlpKind.SWIGLU) {
      report.report(HIDDEN_ACT, SpecMessage.UNUSED, "hiddenAct", d.hiddenAct(), "with mlp = NONE");
    }
    for (SpecElement element : SpecElement.values()) {
      if (element.rule() != SpecMessage.POSITIVE_OR_OFF) {
        continue;
      }
      double value = (Double) d.value(element);
      if (value != 0.0 && !(Double.isFinite(value) && value > 0.0)) {
        report.report(
            element,
            SpecMessage.POSITIVE_OR_OFF,
            element.elementName(),
            element.zeroMeans(),
            value);
      }
    }
    if (d.slidingWindow() < 0) {
      reportNegative(report, SLIDING_WINDOW, d.slidingWindow());
    } else if (d.slidingWindow() > 0 && !d.causalMask()) {
      report.report(SLIDING_WINDOW, SpecMessage.REQUIRES, "slidingWindow", "causalMask = true");
    }
    if (d.slidingWindowLayers() != SlidingWindowLayers.ALL && d.slidingWindow() == 0) {
      report.report(
          SLIDING_WINDOW_LAYERS,
          SpecMessage.UNUSED,
          "slidingWindowLayers",
          d.slidingWindowLayers(),
          "without a slidingWindow");
    }
  }

  /**
   * {@link SpecMessage#OPTIONAL_NOT_NEGATIVE} for an element where 0 means its {@link
   * SpecElement#zeroMeans() default}.
   */
  private static void reportNegative(Reporter report, SpecElement element, int value) {
    report.report(
        element,
        SpecMessage.OPTIONAL_NOT_NEGATIVE,
        element.elementName(),
        element.zeroMeans(),
        value);
  }

  private static void checkMemory(SpecDraft d, Reporter report) {
    int kvHeads = d.effectiveNumKeyValueHeads();
    int headDim = d.effectiveHeadDim();
    if (kvHeads <= 0
        || headDim <= 0
        || d.maxBatchSize() <= 0
        || d.maxPositionEmbeddings() <= 0
        || d.numHiddenLayers() <= 0
        || d.maxKvCacheBytes() <= 0) {
      return; // reported above
    }
    long kvDim = (long) kvHeads * headDim;
    long rows = (long) d.maxBatchSize() * d.maxPositionEmbeddings();
    long perLayer = saturatingMultiply(rows, kvDim);
    if (perLayer > MAX_ARRAY_LENGTH) {
      report.report(
          MAX_POSITION_EMBEDDINGS,
          SpecMessage.KV_CACHE_INDEX,
          d.maxBatchSize(),
          d.maxPositionEmbeddings(),
          kvDim,
          perLayer,
          MAX_ARRAY_LENGTH);
    }
    long bytes =
        saturatingMultiply(saturatingMultiply(2L * d.numHiddenLayers(), perLayer), Float.BYTES);
    if (bytes > d.maxKvCacheBytes()) {
      report.report(
          MAX_KV_CACHE_BYTES,
          SpecMessage.KV_CACHE_BUDGET,
          bytes,
          d.numHiddenLayers(),
          d.maxBatchSize(),
          d.maxPositionEmbeddings(),
          kvDim,
          d.maxKvCacheBytes());
    }
    if (!d.causalMask()) {
      long width = maxActivationWidth(d, headDim);
      long floats = saturatingMultiply(rows, width);
      if (floats > MAX_ARRAY_LENGTH) {
        report.report(
            MAX_POSITION_EMBEDDINGS,
            SpecMessage.ACTIVATION_SIZE,
            "widest",
            d.maxBatchSize(),
            d.maxPositionEmbeddings(),
            width,
            floats,
            MAX_ARRAY_LENGTH);
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
