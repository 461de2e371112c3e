package dev.kiln.spec;

import java.util.Locale;

/**
 * Every message a spec rule can produce, in one place, each with a stable tag. Tests and tools
 * refer to these constants rather than to message text.
 */
public enum SpecMessage {
  POSITIVE("Spec/Positive", "%s must be positive, was %d"),
  OPTIONAL_NOT_NEGATIVE(
      "Spec/NotNegative", "%s must be positive, or 0 for the default (%s), was %d"),
  INTERMEDIATE_REQUIRED(
      "Spec/IntermediateSize",
      "intermediateSize must be positive with mlp = SWIGLU, was %d (Llama uses about 8/3 x hiddenSize)"),
  INTERMEDIATE_UNUSED(
      "Spec/IntermediateSize", "intermediateSize (%d) has no effect with mlp = NONE; leave it out"),
  KV_HEADS_DIVIDE(
      "Spec/KvHeads", "numKeyValueHeads (%d) must divide numAttentionHeads (%d); use one of %s"),
  HEAD_DIM_UNDERIVABLE(
      "Spec/HeadDim",
      "hiddenSize (%d) is not a multiple of numAttentionHeads (%d), so headDim cannot default to hiddenSize /"
          + " numAttentionHeads; set headDim, or use hiddenSize %d or %d"),
  ROPE_ODD_HEAD_DIM(
      "Spec/RopeHeadDim",
      "RoPE rotates pairs of dimensions, so the head dimension must be even, was %d%s"),
  ROPE_THETA(
      "Spec/RopeTheta",
      "ropeTheta must be finite and greater than 1, was %s (Llama uses 10000.0, Llama 3 500000.0)"),
  RMS_NORM_EPS(
      "Spec/RmsNormEps",
      "rmsNormEps must be finite, positive and below 0.1, was %s (Llama uses 1e-5 or 1e-6)"),
  NO_OUTPUT_PROJECTION_WIDTH(
      "Spec/AttentionOutput",
      "without an output projection the attention output (numAttentionHeads x headDim = %d) must be as wide as"
          + " hiddenSize (%d); set attentionOutputProjection = true or make them equal"),
  KV_CACHE_INDEX(
      "Spec/KvCacheSize",
      "one layer's KV cache (maxBatchSize %d x maxPositionEmbeddings %d x kv_dim %d = %d floats) is larger than a"
          + " Java array (%d); lower maxBatchSize or maxPositionEmbeddings"),
  KV_CACHE_BUDGET(
      "Spec/KvCacheBudget",
      "the KV cache needs %d bytes (2 x layers %d x batch %d x positions %d x kv_dim %d x 4 bytes), over"
          + " maxKvCacheBytes (%d); lower maxBatchSize or maxPositionEmbeddings, or raise the budget"),
  UNUSED("Spec/Unused", "%s (%s) has no effect %s; leave it out"),
  REQUIRES("Spec/Requires", "%s needs %s"),
  ROPE_SCALING_FACTOR(
      "Spec/RopeScaling",
      "ropeScalingFactor must be finite and at least 1 with ropeScaling = %s, was %s"),
  ROPE_SCALING_FREQ_FACTORS(
      "Spec/RopeScaling",
      "with ropeScaling = LLAMA3, ropeScalingLowFreqFactor (%s) must be positive and below ropeScalingHighFreqFactor (%s)"
          + " (Llama 3.1 uses 1.0 and 4.0)"),
  ROPE_SCALING_ORIGINAL(
      "Spec/RopeScaling",
      "ropeScalingOriginalMaxPositionEmbeddings must be positive with ropeScaling = LLAMA3, was %d (Llama 3.1 uses 8192)"),
  REDUNDANT("Spec/Redundant", "%s is implied by %s; set only one"),
  POSITIVE_OR_OFF("Spec/NotNegative", "%s must be finite and positive, or 0 for %s, was %s"),
  ACTIVATION_SIZE(
      "Spec/ActivationSize",
      "without a causal mask all positions of a batch are computed together, and their %s activations"
          + " (maxBatchSize %d x maxPositionEmbeddings %d x %d = %d floats) are larger than a Java array (%d);"
          + " lower maxBatchSize or maxPositionEmbeddings");

  private final String tag;
  private final String format;

  SpecMessage(String tag, String format) {
    this.tag = tag;
    this.format = format;
  }

  /** The stable tag, e.g. {@code Spec/KvHeads}. */
  public String tag() {
    return tag;
  }

  /** The message text for the given arguments, prefixed with {@code [tag]}. */
  public String format(Object... args) {
    return "[" + tag + "] " + String.format(Locale.ROOT, format, args);
  }
}
