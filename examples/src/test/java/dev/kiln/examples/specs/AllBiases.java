package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/** Biases on q/k/v/o, on the MLP and on the LM head. */
@ModelSpec(
    vocabSize = 70,
    hiddenSize = 48,
    intermediateSize = 72,
    numHiddenLayers = 2,
    numAttentionHeads = 4,
    numKeyValueHeads = 2,
    maxPositionEmbeddings = 64,
    attentionBias = true,
    mlpBias = true,
    lmHeadBias = true,
    maxBatchSize = 2)
public interface AllBiases {}
