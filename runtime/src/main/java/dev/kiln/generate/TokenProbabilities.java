package dev.kiln.generate;

import java.util.Arrays;

/**
 * The distribution a {@link SamplerChain} samples from: the candidates left after its stages, in
 * the chain's order, with their softmax probabilities (summing to 1).
 */
public record TokenProbabilities(int[] ids, double[] probabilities) {
  public TokenProbabilities {
    ids = ids.clone();
    probabilities = probabilities.clone();
    if (ids.length != probabilities.length) {
      throw new IllegalArgumentException(
          ids.length + " ids but " + probabilities.length + " probabilities");
    }
  }

  @Override
  public int[] ids() {
    return ids.clone();
  }

  @Override
  public double[] probabilities() {
    return probabilities.clone();
  }

  /** Number of tokens with a probability. */
  public int size() {
    return ids.length;
  }

  /** Probability of a token id (0 when it was filtered out). */
  public double probability(int id) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == id) {
        return probabilities[i];
      }
    }
    return 0;
  }

  /** The kept ids in ascending order. */
  public int[] sortedIds() {
    int[] sorted = ids.clone();
    Arrays.sort(sorted);
    return sorted;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TokenProbabilities other
        && Arrays.equals(ids, other.ids)
        && Arrays.equals(probabilities, other.probabilities);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(ids) + Arrays.hashCode(probabilities);
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("TokenProbabilities[");
    for (int i = 0; i < ids.length; i++) {
      s.append(i == 0 ? "" : ", ").append(ids[i]).append('=').append(probabilities[i]);
    }
    return s.append(']').toString();
  }
}
