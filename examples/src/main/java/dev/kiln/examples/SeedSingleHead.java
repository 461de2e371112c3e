package dev.kiln.examples;

import dev.kiln.MlpKind;
import dev.kiln.ModelSpec;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.ScoreNormalization;

/**
 * The seed notebook's toy KV-cache model: token embedding (vocab 64) -> one head's Q/K/V
 * projections with bias (D = 128) -> scores {@code Q K^T / sqrt(D)} with no softmax and no causal
 * mask -> scores {@code @ V} -> LM head with bias. No norms, no MLP, no output projection, no
 * residual connection, no position encoding. Batches of 4.
 */
@ModelSpec(
    vocabSize = 64,
    hiddenSize = 128,
    numHiddenLayers = 1,
    numAttentionHeads = 1,
    maxPositionEmbeddings = 64,
    maxBatchSize = 4,
    norm = NormKind.NONE,
    mlp = MlpKind.NONE,
    positionEncoding = PositionEncoding.NONE,
    scoreNormalization = ScoreNormalization.NONE,
    causalMask = false,
    attentionBias = true,
    attentionOutputProjection = false,
    residualConnections = false,
    lmHeadBias = true)
public interface SeedSingleHead {}
