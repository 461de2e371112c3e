package dev.kiln.generate;

import dev.kiln.InvalidInputException;

/**
 * The repetition penalty of Keskar et al. (CTRL) as Hugging Face applies it: each distinct token id
 * among the last {@code window} tokens of the history (prompt included) has its logit divided by
 * {@code penalty} when positive and multiplied by it otherwise, once however often it occurs. A
 * penalty above 1 discourages repeats; 1 changes nothing.
 */
public final class RepetitionPenalty implements LogitsProcessor {
  private final double penalty;
  private final int window;

  /**
   * @param penalty finite, {@code > 0}
   * @param window how many of the most recent tokens count, {@code >= 1} ({@link
   *     Integer#MAX_VALUE}: all)
   */
  public RepetitionPenalty(double penalty, int window) {
    if (!(penalty > 0) || Double.isInfinite(penalty)) {
      throw new InvalidInputException(
          "repetition penalty must be a finite number > 0 (1 turns it off), got " + penalty);
    }
    if (window < 1) {
      throw new InvalidInputException(
          "repetition penalty window must be >= 1 tokens, got " + window);
    }
    this.penalty = penalty;
    this.window = window;
  }

  public double penalty() {
    return penalty;
  }

  public int window() {
    return window;
  }

  /**
   * The penalized value of one logit of a seen token: {@code logit > 0 ? logit / penalty : logit *
   * penalty}.
   */
  public float apply(float logit) {
    return (float) (logit > 0 ? logit / penalty : logit * penalty);
  }

  @Override
  public void process(Candidates candidates, int[] history, int historyLength) {
    if (penalty == 1.0 || historyLength == 0) {
      return;
    }
    int from = (int) Math.max(0, (long) historyLength - window);
    int vocab = candidates.vocabSize();
    if (candidates.isDense()) {
      // entry i is token i: touch only the window, and each distinct id once
      for (int t = from; t < historyLength; t++) {
        checkId(history, t, vocab);
      }
      boolean[] done = candidates.marks();
      try {
        for (int t = from; t < historyLength; t++) {
          int id = history[t];
          if (!done[id]) {
            done[id] = true;
            candidates.setLogit(id, apply(candidates.logit(id)));
          }
        }
      } finally {
        for (int t = from; t < historyLength; t++) {
          done[history[t]] = false;
        }
      }
      return;
    }
    boolean[] seen = candidates.marks();
    try {
      for (int t = from; t < historyLength; t++) {
        checkId(history, t, vocab);
        seen[history[t]] = true;
      }
      for (int i = 0; i < candidates.size(); i++) {
        if (seen[candidates.id(i)]) {
          candidates.setLogit(i, apply(candidates.logit(i)));
        }
      }
    } finally {
      for (int t = from; t < historyLength; t++) {
        int id = history[t];
        if (id >= 0 && id < vocab) {
          seen[id] = false;
        }
      }
    }
  }

  private static void checkId(int[] history, int t, int vocab) {
    int id = history[t];
    if (id < 0 || id >= vocab) {
      throw new InvalidInputException(
          "history token " + t + ": id " + id + " is outside the vocabulary [0, " + vocab + ")");
    }
  }

  @Override
  public String toString() {
    return "repetitionPenalty(" + penalty + ", window " + window + ")";
  }
}
