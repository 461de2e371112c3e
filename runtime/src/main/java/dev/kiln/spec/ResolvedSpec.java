package dev.kiln.spec;

import dev.kiln.Activation;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.RopeScaling;
import dev.kiln.ScoreNormalization;
import dev.kiln.SlidingWindowLayers;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The numbers and choices of a decoder, resolved and validated: the runtime twin of the {@link
 * dev.kiln.ModelSpec @ModelSpec} annotation. Generated decoders expose theirs as {@code SPEC}; the
 * interpreter, loaders and tools take one as their description of the model.
 *
 * <p>Build one with {@link #builder()}; the builder starts from the annotation's defaults (a
 * Llama), and {@code numKeyValueHeads}/{@code headDim} of 0 mean their defaults. Values are set by
 * element (the builder's named setters, {@link Builder#set}, or {@link #of} a {@link SpecDraft}
 * read element by element), never by position, so two values of the same type cannot be swapped
 * unnoticed; the accessors are named after the {@link SpecElement elements}. Building a spec that
 * breaks a rule of {@link SpecRules} throws {@link InvalidSpecException}. Two specs are equal when
 * every element is.
 */
public final class ResolvedSpec {
  /** Bytes of one cached key or value element (the cache holds float32). */
  public static final int KV_CACHE_ELEMENT_BYTES = Float.BYTES;

  /** The values, every one explicit; equality and the element-by-element views read them. */
  private final SpecDraft values;

  private final int vocabSize;
  private final int hiddenSize;
  private final int intermediateSize;
  private final int numHiddenLayers;
  private final int numAttentionHeads;
  private final int numKeyValueHeads;
  private final int headDim;
  private final int maxPositionEmbeddings;
  private final double ropeTheta;
  private final double rmsNormEps;
  private final boolean tieWordEmbeddings;
  private final boolean attentionBias;
  private final boolean mlpBias;
  private final boolean lmHeadBias;
  private final boolean attentionOutputProjection;
  private final boolean residualConnections;
  private final NormKind norm;
  private final MlpKind mlp;
  private final PositionEncoding positionEncoding;
  private final ScoreNormalization scoreNormalization;
  private final boolean causalMask;
  private final RopeScaling ropeScaling;
  private final double ropeScalingFactor;
  private final double ropeScalingLowFreqFactor;
  private final double ropeScalingHighFreqFactor;
  private final int ropeScalingOriginalMaxPositionEmbeddings;
  private final boolean qkvBias;
  private final boolean qkNorm;
  private final boolean rmsNormUnitOffset;
  private final boolean scaleEmbeddings;
  private final boolean sandwichNorms;
  private final Activation hiddenAct;
  private final double queryPreAttnScalar;
  private final double attnLogitSoftcapping;
  private final double finalLogitSoftcapping;
  private final int slidingWindow;
  private final SlidingWindowLayers slidingWindowLayers;
  private final int maxBatchSize;
  private final long maxKvCacheBytes;

  private ResolvedSpec(SpecDraft values) {
    this.values = values;
    this.vocabSize = values.vocabSize();
    this.hiddenSize = values.hiddenSize();
    this.intermediateSize = values.intermediateSize();
    this.numHiddenLayers = values.numHiddenLayers();
    this.numAttentionHeads = values.numAttentionHeads();
    this.numKeyValueHeads = values.numKeyValueHeads();
    this.headDim = values.headDim();
    this.maxPositionEmbeddings = values.maxPositionEmbeddings();
    this.ropeTheta = values.ropeTheta();
    this.rmsNormEps = values.rmsNormEps();
    this.tieWordEmbeddings = values.tieWordEmbeddings();
    this.attentionBias = values.attentionBias();
    this.mlpBias = values.mlpBias();
    this.lmHeadBias = values.lmHeadBias();
    this.attentionOutputProjection = values.attentionOutputProjection();
    this.residualConnections = values.residualConnections();
    this.norm = values.norm();
    this.mlp = values.mlp();
    this.positionEncoding = values.positionEncoding();
    this.scoreNormalization = values.scoreNormalization();
    this.causalMask = values.causalMask();
    this.ropeScaling = values.ropeScaling();
    this.ropeScalingFactor = values.ropeScalingFactor();
    this.ropeScalingLowFreqFactor = values.ropeScalingLowFreqFactor();
    this.ropeScalingHighFreqFactor = values.ropeScalingHighFreqFactor();
    this.ropeScalingOriginalMaxPositionEmbeddings =
        values.ropeScalingOriginalMaxPositionEmbeddings();
    this.qkvBias = values.qkvBias();
    this.qkNorm = values.qkNorm();
    this.rmsNormUnitOffset = values.rmsNormUnitOffset();
    this.scaleEmbeddings = values.scaleEmbeddings();
    this.sandwichNorms = values.sandwichNorms();
    this.hiddenAct = values.hiddenAct();
    this.queryPreAttnScalar = values.queryPreAttnScalar();
    this.attnLogitSoftcapping = values.attnLogitSoftcapping();
    this.finalLogitSoftcapping = values.finalLogitSoftcapping();
    this.slidingWindow = values.slidingWindow();
    this.slidingWindowLayers = values.slidingWindowLayers();
    this.maxBatchSize = values.maxBatchSize();
    this.maxKvCacheBytes = values.maxKvCacheBytes();
  }

  /**
   * The spec with exactly the values of {@code values}: unlike {@link SpecDraft#resolve()}, 0 is
   * not read as a default, and a {@code numKeyValueHeads}, {@code headDim} or {@code
   * queryPreAttnScalar} of 0 is a problem. Throws {@link InvalidSpecException} listing every
   * problem, those of {@link SpecRules} included.
   */
  public static ResolvedSpec of(SpecDraft values) {
    var problems = new ArrayList<>(SpecRules.check(values));
    if (values.numKeyValueHeads() == 0) {
      problems.add(
          new SpecProblem(
              SpecElement.NUM_KEY_VALUE_HEADS,
              SpecMessage.POSITIVE,
              SpecMessage.POSITIVE.format("numKeyValueHeads of a resolved spec", 0)));
    }
    if (values.headDim() == 0) {
      problems.add(
          new SpecProblem(
              SpecElement.HEAD_DIM,
              SpecMessage.POSITIVE,
              SpecMessage.POSITIVE.format("headDim of a resolved spec", 0)));
    }
    if (values.queryPreAttnScalar() == 0.0) {
      problems.add(
          new SpecProblem(
              SpecElement.QUERY_PRE_ATTN_SCALAR,
              SpecMessage.POSITIVE_OR_OFF,
              SpecMessage.POSITIVE_OR_OFF.format(
                  "queryPreAttnScalar of a resolved spec", "nothing", 0.0)));
    }
    if (!problems.isEmpty()) {
      throw new InvalidSpecException(problems);
    }
    return new ResolvedSpec(values);
  }

  public int vocabSize() {
    return vocabSize;
  }

  public int hiddenSize() {
    return hiddenSize;
  }

  public int intermediateSize() {
    return intermediateSize;
  }

  public int numHiddenLayers() {
    return numHiddenLayers;
  }

  public int numAttentionHeads() {
    return numAttentionHeads;
  }

  public int numKeyValueHeads() {
    return numKeyValueHeads;
  }

  public int headDim() {
    return headDim;
  }

  public int maxPositionEmbeddings() {
    return maxPositionEmbeddings;
  }

  public double ropeTheta() {
    return ropeTheta;
  }

  public double rmsNormEps() {
    return rmsNormEps;
  }

  public boolean tieWordEmbeddings() {
    return tieWordEmbeddings;
  }

  public boolean attentionBias() {
    return attentionBias;
  }

  public boolean mlpBias() {
    return mlpBias;
  }

  public boolean lmHeadBias() {
    return lmHeadBias;
  }

  public boolean attentionOutputProjection() {
    return attentionOutputProjection;
  }

  public boolean residualConnections() {
    return residualConnections;
  }

  public NormKind norm() {
    return norm;
  }

  public MlpKind mlp() {
    return mlp;
  }

  public PositionEncoding positionEncoding() {
    return positionEncoding;
  }

  public ScoreNormalization scoreNormalization() {
    return scoreNormalization;
  }

  public boolean causalMask() {
    return causalMask;
  }

  public RopeScaling ropeScaling() {
    return ropeScaling;
  }

  public double ropeScalingFactor() {
    return ropeScalingFactor;
  }

  public double ropeScalingLowFreqFactor() {
    return ropeScalingLowFreqFactor;
  }

  public double ropeScalingHighFreqFactor() {
    return ropeScalingHighFreqFactor;
  }

  public int ropeScalingOriginalMaxPositionEmbeddings() {
    return ropeScalingOriginalMaxPositionEmbeddings;
  }

  public boolean qkvBias() {
    return qkvBias;
  }

  public boolean qkNorm() {
    return qkNorm;
  }

  public boolean rmsNormUnitOffset() {
    return rmsNormUnitOffset;
  }

  public boolean scaleEmbeddings() {
    return scaleEmbeddings;
  }

  public boolean sandwichNorms() {
    return sandwichNorms;
  }

  public Activation hiddenAct() {
    return hiddenAct;
  }

  public double queryPreAttnScalar() {
    return queryPreAttnScalar;
  }

  public double attnLogitSoftcapping() {
    return attnLogitSoftcapping;
  }

  public double finalLogitSoftcapping() {
    return finalLogitSoftcapping;
  }

  public int slidingWindow() {
    return slidingWindow;
  }

  public SlidingWindowLayers slidingWindowLayers() {
    return slidingWindowLayers;
  }

  public int maxBatchSize() {
    return maxBatchSize;
  }

  public long maxKvCacheBytes() {
    return maxKvCacheBytes;
  }

  /** A builder starting from the annotation's defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this spec's values. */
  public Builder toBuilder() {
    var builder = new Builder();
    for (SpecElement element : SpecElement.values()) {
      builder.values.put(element, values.value(element));
    }
    return builder;
  }

  /** This spec as a draft (with every value explicit). */
  public SpecDraft toDraft() {
    return values;
  }

  /**
   * The elements where {@code other} differs from this spec, one line each: {@code
   * "numKeyValueHeads: 2 here, 4 there"}; empty when they are equal.
   */
  public List<String> differences(ResolvedSpec other) {
    SpecDraft mine = toDraft();
    SpecDraft theirs = other.toDraft();
    List<String> lines = new ArrayList<>();
    for (SpecElement element : SpecElement.values()) {
      if (!mine.value(element).equals(theirs.value(element))) {
        lines.add(
            element.elementName()
                + ": "
                + mine.value(element)
                + " here, "
                + theirs.value(element)
                + " there");
      }
    }
    return lines;
  }

  /**
   * Throws {@link dev.kiln.KilnException} listing every differing element unless {@code other}
   * equals this spec.
   */
  public void requireSame(ResolvedSpec other) {
    List<String> differences = differences(other);
    if (!differences.isEmpty()) {
      throw new dev.kiln.KilnException(
          "the model was made for a different spec (here: this decoder, there: the model):\n  "
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

  /**
   * Whether q, k and v have biases: {@code attentionBias} (all four projections) or {@code qkvBias}
   * (q, k, v only).
   */
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

  /**
   * The sliding window of layer {@code layer} in positions, or 0 when the layer attends to every
   * earlier position.
   */
  public int slidingWindow(int layer) {
    boolean slides = slidingWindowLayers == SlidingWindowLayers.ALL || layer % 2 == 0;
    return slides ? slidingWindow : 0;
  }

  /**
   * The RoPE frequency of each pair of a head's dimensions, scaling applied: {@code headDim / 2}
   * values.
   */
  public double[] ropeInverseFrequencies() {
    return RopeFrequencies.of(this);
  }

  /**
   * Bytes of a KV cache for {@code batch} sequences of {@code positions}: 2 x layers x batch x
   * positions x kv_dim x 4.
   */
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

  @Override
  public boolean equals(Object other) {
    return other instanceof ResolvedSpec spec && values.equals(spec.values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  /** {@code ResolvedSpec[vocabSize=10, hiddenSize=8, ...]}, every element in the table's order. */
  @Override
  public String toString() {
    return values.describe("ResolvedSpec");
  }

  /**
   * The {@code @ModelSpec(...)} annotation that declares this spec, listing the elements that
   * differ from the defaults, ready to paste into a build.
   */
  public String toAnnotationSource() {
    var draft = toDraft();
    List<String> parts = new ArrayList<>();
    for (SpecElement element : SpecElement.values()) {
      Object value = draft.value(element);
      Object fallback = element.defaultValue();
      boolean derivedDefault =
          (element == SpecElement.NUM_KEY_VALUE_HEADS && numKeyValueHeads == numAttentionHeads)
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
      case Double d when d.isInfinite() ->
          d > 0 ? "Double.POSITIVE_INFINITY" : "Double.NEGATIVE_INFINITY";
      case Double d -> d.toString().toLowerCase(Locale.ROOT);
      default -> value.toString();
    };
  }

  /**
   * A mutable builder with the annotation's defaults, set element by element. The defaults are the
   * {@link SpecElement} table's, which a test checks against the {@link
   * dev.kiln.ModelSpec @ModelSpec} annotation type itself.
   */
  public static final class Builder {
    private final Map<SpecElement, Object> values = new EnumMap<>(SpecElement.class);

    private Builder() {
      for (SpecElement element : SpecElement.values()) {
        values.put(element, element.defaultValue());
      }
    }

    /** Sets an element by its enum constant; the value must have the element's type (boxed). */
    public Builder set(SpecElement element, Object value) {
      if (!element.accepts(value)) {
        throw new IllegalArgumentException(
            element.elementName()
                + " takes a "
                + element.valueType().getSimpleName()
                + ", not "
                + value);
      }
      values.put(element, value);
      return this;
    }

    public Builder vocabSize(int v) {
      return set(SpecElement.VOCAB_SIZE, v);
    }

    public Builder hiddenSize(int v) {
      return set(SpecElement.HIDDEN_SIZE, v);
    }

    public Builder intermediateSize(int v) {
      return set(SpecElement.INTERMEDIATE_SIZE, v);
    }

    public Builder numHiddenLayers(int v) {
      return set(SpecElement.NUM_HIDDEN_LAYERS, v);
    }

    public Builder numAttentionHeads(int v) {
      return set(SpecElement.NUM_ATTENTION_HEADS, v);
    }

    public Builder numKeyValueHeads(int v) {
      return set(SpecElement.NUM_KEY_VALUE_HEADS, v);
    }

    public Builder headDim(int v) {
      return set(SpecElement.HEAD_DIM, v);
    }

    public Builder maxPositionEmbeddings(int v) {
      return set(SpecElement.MAX_POSITION_EMBEDDINGS, v);
    }

    public Builder ropeTheta(double v) {
      return set(SpecElement.ROPE_THETA, v);
    }

    public Builder rmsNormEps(double v) {
      return set(SpecElement.RMS_NORM_EPS, v);
    }

    public Builder tieWordEmbeddings(boolean v) {
      return set(SpecElement.TIE_WORD_EMBEDDINGS, v);
    }

    public Builder attentionBias(boolean v) {
      return set(SpecElement.ATTENTION_BIAS, v);
    }

    public Builder mlpBias(boolean v) {
      return set(SpecElement.MLP_BIAS, v);
    }

    public Builder lmHeadBias(boolean v) {
      return set(SpecElement.LM_HEAD_BIAS, v);
    }

    public Builder attentionOutputProjection(boolean v) {
      return set(SpecElement.ATTENTION_OUTPUT_PROJECTION, v);
    }

    public Builder residualConnections(boolean v) {
      return set(SpecElement.RESIDUAL_CONNECTIONS, v);
    }

    public Builder norm(NormKind v) {
      return set(SpecElement.NORM, v);
    }

    public Builder mlp(MlpKind v) {
      return set(SpecElement.MLP, v);
    }

    public Builder positionEncoding(PositionEncoding v) {
      return set(SpecElement.POSITION_ENCODING, v);
    }

    public Builder scoreNormalization(ScoreNormalization v) {
      return set(SpecElement.SCORE_NORMALIZATION, v);
    }

    public Builder causalMask(boolean v) {
      return set(SpecElement.CAUSAL_MASK, v);
    }

    public Builder ropeScaling(RopeScaling v) {
      return set(SpecElement.ROPE_SCALING, v);
    }

    public Builder ropeScalingFactor(double v) {
      return set(SpecElement.ROPE_SCALING_FACTOR, v);
    }

    public Builder ropeScalingLowFreqFactor(double v) {
      return set(SpecElement.ROPE_SCALING_LOW_FREQ_FACTOR, v);
    }

    public Builder ropeScalingHighFreqFactor(double v) {
      return set(SpecElement.ROPE_SCALING_HIGH_FREQ_FACTOR, v);
    }

    public Builder ropeScalingOriginalMaxPositionEmbeddings(int v) {
      return set(SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS, v);
    }

    public Builder qkvBias(boolean v) {
      return set(SpecElement.QKV_BIAS, v);
    }

    public Builder qkNorm(boolean v) {
      return set(SpecElement.QK_NORM, v);
    }

    public Builder rmsNormUnitOffset(boolean v) {
      return set(SpecElement.RMS_NORM_UNIT_OFFSET, v);
    }

    public Builder scaleEmbeddings(boolean v) {
      return set(SpecElement.SCALE_EMBEDDINGS, v);
    }

    public Builder sandwichNorms(boolean v) {
      return set(SpecElement.SANDWICH_NORMS, v);
    }

    public Builder hiddenAct(Activation v) {
      return set(SpecElement.HIDDEN_ACT, v);
    }

    public Builder queryPreAttnScalar(double v) {
      return set(SpecElement.QUERY_PRE_ATTN_SCALAR, v);
    }

    public Builder attnLogitSoftcapping(double v) {
      return set(SpecElement.ATTN_LOGIT_SOFTCAPPING, v);
    }

    public Builder finalLogitSoftcapping(double v) {
      return set(SpecElement.FINAL_LOGIT_SOFTCAPPING, v);
    }

    public Builder slidingWindow(int v) {
      return set(SpecElement.SLIDING_WINDOW, v);
    }

    public Builder slidingWindowLayers(SlidingWindowLayers v) {
      return set(SpecElement.SLIDING_WINDOW_LAYERS, v);
    }

    public Builder maxBatchSize(int v) {
      return set(SpecElement.MAX_BATCH_SIZE, v);
    }

    public Builder maxKvCacheBytes(long v) {
      return set(SpecElement.MAX_KV_CACHE_BYTES, v);
    }

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
