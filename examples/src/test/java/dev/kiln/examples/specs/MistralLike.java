package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;
import dev.kiln.RopeScaling;

/**
 * A sliding window of 6 on every layer (Mistral's kind) and linear RoPE scaling by 2, in batches of
 * 2.
 */
@ModelSpec(
    vocabSize = 70,
    hiddenSize = 32,
    intermediateSize = 64,
    numHiddenLayers = 2,
    numAttentionHeads = 4,
    numKeyValueHeads = 1,
    maxPositionEmbeddings = 64,
    slidingWindow = 6,
    ropeScaling = RopeScaling.LINEAR,
    ropeScalingFactor = 2.0,
    maxBatchSize = 2)
public interface MistralLike {}
