package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/** Grouped-query attention, 2 kv heads for 4 query heads; odd vocabulary; batches of 3. */
@ModelSpec(
    vocabSize = 97,
    hiddenSize = 64,
    intermediateSize = 96,
    numHiddenLayers = 2,
    numAttentionHeads = 4,
    numKeyValueHeads = 2,
    maxPositionEmbeddings = 96,
    rmsNormEps = 1e-5,
    maxBatchSize = 3)
public interface GqaTwoKvHeads {}
