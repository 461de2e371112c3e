package dev.kiln.spec;

import dev.kiln.Activation;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.RopeScaling;
import dev.kiln.ScoreNormalization;
import dev.kiln.SlidingWindowLayers;

/**
 * The table of spec elements: one row per element of {@link dev.kiln.ModelSpec @ModelSpec}, in the
 * annotation's order, with everything Kiln knows about it in one place. {@link SpecDraft}, {@link
 * ResolvedSpec} and its builder, {@link SpecRules}, the annotation processor and the model file
 * readers ({@code HfFolder}, {@code GgufFile}) read their element lists, defaults and keys from
 * here; a test checks the rows against the annotation's elements (names, types and defaults).
 *
 * <p>Columns: the annotation element's name; its Java type; its default (none for the four required
 * elements); the rule that checks its value range ({@link #rule()}; rules that relate elements are
 * in {@link SpecRules}) and what 0 means where 0 is special; the key in a Hugging Face {@code
 * config.json}; the GGUF metadata key, after {@code <architecture>.}. A null key means the format
 * has none.
 */
public enum SpecElement {
  //                                          name                                        type
  //               default                 rule                                           0 means
  //                        config.json key                                   GGUF key
  VOCAB_SIZE("vocabSize", int.class, null, SpecMessage.POSITIVE, null, "vocab_size", "vocab_size"),
  HIDDEN_SIZE(
      "hiddenSize", int.class, null, SpecMessage.POSITIVE, null, "hidden_size", "embedding_length"),
  INTERMEDIATE_SIZE(
      "intermediateSize",
      int.class,
      0,
      SpecMessage.INTERMEDIATE_REQUIRED,
      null,
      "intermediate_size",
      "feed_forward_length"),
  NUM_HIDDEN_LAYERS(
      "numHiddenLayers",
      int.class,
      null,
      SpecMessage.POSITIVE,
      null,
      "num_hidden_layers",
      "block_count"),
  NUM_ATTENTION_HEADS(
      "numAttentionHeads",
      int.class,
      null,
      SpecMessage.POSITIVE,
      null,
      "num_attention_heads",
      "attention.head_count"),
  NUM_KEY_VALUE_HEADS(
      "numKeyValueHeads",
      int.class,
      0,
      SpecMessage.OPTIONAL_NOT_NEGATIVE,
      "numAttentionHeads",
      "num_key_value_heads",
      "attention.head_count_kv"),
  HEAD_DIM(
      "headDim",
      int.class,
      0,
      SpecMessage.OPTIONAL_NOT_NEGATIVE,
      "hiddenSize / numAttentionHeads",
      "head_dim",
      "attention.key_length"),
  MAX_POSITION_EMBEDDINGS(
      "maxPositionEmbeddings",
      int.class,
      2048,
      SpecMessage.POSITIVE,
      null,
      "max_position_embeddings",
      "context_length"),
  ROPE_THETA(
      "ropeTheta",
      double.class,
      10000.0,
      SpecMessage.ROPE_THETA,
      null,
      "rope_theta",
      "rope.freq_base"),
  RMS_NORM_EPS(
      "rmsNormEps",
      double.class,
      1e-6,
      SpecMessage.RMS_NORM_EPS,
      null,
      "rms_norm_eps",
      "attention.layer_norm_rms_epsilon"),
  TIE_WORD_EMBEDDINGS(
      "tieWordEmbeddings", boolean.class, false, null, null, "tie_word_embeddings", null),
  ATTENTION_BIAS("attentionBias", boolean.class, false, null, null, "attention_bias", null),
  MLP_BIAS("mlpBias", boolean.class, false, null, null, "mlp_bias", null),
  LM_HEAD_BIAS("lmHeadBias", boolean.class, false, null, null, null, null),
  ATTENTION_OUTPUT_PROJECTION(
      "attentionOutputProjection", boolean.class, true, null, null, null, null),
  RESIDUAL_CONNECTIONS("residualConnections", boolean.class, true, null, null, null, null),
  NORM("norm", NormKind.class, NormKind.RMS_NORM, null, null, null, null),
  MLP("mlp", MlpKind.class, MlpKind.SWIGLU, null, null, null, null),
  POSITION_ENCODING(
      "positionEncoding", PositionEncoding.class, PositionEncoding.ROPE, null, null, null, null),
  SCORE_NORMALIZATION(
      "scoreNormalization",
      ScoreNormalization.class,
      ScoreNormalization.SOFTMAX,
      null,
      null,
      null,
      null),
  CAUSAL_MASK("causalMask", boolean.class, true, null, null, null, null),
  ROPE_SCALING(
      "ropeScaling",
      RopeScaling.class,
      RopeScaling.NONE,
      null,
      null,
      "rope_scaling.rope_type",
      "rope.scaling.type"),
  ROPE_SCALING_FACTOR(
      "ropeScalingFactor",
      double.class,
      1.0,
      SpecMessage.ROPE_SCALING_FACTOR,
      null,
      "rope_scaling.factor",
      "rope.scaling.factor"),
  ROPE_SCALING_LOW_FREQ_FACTOR(
      "ropeScalingLowFreqFactor",
      double.class,
      1.0,
      SpecMessage.ROPE_SCALING_FREQ_FACTORS,
      null,
      "rope_scaling.low_freq_factor",
      null),
  ROPE_SCALING_HIGH_FREQ_FACTOR(
      "ropeScalingHighFreqFactor",
      double.class,
      4.0,
      SpecMessage.ROPE_SCALING_FREQ_FACTORS,
      null,
      "rope_scaling.high_freq_factor",
      null),
  ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS(
      "ropeScalingOriginalMaxPositionEmbeddings",
      int.class,
      0,
      SpecMessage.ROPE_SCALING_ORIGINAL,
      null,
      "rope_scaling.original_max_position_embeddings",
      null),
  QKV_BIAS("qkvBias", boolean.class, false, null, null, null, null),
  QK_NORM("qkNorm", boolean.class, false, null, null, null, null),
  RMS_NORM_UNIT_OFFSET("rmsNormUnitOffset", boolean.class, false, null, null, null, null),
  SCALE_EMBEDDINGS("scaleEmbeddings", boolean.class, false, null, null, null, null),
  SANDWICH_NORMS("sandwichNorms", boolean.class, false, null, null, null, null),
  HIDDEN_ACT("hiddenAct", Activation.class, Activation.SILU, null, null, "hidden_act", null),
  QUERY_PRE_ATTN_SCALAR(
      "queryPreAttnScalar",
      double.class,
      0.0,
      SpecMessage.POSITIVE_OR_OFF,
      "headDim",
      "query_pre_attn_scalar",
      null),
  ATTN_LOGIT_SOFTCAPPING(
      "attnLogitSoftcapping",
      double.class,
      0.0,
      SpecMessage.POSITIVE_OR_OFF,
      "no soft-capping",
      "attn_logit_softcapping",
      "attn_logit_softcapping"),
  FINAL_LOGIT_SOFTCAPPING(
      "finalLogitSoftcapping",
      double.class,
      0.0,
      SpecMessage.POSITIVE_OR_OFF,
      "no soft-capping",
      "final_logit_softcapping",
      "final_logit_softcapping"),
  SLIDING_WINDOW(
      "slidingWindow",
      int.class,
      0,
      SpecMessage.OPTIONAL_NOT_NEGATIVE,
      "no window",
      "sliding_window",
      "attention.sliding_window"),
  SLIDING_WINDOW_LAYERS(
      "slidingWindowLayers",
      SlidingWindowLayers.class,
      SlidingWindowLayers.ALL,
      null,
      null,
      null,
      null),
  MAX_BATCH_SIZE("maxBatchSize", int.class, 1, SpecMessage.POSITIVE, null, null, null),
  MAX_KV_CACHE_BYTES(
      "maxKvCacheBytes", long.class, Long.MAX_VALUE, SpecMessage.POSITIVE, null, null, null);

  private final String elementName;
  private final Class<?> type;
  private final Object defaultValue;
  private final SpecMessage rule;
  private final String zeroMeans;
  private final String hfKey;
  private final String ggufKey;

  SpecElement(
      String elementName,
      Class<?> type,
      Object defaultValue,
      SpecMessage rule,
      String zeroMeans,
      String hfKey,
      String ggufKey) {
    this.elementName = elementName;
    this.type = type;
    this.defaultValue = defaultValue;
    this.rule = rule;
    this.zeroMeans = zeroMeans;
    this.hfKey = hfKey;
    this.ggufKey = ggufKey;
    if (defaultValue != null && !boxed(type).isInstance(defaultValue)) {
      throw new IllegalStateException(
          elementName + ": default " + defaultValue + " is not a " + type);
    }
  }

  /** The annotation element's (and the spec accessors') name, e.g. {@code numKeyValueHeads}. */
  public String elementName() {
    return elementName;
  }

  /**
   * The element's type as the annotation declares it: {@code int.class}, {@code double.class}, an
   * enum class.
   */
  public Class<?> type() {
    return type;
  }

  /**
   * The type of the element's values as spec maps hold them: {@link #type()} boxed ({@code
   * Integer.class}...).
   */
  public Class<?> valueType() {
    return boxed(type);
  }

  /** Whether {@code value} is a value of this element: of its {@link #valueType()}, not null. */
  public boolean accepts(Object value) {
    return boxed(type).isInstance(value);
  }

  /** Whether the annotation requires the element (it has no default). */
  public boolean required() {
    return defaultValue == null;
  }

  /**
   * The annotation's default, boxed; 0 for the required elements (a value the rules reject, so that
   * a spec that leaves one out is reported, not guessed).
   */
  public Object defaultValue() {
    return defaultValue != null ? defaultValue : 0;
  }

  /**
   * The {@link SpecMessage} of the rule that checks the element's value range (positive, 0 or
   * positive, finite...); null for booleans and enums, where every value is in range. Rules that
   * relate elements (heads dividing, the KV cache fitting, options that need or exclude others) are
   * in {@link SpecRules}.
   */
  public SpecMessage rule() {
    return rule;
  }

  /**
   * What 0 means for an element where 0 is "the default" or "off" (e.g. {@code "no window"}); null
   * elsewhere.
   */
  public String zeroMeans() {
    return zeroMeans;
  }

  /** Whether a Hugging Face {@code config.json} has a key for the element. */
  public boolean hasHfKey() {
    return hfKey != null;
  }

  /**
   * The element's key in a Hugging Face {@code config.json}, e.g. {@code num_key_value_heads};
   * nested keys are dotted ({@code rope_scaling.factor}). Families may also imply a value ({@code
   * qwen2}'s q, k, v biases) or name the key differently (Gemma's {@code hidden_activation}).
   */
  public String hfKey() {
    if (hfKey == null) {
      throw new IllegalStateException(elementName + " has no config.json key");
    }
    return hfKey;
  }

  /** Whether GGUF metadata has a key for the element. */
  public boolean hasGgufKey() {
    return ggufKey != null;
  }

  /**
   * The element's GGUF metadata key after the architecture's prefix, e.g. {@code
   * attention.head_count_kv} for {@code llama.attention.head_count_kv}.
   */
  public String ggufKey() {
    if (ggufKey == null) {
      throw new IllegalStateException(elementName + " has no GGUF metadata key");
    }
    return ggufKey;
  }

  private static Class<?> boxed(Class<?> type) {
    if (type == int.class) {
      return Integer.class;
    } else if (type == long.class) {
      return Long.class;
    } else if (type == double.class) {
      return Double.class;
    } else if (type == boolean.class) {
      return Boolean.class;
    }
    return type;
  }
}
