package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/** The shared conformance model {@code tiny} (see ../shared/conformance/README.md). */
@ModelSpec(
    vocabSize = 64,
    hiddenSize = 32,
    intermediateSize = 64,
    numHiddenLayers = 2,
    numAttentionHeads = 4,
    numKeyValueHeads = 2,
    headDim = 8,
    maxPositionEmbeddings = 64,
    rmsNormEps = 1e-5,
    ropeTheta = 10000.0,
    tieWordEmbeddings = true)
public interface ConformanceTiny {}
