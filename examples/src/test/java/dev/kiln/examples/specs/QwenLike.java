package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;
import dev.kiln.RopeScaling;

/**
 * Qwen's elements together: biases on q, k and v only, per-head q/k norms, a head dim (24) that is
 * not hidden / heads (16), and Llama 3 RoPE scaling from a trained context of 16, in batches of 2.
 */
@ModelSpec(
    vocabSize = 80,
    hiddenSize = 64,
    intermediateSize = 96,
    numHiddenLayers = 2,
    numAttentionHeads = 4,
    numKeyValueHeads = 2,
    headDim = 24,
    maxPositionEmbeddings = 64,
    ropeTheta = 1000000.0,
    qkvBias = true,
    qkNorm = true,
    ropeScaling = RopeScaling.LLAMA3,
    ropeScalingFactor = 4.0,
    ropeScalingOriginalMaxPositionEmbeddings = 16,
    maxBatchSize = 2)
public interface QwenLike {}
