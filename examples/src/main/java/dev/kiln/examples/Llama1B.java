package dev.kiln.examples;

import dev.kiln.ModelSpec;

/**
 * A 1B-class Llama, TinyLlama-1.1B's shape: vocab 32000, hidden 2048, intermediate 5632, 22 layers
 * of 32 query heads sharing 4 key/value heads (grouped-query attention), context 2048, an untied LM
 * head: 1.1B parameters. Batches of up to 4, so {@link Bench} can measure batched decode. Kiln
 * generates {@link Llama1BDecoder} and {@link Llama1BWeights} from it.
 */
@ModelSpec(
    vocabSize = 32000,
    hiddenSize = 2048,
    intermediateSize = 5632,
    numHiddenLayers = 22,
    numAttentionHeads = 32,
    numKeyValueHeads = 4,
    maxPositionEmbeddings = 2048,
    rmsNormEps = 1e-5,
    maxBatchSize = 4)
public interface Llama1B {}
