package dev.kiln.examples.specs;

import dev.kiln.Activation;
import dev.kiln.ModelSpec;
import dev.kiln.SlidingWindowLayers;

/**
 * Every Gemma 2 element at once, with a window of 5 on layers 0 and 2 (shorter than the test's
 * prompts), a query scale that is not the head dim's, soft-caps low enough to act on random
 * weights, and batches of 3.
 */
@ModelSpec(
    vocabSize = 90,
    hiddenSize = 48,
    intermediateSize = 80,
    numHiddenLayers = 3,
    numAttentionHeads = 4,
    numKeyValueHeads = 2,
    headDim = 16,
    maxPositionEmbeddings = 64,
    tieWordEmbeddings = true,
    rmsNormUnitOffset = true,
    scaleEmbeddings = true,
    sandwichNorms = true,
    hiddenAct = Activation.GELU_TANH,
    queryPreAttnScalar = 24,
    attnLogitSoftcapping = 5.0,
    finalLogitSoftcapping = 3.0,
    slidingWindow = 5,
    slidingWindowLayers = SlidingWindowLayers.EVEN,
    maxBatchSize = 3)
public interface GemmaLike {}
