package dev.kiln.spec;

import dev.kiln.Activation;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.RopeScaling;
import dev.kiln.ScoreNormalization;
import dev.kiln.SlidingWindowLayers;

/**
 * The values of a spec as written, before validation: {@code numKeyValueHeads} and {@code headDim}
 * may still be 0 ("use the default"), and anything may be out of range. {@link SpecRules} checks a
 * draft; {@link #resolve()} turns a valid one into a {@link ResolvedSpec}.
 */
public record SpecDraft(
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

  /** Reads a draft element by element, e.g. from an annotation; the reader returns boxed values and enum constants. */
  public interface ElementReader {
    Object read(SpecElement element);
  }

  public static SpecDraft read(ElementReader reader) {
    return new SpecDraft(
        (Integer) reader.read(SpecElement.VOCAB_SIZE),
        (Integer) reader.read(SpecElement.HIDDEN_SIZE),
        (Integer) reader.read(SpecElement.INTERMEDIATE_SIZE),
        (Integer) reader.read(SpecElement.NUM_HIDDEN_LAYERS),
        (Integer) reader.read(SpecElement.NUM_ATTENTION_HEADS),
        (Integer) reader.read(SpecElement.NUM_KEY_VALUE_HEADS),
        (Integer) reader.read(SpecElement.HEAD_DIM),
        (Integer) reader.read(SpecElement.MAX_POSITION_EMBEDDINGS),
        (Double) reader.read(SpecElement.ROPE_THETA),
        (Double) reader.read(SpecElement.RMS_NORM_EPS),
        (Boolean) reader.read(SpecElement.TIE_WORD_EMBEDDINGS),
        (Boolean) reader.read(SpecElement.ATTENTION_BIAS),
        (Boolean) reader.read(SpecElement.MLP_BIAS),
        (Boolean) reader.read(SpecElement.LM_HEAD_BIAS),
        (Boolean) reader.read(SpecElement.ATTENTION_OUTPUT_PROJECTION),
        (Boolean) reader.read(SpecElement.RESIDUAL_CONNECTIONS),
        (NormKind) reader.read(SpecElement.NORM),
        (MlpKind) reader.read(SpecElement.MLP),
        (PositionEncoding) reader.read(SpecElement.POSITION_ENCODING),
        (ScoreNormalization) reader.read(SpecElement.SCORE_NORMALIZATION),
        (Boolean) reader.read(SpecElement.CAUSAL_MASK),
        (RopeScaling) reader.read(SpecElement.ROPE_SCALING),
        (Double) reader.read(SpecElement.ROPE_SCALING_FACTOR),
        (Double) reader.read(SpecElement.ROPE_SCALING_LOW_FREQ_FACTOR),
        (Double) reader.read(SpecElement.ROPE_SCALING_HIGH_FREQ_FACTOR),
        (Integer) reader.read(SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS),
        (Boolean) reader.read(SpecElement.QKV_BIAS),
        (Boolean) reader.read(SpecElement.QK_NORM),
        (Boolean) reader.read(SpecElement.RMS_NORM_UNIT_OFFSET),
        (Boolean) reader.read(SpecElement.SCALE_EMBEDDINGS),
        (Boolean) reader.read(SpecElement.SANDWICH_NORMS),
        (Activation) reader.read(SpecElement.HIDDEN_ACT),
        (Double) reader.read(SpecElement.QUERY_PRE_ATTN_SCALAR),
        (Double) reader.read(SpecElement.ATTN_LOGIT_SOFTCAPPING),
        (Double) reader.read(SpecElement.FINAL_LOGIT_SOFTCAPPING),
        (Integer) reader.read(SpecElement.SLIDING_WINDOW),
        (SlidingWindowLayers) reader.read(SpecElement.SLIDING_WINDOW_LAYERS),
        (Integer) reader.read(SpecElement.MAX_BATCH_SIZE),
        (Long) reader.read(SpecElement.MAX_KV_CACHE_BYTES));
  }

  /** The value of one element, boxed (the inverse of {@link #read}). */
  public Object value(SpecElement element) {
    return switch (element) {
      case VOCAB_SIZE -> vocabSize;
      case HIDDEN_SIZE -> hiddenSize;
      case INTERMEDIATE_SIZE -> intermediateSize;
      case NUM_HIDDEN_LAYERS -> numHiddenLayers;
      case NUM_ATTENTION_HEADS -> numAttentionHeads;
      case NUM_KEY_VALUE_HEADS -> numKeyValueHeads;
      case HEAD_DIM -> headDim;
      case MAX_POSITION_EMBEDDINGS -> maxPositionEmbeddings;
      case ROPE_THETA -> ropeTheta;
      case RMS_NORM_EPS -> rmsNormEps;
      case TIE_WORD_EMBEDDINGS -> tieWordEmbeddings;
      case ATTENTION_BIAS -> attentionBias;
      case MLP_BIAS -> mlpBias;
      case LM_HEAD_BIAS -> lmHeadBias;
      case ATTENTION_OUTPUT_PROJECTION -> attentionOutputProjection;
      case RESIDUAL_CONNECTIONS -> residualConnections;
      case NORM -> norm;
      case MLP -> mlp;
      case POSITION_ENCODING -> positionEncoding;
      case SCORE_NORMALIZATION -> scoreNormalization;
      case CAUSAL_MASK -> causalMask;
      case ROPE_SCALING -> ropeScaling;
      case ROPE_SCALING_FACTOR -> ropeScalingFactor;
      case ROPE_SCALING_LOW_FREQ_FACTOR -> ropeScalingLowFreqFactor;
      case ROPE_SCALING_HIGH_FREQ_FACTOR -> ropeScalingHighFreqFactor;
      case ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS -> ropeScalingOriginalMaxPositionEmbeddings;
      case QKV_BIAS -> qkvBias;
      case QK_NORM -> qkNorm;
      case RMS_NORM_UNIT_OFFSET -> rmsNormUnitOffset;
      case SCALE_EMBEDDINGS -> scaleEmbeddings;
      case SANDWICH_NORMS -> sandwichNorms;
      case HIDDEN_ACT -> hiddenAct;
      case QUERY_PRE_ATTN_SCALAR -> queryPreAttnScalar;
      case ATTN_LOGIT_SOFTCAPPING -> attnLogitSoftcapping;
      case FINAL_LOGIT_SOFTCAPPING -> finalLogitSoftcapping;
      case SLIDING_WINDOW -> slidingWindow;
      case SLIDING_WINDOW_LAYERS -> slidingWindowLayers;
      case MAX_BATCH_SIZE -> maxBatchSize;
      case MAX_KV_CACHE_BYTES -> maxKvCacheBytes;
    };
  }

  /** {@code numKeyValueHeads}, with 0 meaning {@code numAttentionHeads}. */
  public int effectiveNumKeyValueHeads() {
    return numKeyValueHeads == 0 ? numAttentionHeads : numKeyValueHeads;
  }

  /** {@code headDim}, with 0 meaning {@code hiddenSize / numAttentionHeads}; -1 when that is not a whole number. */
  public int effectiveHeadDim() {
    if (headDim != 0) {
      return headDim;
    }
    if (numAttentionHeads <= 0 || hiddenSize % numAttentionHeads != 0) {
      return -1;
    }
    return hiddenSize / numAttentionHeads;
  }

  /** The spec this draft describes; throws {@link InvalidSpecException} listing every problem. */
  public ResolvedSpec resolve() {
    var problems = SpecRules.check(this);
    if (!problems.isEmpty()) {
      throw new InvalidSpecException(problems);
    }
    return new ResolvedSpec(
        vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
        effectiveNumKeyValueHeads(), effectiveHeadDim(), maxPositionEmbeddings, ropeTheta, rmsNormEps,
        tieWordEmbeddings, attentionBias, mlpBias, lmHeadBias, attentionOutputProjection, residualConnections,
        norm, mlp, positionEncoding, scoreNormalization, causalMask,
        ropeScaling, ropeScalingFactor, ropeScalingLowFreqFactor, ropeScalingHighFreqFactor, ropeScalingOriginalMaxPositionEmbeddings, qkvBias, qkNorm, rmsNormUnitOffset, scaleEmbeddings, sandwichNorms, hiddenAct,
        queryPreAttnScalar == 0.0 ? effectiveHeadDim() : queryPreAttnScalar, attnLogitSoftcapping, finalLogitSoftcapping, slidingWindow, slidingWindowLayers,
        maxBatchSize, maxKvCacheBytes);
  }
}
