package dev.kiln.examples.specs;

import dev.kiln.MlpKind;
import dev.kiln.ModelSpec;
import dev.kiln.NormKind;

/**
 * No norms, no MLP, no output projection, but residual connections: attention adds straight into
 * the stream.
 */
@ModelSpec(
    vocabSize = 50,
    hiddenSize = 32,
    numHiddenLayers = 2,
    numAttentionHeads = 4,
    maxPositionEmbeddings = 64,
    norm = NormKind.NONE,
    mlp = MlpKind.NONE,
    attentionOutputProjection = false,
    maxBatchSize = 2)
public interface AttentionOnlyResidual {}
