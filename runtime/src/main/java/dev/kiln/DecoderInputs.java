package dev.kiln;

import dev.kiln.spec.ResolvedSpec;

/**
 * Checks of decoder input shared by every {@link Decoder}; each names the sequence and index at
 * fault.
 */
public final class DecoderInputs {
  private DecoderInputs() {}

  /**
   * Checks a batch of chunks for a cache holding {@code lengths} (null lengths: an empty cache).
   */
  public static void checkChunks(
      ResolvedSpec spec, int[][] chunks, int activeBatch, IntUnary lengths) {
    if (chunks == null || chunks.length == 0) {
      throw new InvalidInputException("no sequences given");
    }
    if (chunks.length > spec.maxBatchSize()) {
      throw new InvalidInputException(
          chunks.length + " sequences given but maxBatchSize is " + spec.maxBatchSize());
    }
    if (activeBatch > 0 && chunks.length != activeBatch) {
      throw new InvalidInputException(
          chunks.length
              + " sequences given but the cache holds a batch of "
              + activeBatch
              + " (call reset() or prefill() to start a new batch)");
    }
    for (int s = 0; s < chunks.length; s++) {
      int[] chunk = chunks[s];
      if (chunk == null) {
        throw new InvalidInputException("sequence " + s + " is null");
      }
      for (int i = 0; i < chunk.length; i++) {
        if (chunk[i] < 0 || chunk[i] >= spec.vocabSize()) {
          throw new InvalidInputException(
              "sequence "
                  + s
                  + ", token "
                  + i
                  + ": id "
                  + chunk[i]
                  + " is outside the vocabulary [0, "
                  + spec.vocabSize()
                  + ")");
        }
      }
      long length = (activeBatch > 0 ? lengths.apply(s) : 0) + (long) chunk.length;
      if (length > spec.maxPositionEmbeddings()) {
        throw new ContextOverflowException(
            "sequence "
                + s
                + " would reach "
                + length
                + " positions, past maxPositionEmbeddings ("
                + spec.maxPositionEmbeddings()
                + ")"
                + (activeBatch > 0 ? "; " + lengths.apply(s) + " are cached" : ""));
      }
    }
  }

  /**
   * Checks that no prompt is empty (prefill and no-cache runs need a position to return logits
   * for).
   */
  public static void checkNonEmpty(int[][] sequences) {
    for (int s = 0; s < sequences.length; s++) {
      if (sequences[s] != null && sequences[s].length == 0) {
        throw new InvalidInputException("sequence " + s + " is empty; it needs at least one token");
      }
    }
  }

  /** Lengths of cached sequences by index. */
  @FunctionalInterface
  public interface IntUnary {
    int apply(int sequence);
  }

  /**
   * Checks a {@link Decoder#truncate} request: sequence {@code sequence} of {@code batchSize},
   * whose cached length {@code lengths} gives, is to keep {@code length} positions.
   */
  public static void checkTruncate(int batchSize, int sequence, int length, IntUnary lengths) {
    if (sequence < 0 || sequence >= batchSize) {
      throw new InvalidInputException(
          "no sequence " + sequence + " in the cache (it holds " + batchSize + ")");
    }
    int current = lengths.apply(sequence);
    if (length < 0 || length > current) {
      throw new InvalidInputException(
          "cannot truncate sequence "
              + sequence
              + " to "
              + length
              + " positions: it holds "
              + current);
    }
  }
}
