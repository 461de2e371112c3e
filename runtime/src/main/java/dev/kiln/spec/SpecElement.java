package dev.kiln.spec;

/** The elements of {@link dev.kiln.ModelSpec @ModelSpec}; {@link #elementName()} is the annotation element. */
public enum SpecElement {
  VOCAB_SIZE("vocabSize"),
  HIDDEN_SIZE("hiddenSize"),
  INTERMEDIATE_SIZE("intermediateSize"),
  NUM_HIDDEN_LAYERS("numHiddenLayers"),
  NUM_ATTENTION_HEADS("numAttentionHeads"),
  NUM_KEY_VALUE_HEADS("numKeyValueHeads"),
  HEAD_DIM("headDim"),
  MAX_POSITION_EMBEDDINGS("maxPositionEmbeddings"),
  ROPE_THETA("ropeTheta"),
  RMS_NORM_EPS("rmsNormEps"),
  TIE_WORD_EMBEDDINGS("tieWordEmbeddings"),
  ATTENTION_BIAS("attentionBias"),
  MLP_BIAS("mlpBias"),
  LM_HEAD_BIAS("lmHeadBias"),
  ATTENTION_OUTPUT_PROJECTION("attentionOutputProjection"),
  RESIDUAL_CONNECTIONS("residualConnections"),
  NORM("norm"),
  MLP("mlp"),
  POSITION_ENCODING("positionEncoding"),
  SCORE_NORMALIZATION("scoreNormalization"),
  CAUSAL_MASK("causalMask"),
  ROPE_SCALING("ropeScaling"),
  ROPE_SCALING_FACTOR("ropeScalingFactor"),
  ROPE_SCALING_LOW_FREQ_FACTOR("ropeScalingLowFreqFactor"),
  ROPE_SCALING_HIGH_FREQ_FACTOR("ropeScalingHighFreqFactor"),
  ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS("ropeScalingOriginalMaxPositionEmbeddings"),
  QKV_BIAS("qkvBias"),
  QK_NORM("qkNorm"),
  RMS_NORM_UNIT_OFFSET("rmsNormUnitOffset"),
  SCALE_EMBEDDINGS("scaleEmbeddings"),
  SANDWICH_NORMS("sandwichNorms"),
  HIDDEN_ACT("hiddenAct"),
  QUERY_PRE_ATTN_SCALAR("queryPreAttnScalar"),
  ATTN_LOGIT_SOFTCAPPING("attnLogitSoftcapping"),
  FINAL_LOGIT_SOFTCAPPING("finalLogitSoftcapping"),
  SLIDING_WINDOW("slidingWindow"),
  SLIDING_WINDOW_LAYERS("slidingWindowLayers"),
  MAX_BATCH_SIZE("maxBatchSize"),
  MAX_KV_CACHE_BYTES("maxKvCacheBytes");

  private final String elementName;

  SpecElement(String elementName) {
    this.elementName = elementName;
  }

  /** The annotation element's (and the record component's) name, e.g. {@code numKeyValueHeads}. */
  public String elementName() {
    return elementName;
  }
}
