package dev.kiln.examples;

import dev.kiln.Activation;
import dev.kiln.ModelSpec;
import dev.kiln.SlidingWindowLayers;

/**
 * Gemma 2 2B's shape: vocab 256000, hidden 2304, 26 layers of 8 query heads over 4 key/value heads
 * of width 256; norm gains 1 + w, embeddings times sqrt(2304) = 48, sandwich norms, GELU-tanh,
 * attention soft-capping 50 and final soft-capping 30, a sliding window of 4096 on every other
 * layer, tied embeddings, context 8192.
 */
@ModelSpec(
    vocabSize = 256000,
    hiddenSize = 2304,
    intermediateSize = 9216,
    numHiddenLayers = 26,
    numAttentionHeads = 8,
    numKeyValueHeads = 4,
    headDim = 256,
    maxPositionEmbeddings = 8192,
    ropeTheta = 10000.0,
    rmsNormEps = 1e-6,
    tieWordEmbeddings = true,
    rmsNormUnitOffset = true,
    scaleEmbeddings = true,
    sandwichNorms = true,
    hiddenAct = Activation.GELU_TANH,
    queryPreAttnScalar = 256,
    attnLogitSoftcapping = 50.0,
    finalLogitSoftcapping = 30.0,
    slidingWindow = 4096,
    slidingWindowLayers = SlidingWindowLayers.EVEN)
public interface Gemma2_2B {}
