package dev.kiln;

import dev.kiln.spec.ResolvedSpec;

/**
 * A decoder-only transformer that turns token ids into next-token logits, for a batch of sequences,
 * with a KV cache (prefill, then one step per token) or without one (full recompute).
 *
 * <p>Generated decoders ({@code XDecoder}) and the reference {@link
 * dev.kiln.interpreter.Interpreter} implement it. Bad input (ids outside the vocabulary, empty
 * prompts, more sequences than {@code maxBatchSize}, more positions than {@code
 * maxPositionEmbeddings}) throws a {@link KilnException} before anything is computed or cached.
 *
 * <p><b>Not thread-safe.</b> A decoder's KV cache and working buffers belong to it, so it must be
 * used from one thread at a time: one decoder per thread, or calls synchronized on it. Decoders
 * detect a call made while another thread is inside one ({@code prefill}, {@code step}, {@code
 * append}, {@code forwardNoCache}, {@code truncate}, {@code reset}) and throw an {@link
 * IllegalStateException} naming this rule rather than compute wrong logits; the check is one
 * compare-and-set per call. Calls from different threads one after another are fine.
 */
public interface Decoder {
  /** The model's description. */
  ResolvedSpec spec();

  /**
   * Empties the cache and feeds one prompt per sequence (all positions of a prompt in one pass).
   *
   * @param prompts one non-empty prompt per sequence; prompts may differ in length
   * @return logits at each prompt's last position, {@code [batch][vocab]}
   */
  float[][] prefill(int[][] prompts);

  /**
   * Feeds one more token to every sequence in the cache and attends over all cached positions.
   *
   * @return logits at the new position, {@code [batch][vocab]}
   */
  float[][] step(int[] tokens);

  /**
   * Feeds a chunk of tokens to each sequence (chunks may be empty or differ in length). On an empty
   * cache this starts a batch of {@code chunks.length} sequences.
   *
   * @return logits at every fed position, {@code [batch][chunk length][vocab]}
   */
  float[][][] append(int[][] chunks);

  /**
   * Runs each whole sequence from scratch, without using or changing the cache (the no-cache path:
   * every generation step recomputes everything and reads the last position).
   *
   * @return logits at every position, {@code [batch][length][vocab]}
   */
  float[][][] forwardNoCache(int[][] sequences);

  /** Empties the cache. */
  void reset();

  /**
   * Forgets sequence {@code sequence}'s cached positions from {@code length} on, so that the next
   * tokens it is fed go at position {@code length} (a conversation going back to where a new turn
   * differs from what was cached).
   *
   * @throws InvalidInputException if there is no such sequence or {@code length} is negative or
   *     beyond its cached length
   */
  void truncate(int sequence, int length);

  /** Sequences in the cache's current batch (0 when empty). */
  int batchSize();

  /** Positions cached for one sequence. */
  int length(int sequence);

  /**
   * Bytes of the KV cache: {@code 2 x layers x maxBatchSize x maxPositionEmbeddings x kv_dim x 4}.
   */
  long kvCacheBytes();
}
