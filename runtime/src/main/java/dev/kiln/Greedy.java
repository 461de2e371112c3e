package dev.kiln;

/** Greedy decoding: the most likely next token. */
public final class Greedy {
  private Greedy() {}

  /**
   * Index of the largest logit; the first one on ties (as {@code torch.argmax}). NaN logits are
   * never chosen.
   */
  public static int argmax(float[] logits) {
    int best = -1;
    for (int i = 0; i < logits.length; i++) {
      if (!Float.isNaN(logits[i]) && (best < 0 || logits[i] > logits[best])) {
        best = i;
      }
    }
    if (best < 0) {
      throw new IllegalArgumentException(
          "no logit to choose from (" + logits.length + " logits, all NaN or none)");
    }
    return best;
  }

  /** {@link #argmax(float[])} of each sequence's logits. */
  public static int[] argmax(float[][] logits) {
    int[] tokens = new int[logits.length];
    for (int s = 0; s < logits.length; s++) {
      tokens[s] = argmax(logits[s]);
    }
    return tokens;
  }
}
