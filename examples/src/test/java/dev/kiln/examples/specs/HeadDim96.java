package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;

/**
 * Explicit head dim 96 with 2 heads (q width 192 wider than hidden 160), 1 kv head, 3 layers, vocab
 * 257.
 */
@ModelSpec(
    vocabSize = 257,
    hiddenSize = 160,
    intermediateSize = 224,
    numHiddenLayers = 3,
    numAttentionHeads = 2,
    numKeyValueHeads = 1,
    headDim = 96,
    maxPositionEmbeddings = 64,
    maxBatchSize = 2)
public interface HeadDim96 {}
