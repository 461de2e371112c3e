package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/**
 * The shared conformance model {@code qwen3}: head dim 48 where hidden / heads is 32 (q is 192
 * wide), and an RMSNorm of every q and k head before RoPE.
 */
@ModelSpec(
    vocabSize = 256,
    hiddenSize = 128,
    intermediateSize = 256,
    numHiddenLayers = 2,
    numAttentionHeads = 4,
    numKeyValueHeads = 2,
    headDim = 48,
    maxPositionEmbeddings = 128,
    rmsNormEps = 1e-6,
    ropeTheta = 1000000.0,
    qkNorm = true)
public interface ConformanceQwen3 {}
