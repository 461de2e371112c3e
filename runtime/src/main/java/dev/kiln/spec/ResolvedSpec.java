package dev.kiln.spec;

import dev.kiln.Activation;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.RopeScaling;
import dev.kiln.ScoreNormalization;
import dev.kiln.SlidingWindowLayers;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The numbers and choices of a decoder, resolved and validated: the runtime twin of the
 * {@link dev.kiln.ModelSpec @ModelSpec} annotation. Generated decoders expose theirs as
 * {@code SPEC}; the interpreter, loaders and tools take one as their description of the model.
 *
 * <p>Build one with {@link #builder()}; the builder starts from the annotation's defaults (a Llama),
 * and {@code numKeyValueHeads}/{@code headDim} of 0 mean their defaults. Constructing a record that
 * breaks a rule of {@link SpecRules} throws {@link InvalidSpecException}.
 */
public record ResolvedSpec(
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numKeyValueHeads,
    int headDim,
    int maxPositionEmbeddings,
    double ropeTheta,
    double rmsNormEps,
    boolean tieWordEmbeddings,
    boolean attentionBias,
    boolean mlpBias,
    boolean lmHeadBias,
    boolean attentionOutputProjection,
    boolean residualConnections,
    NormKind norm,
    MlpKind mlp,
    PositionEncoding positionEncoding,
    ScoreNormalization scoreNormalization,
    boolean causalMask,
    RopeScaling ropeScaling,
    double ropeScalingFactor,
    double ropeScalingLowFreqFactor,
    double ropeScalingHighFreqFactor,
    int ropeScalingOriginalMaxPositionEmbeddings,
    boolean qkvBias,
    boolean qkNorm,
    boolean rmsNormUnitOffset,
    boolean scaleEmbeddings,
    boolean sandwichNorms,
    Activation hiddenAct,
    double queryPreAttnScalar,
    double attnLogitSoftcapping,
    double finalLogitSoftcapping,
    int slidingWindow,
    SlidingWindowLayers slidingWindowLayers,
    int maxBatchSize,
    long maxKvCacheBytes) {

  /** Bytes of one cached key or value element (the cache holds float32). */
  public static final int KV_CACHE_ELEMENT_BYTES = Float.BYTES;

  public ResolvedSpec {
    Objects.requireNonNull(norm, "norm");
    Objects.requireNonNull(mlp, "mlp");
    Objects.requireNonNull(positionEncoding, "positionEncoding");
    Objects.requireNonNull(scoreNormalization, "scoreNormalization");
    Objects.requireNonNull(ropeScaling, "ropeScaling");
    Objects.requireNonNull(hiddenAct, "hiddenAct");
    Objects.requireNonNull(slidingWindowLayers, "slidingWindowLayers");
    var draft = new SpecDraft(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
        numKeyValueHeads, headDim, maxPositionEmbeddings, ropeTheta, rmsNormEps, tieWordEmbeddings, attentionBias,
        mlpBias, lmHeadBias, attentionOutputProjection, residualConnections, norm, mlp, positionEncoding,
        scoreNormalization, causalMask,
        ropeScaling, ropeScalingFactor, ropeScalingLowFreqFactor, ropeScalingHighFreqFactor, ropeScalingOriginalMaxPositionEmbeddings, qkvBias, qkNorm, rmsNormUnitOffset, scaleEmbeddings, sandwichNorms, hiddenAct, queryPreAttnScalar, attnLogitSoftcapping, finalLogitSoftcapping, slidingWindow, slidingWindowLayers,
        maxBatchSize, maxKvCacheBytes);
    var problems = new ArrayList<>(SpecRules.check(draft));
    if (numKeyValueHeads == 0) {
      problems.add(new SpecProblem(SpecElement.NUM_KEY_VALUE_HEADS, SpecMessage.POSITIVE,
          SpecMessage.POSITIVE.format("numKeyValueHeads of a resolved spec", 0)));
    }
    if (headDim == 0) {
      problems.add(new SpecProblem(SpecElement.HEAD_DIM, SpecMessage.POSITIVE,
          SpecMessage.POSITIVE.format("headDim of a resolved spec", 0)));
    }
    if (queryPreAttnScalar == 0.0) {
      problems.add(new SpecProblem(SpecElement.QUERY_PRE_ATTN_SCALAR, SpecMessage.POSITIVE_OR_OFF,
          SpecMessage.POSITIVE_OR_OFF.format("queryPreAttnScalar of a resolved spec", "nothing", 0.0)));
    }
    if (!problems.isEmpty()) {
      throw new InvalidSpecException(problems);
    }
  }

  /** A builder starting from the annotation's defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this spec's values. */
  public Builder toBuilder() {
    var builder = new Builder();
    var draft = toDraft();
    for (SpecElement element : SpecElement.values()) {
      builder.values.put(element, draft.value(element));
    }
    return builder;
  }

  /** This spec as a draft (with every value explicit). */
  public SpecDraft toDraft() {
    return new SpecDraft(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
        numKeyValueHeads, headDim, maxPositionEmbeddings, ropeTheta, rmsNormEps, tieWordEmbeddings, attentionBias,
        mlpBias, lmHeadBias, attentionOutputProjection, residualConnections, norm, mlp, positionEncoding,
        scoreNormalization, causalMask,
        ropeScaling, ropeScalingFactor, ropeScalingLowFreqFactor, ropeScalingHighFreqFactor, ropeScalingOriginalMaxPositionEmbeddings, qkvBias, qkNorm, rmsNormUnitOffset, scaleEmbeddings, sandwichNorms, hiddenAct, queryPreAttnScalar, attnLogitSoftcapping, finalLogitSoftcapping, slidingWindow, slidingWindowLayers,
        maxBatchSize, maxKvCacheBytes);
  }

  /**
   * The elements where {@code other} differs from this spec, one line each:
   * {@code "numKeyValueHeads: 2 here, 4 there"}; empty when they are equal.
   */
  public List<String> differences(ResolvedSpec other) {
    SpecDraft mine = toDraft();
    SpecDraft theirs = other.toDraft();
    List<String> lines = new ArrayList<>();
    for (SpecElement element : SpecElement.values()) {
      if (!mine.value(element).equals(theirs.value(element))) {
        lines.add(element.elementName() + ": " + mine.value(element) + " here, " + theirs.value(element) + " there");
      }
    }
    return lines;
  }

  /** Throws {@link dev.kiln.KilnException} listing every differing element unless {@code other} equals this spec. */
  public void requireSame(ResolvedSpec other) {
    List<String> differences = differences(other);
    if (!differences.isEmpty()) {
      throw new dev.kiln.KilnException("the model was made for a different spec (here: this decoder, there: the model):\n  "
          + String.join("\n  ", differences));
    }
  }

  /** Width of all query heads together: {@code numAttentionHeads x headDim}. */
  public int qDim() {
    return numAttentionHeads * headDim;
  }

  /** Width of all key (or value) heads together: {@code numKeyValueHeads x headDim}. */
  public int kvDim() {
    return numKeyValueHeads * headDim;
  }

  /** Query heads per key/value head. */
  public int kvGroupSize() {
    return numAttentionHeads / numKeyValueHeads;
  }

  /** Whether q, k and v have biases: {@code attentionBias} (all four projections) or {@code qkvBias} (q, k, v only). */
  public boolean hasQkvBias() {
    return attentionBias || qkvBias;
  }

  /**
   * What query-key dot products are multiplied by: {@code queryPreAttnScalar^-0.5}, which a spec
   * resolves to {@code headDim^-0.5} unless it names another scalar.
   */
  public double attentionScale() {
    return 1.0 / Math.sqrt(queryPreAttnScalar);
  }

  /** The sliding window of layer {@code layer} in positions, or 0 when the layer attends to every earlier position. */
  public int slidingWindow(int layer) {
    boolean slides = slidingWindowLayers == SlidingWindowLayers.ALL || layer % 2 == 0;
    return slides ? slidingWindow : 0;
  }

  /** The RoPE frequency of each pair of a head's dimensions, scaling applied: {@code headDim / 2} values. */
  public double[] ropeInverseFrequencies() {
    return RopeFrequencies.of(this);
  }

  /** Bytes of a KV cache for {@code batch} sequences of {@code positions}: 2 x layers x batch x positions x kv_dim x 4. */
  public long kvCacheBytes(int batch, int positions) {
    return 2L * numHiddenLayers * batch * positions * kvDim() * KV_CACHE_ELEMENT_BYTES;
  }

  /** Bytes of the preallocated KV cache ({@code maxBatchSize x maxPositionEmbeddings}). */
  public long kvCacheBytes() {
    return kvCacheBytes(maxBatchSize, maxPositionEmbeddings);
  }

  /** Number of weights (parameters) of the model. */
  public long parameterCount() {
    return dev.kiln.weights.WeightLayout.of(this).stream().mapToLong(t -> t.elementCount()).sum();
  }

  /**
   * The {@code @ModelSpec(...)} annotation that declares this spec, listing the elements that differ
   * from the defaults, ready to paste into a build.
   */
  public String toAnnotationSource() {
    var defaults = Builder.DEFAULTS;
    var draft = toDraft();
    List<String> parts = new ArrayList<>();
    for (SpecElement element : SpecElement.values()) {
      Object value = draft.value(element);
      Object fallback = defaults.get(element);
      boolean derivedDefault = (element == SpecElement.NUM_KEY_VALUE_HEADS && numKeyValueHeads == numAttentionHeads)
          || (element == SpecElement.HEAD_DIM && numAttentionHeads * headDim == hiddenSize)
          || (element == SpecElement.QUERY_PRE_ATTN_SCALAR && queryPreAttnScalar == headDim);
      if (value.equals(fallback) || derivedDefault) {
        continue;
      }
      parts.add(element.elementName() + " = " + sourceLiteral(value));
    }
    return "@ModelSpec(\n    " + String.join(",\n    ", parts) + ")";
  }

  private static String sourceLiteral(Object value) {
    return switch (value) {
      case Enum<?> e -> e.getDeclaringClass().getSimpleName() + "." + e.name();
      case Long l -> l == Long.MAX_VALUE ? "Long.MAX_VALUE" : l + "L";
      case Double d when d.isNaN() -> "Double.NaN";
      case Double d when d.isInfinite() -> d > 0 ? "Double.POSITIVE_INFINITY" : "Double.NEGATIVE_INFINITY";
      case Double d -> d.toString().toLowerCase(Locale.ROOT);
      default -> value.toString();
    };
  }

  /**
   * A mutable builder with the annotation's defaults. Defaults are read from the
   * {@link dev.kiln.ModelSpec @ModelSpec} annotation type itself, so the two cannot disagree.
   */
  public static final class Builder {
    static final Map<SpecElement, Object> DEFAULTS = readAnnotationDefaults();

    private final Map<SpecElement, Object> values = new EnumMap<>(SpecElement.class);

    private Builder() {
      values.putAll(DEFAULTS);
    }

    private static Map<SpecElement, Object> readAnnotationDefaults() {
      Map<SpecElement, Object> defaults = new EnumMap<>(SpecElement.class);
      for (SpecElement element : SpecElement.values()) {
        try {
          Method method = dev.kiln.ModelSpec.class.getMethod(element.elementName());
          Object fallback = method.getDefaultValue();
          defaults.put(element, fallback != null ? fallback : zeroOf(method.getReturnType()));
        } catch (NoSuchMethodException e) {
          throw new IllegalStateException("@ModelSpec has no element " + element.elementName(), e);
        }
      }
      return defaults;
    }

    private static Object zeroOf(Class<?> type) {
      if (type == int.class) {
        return 0;
      }
      throw new IllegalStateException("required @ModelSpec element of type " + type);
    }

    /** Sets an element by its enum constant; the value must have the element's type (boxed). */
    public Builder set(SpecElement element, Object value) {
      Object fallback = DEFAULTS.get(element);
      if (value == null || !fallback.getClass().isInstance(value)) {
        throw new IllegalArgumentException(element.elementName() + " takes a " + fallback.getClass().getSimpleName()
            + ", not " + value);
      }
      values.put(element, value);
      return this;
    }

    public Builder vocabSize(int v) { return set(SpecElement.VOCAB_SIZE, v); }
    public Builder hiddenSize(int v) { return set(SpecElement.HIDDEN_SIZE, v); }
    public Builder intermediateSize(int v) { return set(SpecElement.INTERMEDIATE_SIZE, v); }
    public Builder numHiddenLayers(int v) { return set(SpecElement.NUM_HIDDEN_LAYERS, v); }
    public Builder numAttentionHeads(int v) { return set(SpecElement.NUM_ATTENTION_HEADS, v); }
    public Builder numKeyValueHeads(int v) { return set(SpecElement.NUM_KEY_VALUE_HEADS, v); }
    public Builder headDim(int v) { return set(SpecElement.HEAD_DIM, v); }
    public Builder maxPositionEmbeddings(int v) { return set(SpecElement.MAX_POSITION_EMBEDDINGS, v); }
    public Builder ropeTheta(double v) { return set(SpecElement.ROPE_THETA, v); }
    public Builder rmsNormEps(double v) { return set(SpecElement.RMS_NORM_EPS, v); }
    public Builder tieWordEmbeddings(boolean v) { return set(SpecElement.TIE_WORD_EMBEDDINGS, v); }
    public Builder attentionBias(boolean v) { return set(SpecElement.ATTENTION_BIAS, v); }
    public Builder mlpBias(boolean v) { return set(SpecElement.MLP_BIAS, v); }
    public Builder lmHeadBias(boolean v) { return set(SpecElement.LM_HEAD_BIAS, v); }
    public Builder attentionOutputProjection(boolean v) { return set(SpecElement.ATTENTION_OUTPUT_PROJECTION, v); }
    public Builder residualConnections(boolean v) { return set(SpecElement.RESIDUAL_CONNECTIONS, v); }
    public Builder norm(NormKind v) { return set(SpecElement.NORM, v); }
    public Builder mlp(MlpKind v) { return set(SpecElement.MLP, v); }
    public Builder positionEncoding(PositionEncoding v) { return set(SpecElement.POSITION_ENCODING, v); }
    public Builder scoreNormalization(ScoreNormalization v) { return set(SpecElement.SCORE_NORMALIZATION, v); }
    public Builder causalMask(boolean v) { return set(SpecElement.CAUSAL_MASK, v); }
    public Builder ropeScaling(RopeScaling v) { return set(SpecElement.ROPE_SCALING, v); }
    public Builder ropeScalingFactor(double v) { return set(SpecElement.ROPE_SCALING_FACTOR, v); }
    public Builder ropeScalingLowFreqFactor(double v) { return set(SpecElement.ROPE_SCALING_LOW_FREQ_FACTOR, v); }
    public Builder ropeScalingHighFreqFactor(double v) { return set(SpecElement.ROPE_SCALING_HIGH_FREQ_FACTOR, v); }
    public Builder ropeScalingOriginalMaxPositionEmbeddings(int v) { return set(SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS, v); }
    public Builder qkvBias(boolean v) { return set(SpecElement.QKV_BIAS, v); }
    public Builder qkNorm(boolean v) { return set(SpecElement.QK_NORM, v); }
    public Builder rmsNormUnitOffset(boolean v) { return set(SpecElement.RMS_NORM_UNIT_OFFSET, v); }
    public Builder scaleEmbeddings(boolean v) { return set(SpecElement.SCALE_EMBEDDINGS, v); }
    public Builder sandwichNorms(boolean v) { return set(SpecElement.SANDWICH_NORMS, v); }
    public Builder hiddenAct(Activation v) { return set(SpecElement.HIDDEN_ACT, v); }
    public Builder queryPreAttnScalar(double v) { return set(SpecElement.QUERY_PRE_ATTN_SCALAR, v); }
    public Builder attnLogitSoftcapping(double v) { return set(SpecElement.ATTN_LOGIT_SOFTCAPPING, v); }
    public Builder finalLogitSoftcapping(double v) { return set(SpecElement.FINAL_LOGIT_SOFTCAPPING, v); }
    public Builder slidingWindow(int v) { return set(SpecElement.SLIDING_WINDOW, v); }
    public Builder slidingWindowLayers(SlidingWindowLayers v) { return set(SpecElement.SLIDING_WINDOW_LAYERS, v); }
    public Builder maxBatchSize(int v) { return set(SpecElement.MAX_BATCH_SIZE, v); }
    public Builder maxKvCacheBytes(long v) { return set(SpecElement.MAX_KV_CACHE_BYTES, v); }

    /** The values so far, unvalidated. */
    public SpecDraft draft() {
      return SpecDraft.read(values::get);
    }

    /** Validates and resolves; throws {@link InvalidSpecException} listing every problem. */
    public ResolvedSpec build() {
      return draft().resolve();
    }
  }
}
