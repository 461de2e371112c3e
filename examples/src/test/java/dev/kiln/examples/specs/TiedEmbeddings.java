package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/** The LM head reuses the token embeddings; 3 layers. */
@ModelSpec(
    vocabSize = 80,
    hiddenSize = 64,
    intermediateSize = 128,
    numHiddenLayers = 3,
    numAttentionHeads = 4,
    numKeyValueHeads = 2,
    maxPositionEmbeddings = 64,
    tieWordEmbeddings = true)
public interface TiedEmbeddings {}
