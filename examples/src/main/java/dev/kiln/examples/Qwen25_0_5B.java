package dev.kiln.examples;

import dev.kiln.ModelSpec;

/**
 * Qwen2.5 0.5B's shape: vocab 151936, hidden 896, 24 layers of 14 query heads over 2 key/value
 * heads, biases on q, k and v, tied embeddings, rope theta 1e6. Trained for 32768 positions; this
 * decoder's KV cache holds 4096.
 */
@ModelSpec(
    vocabSize = 151936,
    hiddenSize = 896,
    intermediateSize = 4864,
    numHiddenLayers = 24,
    numAttentionHeads = 14,
    numKeyValueHeads = 2,
    maxPositionEmbeddings = 4096,
    ropeTheta = 1000000.0,
    rmsNormEps = 1e-6,
    tieWordEmbeddings = true,
    qkvBias = true)
public interface Qwen25_0_5B {}
