package dev.kiln.generate;

import dev.kiln.InvalidInputException;

/**
 * Keeps the candidates whose probability is at least {@code minP} times the best candidate's
 * (softmax over the current candidates), that is whose logit is at least {@code maxLogit +
 * ln(minP)}; the best one always stays. {@code minP = 0} keeps everything.
 */
public final class MinP implements LogitsProcessor {
  private final double minP;

  /**
   * @param minP in {@code [0, 1]}
   */
  public MinP(double minP) {
    if (!(minP >= 0 && minP <= 1)) {
      throw new InvalidInputException("minP must be in [0, 1] (0 turns it off), got " + minP);
    }
    this.minP = minP;
  }

  public double minP() {
    return minP;
  }

  @Override
  public void process(Candidates candidates, int[] history, int historyLength) {
    if (minP == 0 || candidates.size() <= 1) {
      return;
    }
    float max = candidates.maxLogit();
    if (Float.isInfinite(max)) {
      candidates.keepAtLeast(max);
      return;
    }
    candidates.keepAtLeast((double) max + Math.log(minP));
  }

  @Override
  public String toString() {
    return "minP(" + minP + ")";
  }
}
