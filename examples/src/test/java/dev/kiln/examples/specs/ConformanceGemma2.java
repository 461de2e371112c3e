package dev.kiln.examples.specs;

import dev.kiln.Activation;
import dev.kiln.ModelSpec;
import dev.kiln.SlidingWindowLayers;

/**
 * The shared conformance model {@code gemma2}: norm gains 1 + w, embeddings times sqrt(64) = 8,
 * sandwich norms, GELU-tanh, query scale 32^-0.5, attention soft-capping 20 and final soft-capping
 * 10 (small, so they act on the random weights), a sliding window of 4 on layers 0 and 2, tied
 * embeddings.
 */
@ModelSpec(
    vocabSize = 256,
    hiddenSize = 64,
    intermediateSize = 192,
    numHiddenLayers = 3,
    numAttentionHeads = 4,
    numKeyValueHeads = 2,
    headDim = 32,
    maxPositionEmbeddings = 128,
    rmsNormEps = 1e-6,
    ropeTheta = 10000.0,
    tieWordEmbeddings = true,
    rmsNormUnitOffset = true,
    scaleEmbeddings = true,
    sandwichNorms = true,
    hiddenAct = Activation.GELU_TANH,
    queryPreAttnScalar = 32,
    attnLogitSoftcapping = 20.0,
    finalLogitSoftcapping = 10.0,
    slidingWindow = 4,
    slidingWindowLayers = SlidingWindowLayers.EVEN)
public interface ConformanceGemma2 {}
