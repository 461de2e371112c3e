package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/** Head dim 40 (hidden 120 / 3 heads), a single layer. */
@ModelSpec(
    vocabSize = 131,
    hiddenSize = 120,
    intermediateSize = 160,
    numHiddenLayers = 1,
    numAttentionHeads = 3,
    maxPositionEmbeddings = 64)
public interface HeadDim40 {}
