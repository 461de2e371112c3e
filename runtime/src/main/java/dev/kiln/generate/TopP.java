package dev.kiln.generate;

import dev.kiln.InvalidInputException;

/**
 * Nucleus sampling (Holtzman et al.): keeps the smallest set of best candidates whose probabilities
 * (softmax over the current candidates) add up to at least {@code p}, and always at least one.
 * Candidates are taken best first (logit descending, id ascending). {@code p = 1} keeps everything.
 *
 * <p>Without a preceding top-k the candidates are not sorted; rather than sorting the whole
 * vocabulary, the best 64 are selected and sorted, then 512, 4096, ... until the mass is reached,
 * so a peaked distribution costs a few linear passes.
 */
public final class TopP implements LogitsProcessor {
  private static final int FIRST_BLOCK = 64;
  private final double p;

  /**
   * @param p in {@code (0, 1]}
   */
  public TopP(double p) {
    if (!(p > 0 && p <= 1)) {
      throw new InvalidInputException("topP must be in (0, 1] (1 turns it off), got " + p);
    }
    this.p = p;
  }

  public double p() {
    return p;
  }

  @Override
  public void process(Candidates candidates, int[] history, int historyLength) {
    int n = candidates.size();
    if (p == 1.0 || n <= 1) {
      return;
    }
    float max = candidates.maxLogit();
    double total = 0;
    for (int i = 0; i < n; i++) {
      total += Candidates.weight(candidates.logit(i), max);
    }
    double target = p * total;
    double cumulative = 0;
    int ordered = 0;
    int block = FIRST_BLOCK;
    while (true) {
      int end = candidates.isSorted() ? n : (int) Math.min(n, (long) ordered + block);
      candidates.sortTop(ordered, end);
      for (int i = ordered; i < end; i++) {
        cumulative += Candidates.weight(candidates.logit(i), max);
        if (cumulative >= target) {
          candidates.keepFirst(i + 1);
          return;
        }
      }
      if (end == n) {
        return; // rounding: the whole set is the nucleus
      }
      ordered = end;
      block *= 8;
    }
  }

  @Override
  public String toString() {
    return "topP(" + p + ")";
  }
}
