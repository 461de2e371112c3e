package dev.kiln.examples;

import dev.kiln.ModelSpec;

/**
 * The shape of llama2.c's largest TinyStories model, {@code stories110M}: vocab 32000, hidden 768,
 * intermediate 2048, 12 layers of 12 heads (as many key/value heads), context 1024, an LM head of
 * its own (not tied): 134M parameters. Batches of up to 4, so {@link Bench} can measure batched
 * decode. Kiln generates {@link Stories110MDecoder} and {@link Stories110MWeights} from it; the
 * benchmark fills them with random weights, so no checkpoint is needed.
 */
@ModelSpec(
    vocabSize = 32000,
    hiddenSize = 768,
    intermediateSize = 2048,
    numHiddenLayers = 12,
    numAttentionHeads = 12,
    maxPositionEmbeddings = 1024,
    rmsNormEps = 1e-5,
    maxBatchSize = 4)
public interface Stories110M {}
