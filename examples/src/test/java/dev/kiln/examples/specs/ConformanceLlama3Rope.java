package dev.kiln.examples.specs;

import dev.kiln.ModelSpec;
import dev.kiln.RopeScaling;

/**
 * The shared conformance model {@code llama3rope}: Llama 3.1 RoPE scaling (factor 8, low/high
 * frequency factors 1 and 4, trained context 32, so the scaling shows within the golden positions),
 * multi-query attention (2 heads over 1 kv head).
 */
@ModelSpec(
    vocabSize = 256,
    hiddenSize = 128,
    intermediateSize = 256,
    numHiddenLayers = 2,
    numAttentionHeads = 2,
    numKeyValueHeads = 1,
    headDim = 64,
    maxPositionEmbeddings = 128,
    rmsNormEps = 1e-5,
    ropeTheta = 500000.0,
    ropeScaling = RopeScaling.LLAMA3,
    ropeScalingFactor = 8.0,
    ropeScalingLowFreqFactor = 1.0,
    ropeScalingHighFreqFactor = 4.0,
    ropeScalingOriginalMaxPositionEmbeddings = 32)
public interface ConformanceLlama3Rope {}
