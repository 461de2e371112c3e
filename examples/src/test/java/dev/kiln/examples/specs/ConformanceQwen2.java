package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/**
 * The shared conformance model {@code qwen2}: biases on q, k and v (not on o_proj), rope theta 1e6.
 */
@ModelSpec(
    vocabSize = 256,
    hiddenSize = 128,
    intermediateSize = 320,
    numHiddenLayers = 2,
    numAttentionHeads = 4,
    numKeyValueHeads = 2,
    maxPositionEmbeddings = 128,
    rmsNormEps = 1e-6,
    ropeTheta = 1000000.0,
    qkvBias = true)
public interface ConformanceQwen2 {}
