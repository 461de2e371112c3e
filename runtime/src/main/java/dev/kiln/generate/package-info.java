/**
 * Text generation on top of a {@link dev.kiln.Decoder}.
 *
 * <ul>
 *   <li>{@link dev.kiln.generate.SamplerChain}: the next token from logits, through seeded,
 *       reproducible stages ({@link dev.kiln.generate.RepetitionPenalty}, {@link
 *       dev.kiln.generate.Temperature}, {@link dev.kiln.generate.TopK}, {@link
 *       dev.kiln.generate.TopP}, {@link dev.kiln.generate.MinP}, or any {@link
 *       dev.kiln.generate.LogitsProcessor}) and a greedy or sampled pick;
 *   <li>{@link dev.kiln.generate.Generator}: prefill, then one step per token, until a stop token,
 *       stop string, token limit or full context; tokens and UTF-8-safe text go to a {@link
 *       dev.kiln.generate.GenerationListener} as they come, or are pulled from a {@link
 *       dev.kiln.generate.Generation}; several prompts run as one batch;
 *   <li>{@link dev.kiln.generate.ChatTemplate}: Llama 2, Llama 3, ChatML, Qwen 3, Gemma and Mistral
 *       prompts from {@link dev.kiln.generate.Message}s.
 * </ul>
 *
 * Text needs the bytes of each token, a {@link dev.kiln.generate.TokenText} (any tokenizer's {@code
 * tokenBytes} method fits).
 */
package dev.kiln.generate;
