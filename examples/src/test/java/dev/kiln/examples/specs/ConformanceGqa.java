package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/**
 * The shared conformance model {@code gqa}: 6 heads over 2 kv heads, head dim 48, rope theta 5e5.
 */
@ModelSpec(
    vocabSize = 512,
    hiddenSize = 288,
    intermediateSize = 768,
    numHiddenLayers = 3,
    numAttentionHeads = 6,
    numKeyValueHeads = 2,
    headDim = 48,
    maxPositionEmbeddings = 256,
    rmsNormEps = 1e-5,
    ropeTheta = 500000.0)
public interface ConformanceGqa {}
