package dev.kiln.examples;

import dev.kiln.ModelSpec;

/**
 * The seed notebook's first model: Hugging Face's {@code LlamaForCausalLM} with {@code
 * vocab_size=100, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
 * num_attention_heads=4, num_key_value_heads=4}, everything else at {@code LlamaConfig}'s defaults.
 * Kiln generates {@link SeedLlamaDecoder}, {@link SeedLlamaWeights} and {@link SeedLlamaAttention}
 * from it.
 */
@ModelSpec(
    vocabSize = 100,
    hiddenSize = 256,
    intermediateSize = 512,
    numHiddenLayers = 2,
    numAttentionHeads = 4,
    numKeyValueHeads = 4)
public interface SeedLlama {}
