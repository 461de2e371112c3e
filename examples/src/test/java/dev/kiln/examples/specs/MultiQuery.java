package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/**
 * Multi-query attention: one kv head shared by 6 query heads (head dim 8); Llama 3's rope theta.
 */
@ModelSpec(
    vocabSize = 64,
    hiddenSize = 48,
    intermediateSize = 80,
    numHiddenLayers = 2,
    numAttentionHeads = 6,
    numKeyValueHeads = 1,
    maxPositionEmbeddings = 64,
    ropeTheta = 500000.0,
    maxBatchSize = 2)
public interface MultiQuery {}
