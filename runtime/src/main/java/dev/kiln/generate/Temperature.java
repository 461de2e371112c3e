package dev.kiln.generate;

import dev.kiln.InvalidInputException;

/**
 * Divides every logit by the temperature (below 1 sharpens the distribution, above 1 flattens it).
 * A temperature of 0 means greedy: only the best candidate (largest logit, lowest id on ties) is
 * kept, so whatever follows picks it.
 */
public final class Temperature implements LogitsProcessor {
  private final double temperature;

  /**
   * @param temperature finite, {@code >= 0}
   */
  public Temperature(double temperature) {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new InvalidInputException(
          "temperature must be a finite number >= 0 (0 means greedy), got " + temperature);
    }
    this.temperature = temperature;
  }

  public double temperature() {
    return temperature;
  }

  @Override
  public void process(Candidates candidates, int[] history, int historyLength) {
    if (candidates.size() == 0) {
      return;
    }
    if (temperature == 0) {
      candidates.keepOnly(candidates.argmax());
    } else if (temperature != 1.0) {
      candidates.divideLogits(temperature);
    }
  }

  @Override
  public String toString() {
    return "temperature(" + temperature + ")";
  }
}
