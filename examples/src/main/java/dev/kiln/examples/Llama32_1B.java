package dev.kiln.examples;

import dev.kiln.ModelSpec;
import dev.kiln.RopeScaling;

/**
 * Llama 3.2 1B's shape: vocab 128256, hidden 2048, 16 layers of 32 query heads over 8 key/value
 * heads, Llama 3.1 RoPE scaling (factor 32 from a trained context of 8192), tied embeddings. The
 * model was trained for 131072 positions; this decoder's KV cache holds 8192 (64 MiB per sequence).
 */
@ModelSpec(
    vocabSize = 128256,
    hiddenSize = 2048,
    intermediateSize = 8192,
    numHiddenLayers = 16,
    numAttentionHeads = 32,
    numKeyValueHeads = 8,
    headDim = 64,
    maxPositionEmbeddings = 8192,
    ropeTheta = 500000.0,
    rmsNormEps = 1e-5,
    tieWordEmbeddings = true,
    ropeScaling = RopeScaling.LLAMA3,
    ropeScalingFactor = 32.0,
    ropeScalingLowFreqFactor = 1.0,
    ropeScalingHighFreqFactor = 4.0,
    ropeScalingOriginalMaxPositionEmbeddings = 8192)
public interface Llama32_1B {}
