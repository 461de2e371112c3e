package dev.kiln.examples;

import dev.kiln.ModelSpec;

/**
 * Qwen3 0.6B's shape: vocab 151936, hidden 1024, 28 layers of 16 query heads over 8 key/value heads
 * of width 128 (q is 2048 wide, twice the hidden size), an RMSNorm of each q and k head before
 * RoPE, tied embeddings. Trained for 40960 positions; this decoder's KV cache holds 4096.
 */
@ModelSpec(
    vocabSize = 151936,
    hiddenSize = 1024,
    intermediateSize = 3072,
    numHiddenLayers = 28,
    numAttentionHeads = 16,
    numKeyValueHeads = 8,
    headDim = 128,
    maxPositionEmbeddings = 4096,
    ropeTheta = 1000000.0,
    rmsNormEps = 1e-6,
    tieWordEmbeddings = true,
    qkNorm = true)
public interface Qwen3_0_6B {}
