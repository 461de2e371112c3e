package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/**
 * The shared conformance model {@code seed}: the seed notebook's Llama with eps 1e-5 and context
 * 256.
 */
@ModelSpec(
    vocabSize = 100,
    hiddenSize = 256,
    intermediateSize = 512,
    numHiddenLayers = 2,
    numAttentionHeads = 4,
    numKeyValueHeads = 4,
    maxPositionEmbeddings = 256,
    rmsNormEps = 1e-5,
    ropeTheta = 10000.0)
public interface ConformanceSeed {}
