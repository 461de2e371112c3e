package dev.kiln.generate;

import dev.kiln.InvalidInputException;

/**
 * Keeps the {@code k} candidates with the largest logits (the lowest ids among equal logits), by
 * partial selection: linear in the number of candidates plus {@code k log k}. {@code k = 0} turns
 * it off.
 */
public final class TopK implements LogitsProcessor {
  private final int k;

  /**
   * @param k {@code >= 0}; 0 keeps everything
   */
  public TopK(int k) {
    if (k < 0) {
      throw new InvalidInputException("topK must be >= 0 (0 turns it off), got " + k);
    }
    this.k = k;
  }

  public int k() {
    return k;
  }

  @Override
  public void process(Candidates candidates, int[] history, int historyLength) {
    if (k > 0 && k < candidates.size()) {
      candidates.keepTop(k);
    }
  }

  @Override
  public String toString() {
    return "topK(" + k + ")";
  }
}
