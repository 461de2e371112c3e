package dev.kiln.generate;

import dev.kiln.InvalidInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * Picks the next token from logits: a chain of {@link LogitsProcessor} stages, run in the order
 * they were added, then a final pick, either greedy (the largest logit, the lowest id on ties) or a
 * draw from the softmax of what is left, using a seeded {@link SplittableRandom}.
 *
 * <pre>{@code
 * SamplerChain sampler = SamplerChain.builder()
 *     .repetitionPenalty(1.1, 64).temperature(0.8).topK(40).topP(0.95).minP(0.05)
 *     .seed(42).build();
 * int next = sampler.next(logits, history);
 * }</pre>
 *
 * <p>The order above is Hugging Face's (penalty, temperature, top-k, top-p, min-p); with a
 * different call order the stages run in that order instead (llama.cpp, for example, applies the
 * temperature after the filters). Top-p and min-p compute their probabilities over the candidates
 * left at their turn, so their place matters; top-k's and min-p's keep sets do not depend on a
 * temperature before them, top-p's does.
 *
 * <p>Reproducible: two chains with the same stages and seed, given the same logits and histories,
 * pick the same tokens. A chain holds its random state and scratch arrays, so it is not
 * thread-safe; use {@link #withSeed} or {@link #forSequence} for a fresh copy. NaN logits are never
 * picked; if every logit is NaN, the pick is an {@link InvalidInputException}.
 */
public final class SamplerChain {
  private final List<LogitsProcessor> stages;
  private final boolean greedy;
  private final long seed;
  private final RandomGenerator random;
  private final Candidates candidates = new Candidates();
  private double[] weights = new double[0];

  private SamplerChain(List<LogitsProcessor> stages, boolean greedy, long seed) {
    this.stages = List.copyOf(stages);
    this.greedy = greedy;
    this.seed = seed;
    this.random = new SplittableRandom(seed);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Plain greedy decoding: no stages, argmax. */
  public static SamplerChain greedy() {
    return builder().greedy().build();
  }

  /** The stages, in order. */
  public List<LogitsProcessor> stages() {
    return stages;
  }

  /** The seed of the random generator (drawn at random when the builder had none). */
  public long seed() {
    return seed;
  }

  /**
   * A fresh chain with the same stages and final pick, and a new generator seeded with {@code
   * seed}.
   */
  public SamplerChain withSeed(long seed) {
    return new SamplerChain(stages, greedy, seed);
  }

  /**
   * A fresh copy for sequence {@code index} of a batch: the same stages, seeded with {@code seed()}
   * for index 0 and {@code seed() + index * 0x9E3779B97F4A7C15} otherwise.
   */
  public SamplerChain forSequence(int index) {
    return withSeed(seed + index * 0x9E3779B97F4A7C15L);
  }

  /** The next token with no history (the repetition penalty sees nothing). */
  public int next(float[] logits) {
    return next(logits, new int[0], 0);
  }

  /** The next token after {@code history} (the whole array). */
  public int next(float[] logits, int[] history) {
    return next(logits, history, history.length);
  }

  /**
   * The next token after the first {@code historyLength} entries of {@code history}. Does not
   * change {@code logits}.
   */
  public int next(float[] logits, int[] history, int historyLength) {
    run(logits, history, historyLength);
    if (greedy || candidates.size() == 1) {
      return candidates.id(candidates.argmax());
    }
    weights = candidates.weights(weights);
    int n = candidates.size();
    double total = 0;
    for (int i = 0; i < n; i++) {
      total += weights[i];
    }
    double u = random.nextDouble() * total;
    double cumulative = 0;
    for (int i = 0; i < n; i++) {
      cumulative += weights[i];
      if (u < cumulative) {
        return candidates.id(i);
      }
    }
    for (int i = n - 1; i > 0; i--) {
      if (weights[i] > 0) {
        return candidates.id(i); // rounding left u at the very top
      }
    }
    return candidates.id(0);
  }

  /**
   * The distribution the chain would draw from after {@code history} (the candidates its stages
   * keep and their softmax probabilities; for a greedy chain, its choice with probability 1). Uses
   * no randomness.
   */
  public TokenProbabilities distribution(float[] logits, int[] history, int historyLength) {
    run(logits, history, historyLength);
    if (greedy) {
      candidates.keepOnly(candidates.argmax());
    }
    int n = candidates.size();
    weights = candidates.weights(weights);
    double total = 0;
    for (int i = 0; i < n; i++) {
      total += weights[i];
    }
    int[] ids = new int[n];
    double[] probabilities = new double[n];
    for (int i = 0; i < n; i++) {
      ids[i] = candidates.id(i);
      probabilities[i] = weights[i] / total;
    }
    return new TokenProbabilities(ids, probabilities);
  }

  /** {@link #distribution(float[], int[], int)} with no history. */
  public TokenProbabilities distribution(float[] logits) {
    return distribution(logits, new int[0], 0);
  }

  private void run(float[] logits, int[] history, int historyLength) {
    if (logits == null || logits.length == 0) {
      throw new InvalidInputException("no logits to pick a token from");
    }
    if (historyLength < 0 || historyLength > history.length) {
      throw new IllegalArgumentException(
          "history length " + historyLength + " of an array of " + history.length);
    }
    candidates.reset(logits);
    if (candidates.size() == 0) {
      throw new InvalidInputException("no token to pick: all " + logits.length + " logits are NaN");
    }
    for (LogitsProcessor stage : stages) {
      stage.process(candidates, history, historyLength);
      if (candidates.size() == 0) {
        throw new IllegalStateException("stage " + stage + " removed every candidate");
      }
    }
  }

  @Override
  public String toString() {
    return "SamplerChain" + stages + (greedy ? " -> argmax" : " -> sample(seed " + seed + ")");
  }

  /**
   * Builds a chain. Each named stage is added where it is first called; calling it again replaces
   * its parameters in place. Invalid parameters throw {@link InvalidInputException} at once, naming
   * the parameter and its allowed range.
   */
  public static final class Builder {
    private final List<LogitsProcessor> stages = new ArrayList<>();
    private boolean greedy;
    private Long seed;

    private Builder() {}

    /** {@link RepetitionPenalty} over the last {@code window} tokens. */
    public Builder repetitionPenalty(double penalty, int window) {
      return put(new RepetitionPenalty(penalty, window));
    }

    /** {@link RepetitionPenalty} over the whole history. */
    public Builder repetitionPenalty(double penalty) {
      return repetitionPenalty(penalty, Integer.MAX_VALUE);
    }

    /** {@link Temperature}; 0 means greedy. */
    public Builder temperature(double temperature) {
      return put(new Temperature(temperature));
    }

    /** {@link TopK}; 0 turns it off. */
    public Builder topK(int k) {
      return put(new TopK(k));
    }

    /** {@link TopP}; 1 turns it off. */
    public Builder topP(double p) {
      return put(new TopP(p));
    }

    /** {@link MinP}; 0 turns it off. */
    public Builder minP(double minP) {
      return put(new MinP(minP));
    }

    /** Adds a custom stage at the end. */
    public Builder add(LogitsProcessor stage) {
      stages.add(java.util.Objects.requireNonNull(stage, "stage"));
      return this;
    }

    /** Final pick: the argmax instead of a draw. */
    public Builder greedy() {
      this.greedy = true;
      return this;
    }

    /**
     * Seed of the random generator (without one, a random seed is drawn; {@link SamplerChain#seed}
     * tells it).
     */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    public SamplerChain build() {
      long s = seed != null ? seed : ThreadLocalRandom.current().nextLong();
      return new SamplerChain(stages, greedy, s);
    }

    private Builder put(LogitsProcessor stage) {
      for (int i = 0; i < stages.size(); i++) {
        if (stages.get(i).getClass() == stage.getClass()) {
          stages.set(i, stage);
          return this;
        }
      }
      stages.add(stage);
      return this;
    }
  }
}
