package dev.kiln.generate;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.Greedy;
import dev.kiln.InvalidInputException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Sampler stages on hand-checked logits, the final pick, reproducibility and parameter checks. */
class SamplerChainTest {
  /** Logits whose softmax is exactly {@code probabilities} (up to float rounding). */
  private static float[] logitsOf(double... probabilities) {
    float[] logits = new float[probabilities.length];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) Math.log(probabilities[i]);
    }
    return logits;
  }

  private static int[] kept(SamplerChain chain, float[] logits) {
    return chain.distribution(logits).sortedIds();
  }

  /** Probabilities 0.5, 0.2, 0.15, 0.1, 0.05 at ids 3, 0, 4, 1, 2. */
  private static final float[] FIVE = logitsOf(0.2, 0.1, 0.05, 0.5, 0.15);

  @Test
  void topKKeepsTheKLargestAndTheLowestIdsOnTies() {
    float[] logits = {1, 5, 3, 5, 2, 4};
    assertThat(kept(SamplerChain.builder().topK(3).build(), logits)).isEqualTo(new int[] {1, 3, 5});
    assertThat(kept(SamplerChain.builder().topK(1).build(), logits)).isEqualTo(new int[] {1});
    assertThat(kept(SamplerChain.builder().topK(0).build(), logits))
        .isEqualTo(new int[] {0, 1, 2, 3, 4, 5});
    assertThat(kept(SamplerChain.builder().topK(100).build(), logits))
        .isEqualTo(new int[] {0, 1, 2, 3, 4, 5});
    assertThat(kept(SamplerChain.builder().topK(2).build(), new float[] {1, 2, 2, 2}))
        .isEqualTo(new int[] {1, 2});
    // the kept set is renormalized
    TokenProbabilities top2 = SamplerChain.builder().topK(2).build().distribution(FIVE);
    assertThat(top2.ids()).isEqualTo(new int[] {3, 0});
    assertThat(top2.probability(3)).isWithin(1e-6).of(0.5 / 0.7);
    assertThat(top2.probability(0)).isWithin(1e-6).of(0.2 / 0.7);
  }

  @Test
  void topPKeepsTheSmallestSetReachingP() {
    assertThat(kept(SamplerChain.builder().topP(0.01).build(), FIVE)).isEqualTo(new int[] {3});
    assertThat(kept(SamplerChain.builder().topP(0.45).build(), FIVE)).isEqualTo(new int[] {3});
    assertThat(kept(SamplerChain.builder().topP(0.6).build(), FIVE)).isEqualTo(new int[] {0, 3});
    assertThat(kept(SamplerChain.builder().topP(0.8).build(), FIVE)).isEqualTo(new int[] {0, 3, 4});
    assertThat(kept(SamplerChain.builder().topP(0.9).build(), FIVE))
        .isEqualTo(new int[] {0, 1, 3, 4});
    assertThat(kept(SamplerChain.builder().topP(0.97).build(), FIVE))
        .isEqualTo(new int[] {0, 1, 2, 3, 4});
    assertThat(kept(SamplerChain.builder().topP(1).build(), FIVE))
        .isEqualTo(new int[] {0, 1, 2, 3, 4});
    TokenProbabilities nucleus = SamplerChain.builder().topP(0.8).build().distribution(FIVE);
    assertThat(nucleus.ids()).isEqualTo(new int[] {3, 0, 4});
    assertThat(nucleus.probability(4)).isWithin(1e-6).of(0.15 / 0.85);
  }

  @Test
  void topPAfterTopKWorksOnTheRenormalizedTopK() {
    // over the top 3, probabilities are 0.5/0.85, 0.2/0.85, 0.15/0.85: the first two already make
    // 0.82
    assertThat(kept(SamplerChain.builder().topK(3).topP(0.8).build(), FIVE))
        .isEqualTo(new int[] {0, 3});
    assertThat(kept(SamplerChain.builder().topP(0.8).build(), FIVE)).isEqualTo(new int[] {0, 3, 4});
  }

  @Test
  void minPKeepsTokensWithAtLeastMinPTimesTheBestProbability() {
    assertThat(kept(SamplerChain.builder().minP(0.25).build(), FIVE))
        .isEqualTo(new int[] {0, 3, 4}); // >= 0.125
    assertThat(kept(SamplerChain.builder().minP(0.35).build(), FIVE))
        .isEqualTo(new int[] {0, 3}); // >= 0.175
    assertThat(kept(SamplerChain.builder().minP(0.05).build(), FIVE))
        .isEqualTo(new int[] {0, 1, 2, 3, 4});
    assertThat(kept(SamplerChain.builder().minP(1).build(), FIVE)).isEqualTo(new int[] {3});
    assertThat(kept(SamplerChain.builder().minP(0).build(), FIVE))
        .isEqualTo(new int[] {0, 1, 2, 3, 4});
    assertThat(kept(SamplerChain.builder().minP(1).build(), new float[] {2, 7, 7, 1}))
        .isEqualTo(new int[] {1, 2});
  }

  @Test
  void temperatureScalesLogits() {
    // at temperature 2, p_i is proportional to sqrt(0.5), sqrt(0.2), ...
    double[] p = {0.2, 0.1, 0.05, 0.5, 0.15};
    double total = Arrays.stream(p).map(Math::sqrt).sum();
    TokenProbabilities hot = SamplerChain.builder().temperature(2).build().distribution(FIVE);
    for (int id = 0; id < p.length; id++) {
      assertThat(hot.probability(id)).isWithin(1e-6).of(Math.sqrt(p[id]) / total);
    }
  }

  /** A stage that records the logits it sees. */
  private static LogitsProcessor capture(Consumer<float[]> sink) {
    return (candidates, history, length) -> {
      float[] logits = new float[candidates.vocabSize()];
      Arrays.fill(logits, Float.NaN);
      for (int i = 0; i < candidates.size(); i++) {
        logits[candidates.id(i)] = candidates.logit(i);
      }
      sink.accept(logits);
    };
  }

  @Test
  void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokensOnce() {
    List<float[]> seen = new ArrayList<>();
    SamplerChain chain =
        SamplerChain.builder().repetitionPenalty(2.0).add(capture(seen::add)).greedy().build();
    int next = chain.next(new float[] {2.0f, -1.0f, 0.5f, 3.0f, 0f}, new int[] {0, 1, 1, 3, 4});
    assertThat(seen.get(0)).isEqualTo(new float[] {1.0f, -2.0f, 0.5f, 1.5f, 0f});
    assertThat(next).isEqualTo(3);
    assertThat(new RepetitionPenalty(1.3, 1).apply(2.6f)).isEqualTo((float) (2.6f / 1.3));
    assertThat(new RepetitionPenalty(1.3, 1).apply(-2.0f)).isEqualTo((float) (-2.0 * 1.3));
  }

  @Test
  void repetitionPenaltyAfterAFilterPenalizesTheCandidatesLeft() {
    List<float[]> seen = new ArrayList<>();
    SamplerChain chain =
        SamplerChain.builder().topK(3).repetitionPenalty(2.0).add(capture(seen::add)).build();
    chain.next(new float[] {4, -1, 3, 2, 1}, new int[] {2, 2, 4, 1});
    float nan = Float.NaN;
    assertThat(seen.get(0)).isEqualTo(new float[] {4, nan, 1.5f, 2, nan});
  }

  @Test
  void topKOverAManyTiedLargeVocabularyKeepsTheLowestIds() {
    float[] logits = new float[1000];
    Arrays.fill(logits, 1f);
    logits[700] = 2f;
    logits[999] = 2f;
    assertThat(SamplerChain.builder().topK(10).build().distribution(logits).ids())
        .isEqualTo(new int[] {700, 999, 0, 1, 2, 3, 4, 5, 6, 7});
    assertThat(SamplerChain.builder().topK(100).build().distribution(logits).ids()[99])
        .isEqualTo(97);
  }

  @Test
  void repetitionPenaltyOnlyLooksAtTheWindow() {
    List<float[]> seen = new ArrayList<>();
    SamplerChain chain =
        SamplerChain.builder().repetitionPenalty(2.0, 2).add(capture(seen::add)).build();
    int[] history = {0, 1, 2, 3, 99};
    chain.next(new float[] {4, 4, 4, 4}, history, 4); // window: ids 2 and 3 (99 is past the length)
    assertThat(seen.get(0)).isEqualTo(new float[] {4, 4, 2, 2});
    chain.next(new float[] {4, 4, 4, 4}, history, 0);
    assertThat(seen.get(1)).isEqualTo(new float[] {4, 4, 4, 4});
  }

  @Test
  void repetitionPenaltyChangesTheGreedyChoice() {
    SamplerChain chain = SamplerChain.builder().repetitionPenalty(1.5).temperature(0).build();
    assertThat(chain.next(new float[] {3.0f, 2.5f}, new int[] {0})).isEqualTo(1); // 3/1.5 = 2 < 2.5
    assertThat(chain.next(new float[] {3.0f, 2.5f}, new int[] {1})).isEqualTo(0);
  }

  @Test
  void temperatureZeroIsGreedy() {
    SplittableRandom random = new SplittableRandom(3);
    SamplerChain zero = SamplerChain.builder().temperature(0).seed(1).build();
    SamplerChain zeroWithFilters =
        SamplerChain.builder().temperature(0).topK(5).topP(0.5).minP(0.2).seed(2).build();
    SamplerChain greedy = SamplerChain.greedy();
    for (int trial = 0; trial < 200; trial++) {
      float[] logits = new float[50 + random.nextInt(200)];
      for (int i = 0; i < logits.length; i++) {
        logits[i] = (float) random.nextGaussian() * 3;
      }
      int expected = Greedy.argmax(logits);
      assertThat(zero.next(logits)).isEqualTo(expected);
      assertThat(zeroWithFilters.next(logits)).isEqualTo(expected);
      assertThat(greedy.next(logits)).isEqualTo(expected);
    }
    assertThat(zero.next(new float[] {1, 5, 5, Float.NaN})).isEqualTo(1);
    assertThat(zero.distribution(new float[] {1, 5, 5}).ids()).isEqualTo(new int[] {1});
  }

  @Test
  void sameSeedSameSequence() {
    float[] logits = logitsOf(0.3, 0.25, 0.2, 0.15, 0.1);
    SamplerChain a = SamplerChain.builder().temperature(1.3).topK(4).seed(42).build();
    SamplerChain b = SamplerChain.builder().temperature(1.3).topK(4).seed(42).build();
    SamplerChain c = SamplerChain.builder().temperature(1.3).topK(4).seed(43).build();
    int[] fromA = new int[500];
    int[] fromB = new int[500];
    int[] fromC = new int[500];
    for (int i = 0; i < 500; i++) {
      fromA[i] = a.next(logits);
      fromB[i] = b.next(logits);
      fromC[i] = c.next(logits);
    }
    assertThat(fromA).isEqualTo(fromB);
    assertThat(fromA).isNotEqualTo(fromC);
    assertThat(Arrays.stream(fromA).max().getAsInt()).isEqualTo(3); // never the token top-k dropped
    SamplerChain again = a.withSeed(42);
    for (int i = 0; i < 500; i++) {
      assertThat(again.next(logits)).isEqualTo(fromA[i]);
    }
    assertThat(a.forSequence(0).seed()).isEqualTo(42);
    assertThat(a.forSequence(1).seed()).isNotEqualTo(42);
  }

  /**
   * Draws {@code n} tokens and checks each frequency within 5 standard deviations of its
   * probability.
   */
  private static void assertFrequencies(
      SamplerChain chain, float[] logits, double[] expected, int n) {
    int[] counts = new int[logits.length];
    for (int i = 0; i < n; i++) {
      counts[chain.next(logits)]++;
    }
    for (int id = 0; id < expected.length; id++) {
      double sigma = Math.sqrt(n * expected[id] * (1 - expected[id]));
      assertThat((double) counts[id]).isWithin(5 * sigma + 1e-9).of(n * expected[id]);
    }
  }

  @Test
  void drawsFollowTheDistribution() {
    int n = 100_000;
    assertFrequencies(
        SamplerChain.builder().seed(7).build(),
        logitsOf(0.5, 0.3, 0.15, 0.05),
        new double[] {0.5, 0.3, 0.15, 0.05},
        n);
    assertFrequencies(
        SamplerChain.builder().topK(2).seed(8).build(),
        logitsOf(0.5, 0.3, 0.15, 0.05),
        new double[] {0.625, 0.375, 0, 0},
        n);
    double s = Math.sqrt(0.5) + Math.sqrt(0.3) + Math.sqrt(0.15) + Math.sqrt(0.05);
    assertFrequencies(
        SamplerChain.builder().temperature(2).seed(9).build(),
        logitsOf(0.5, 0.3, 0.15, 0.05),
        new double[] {
          Math.sqrt(0.5) / s, Math.sqrt(0.3) / s, Math.sqrt(0.15) / s, Math.sqrt(0.05) / s
        },
        n);
  }

  @Test
  void nanLogitsAreNeverPicked() {
    SamplerChain chain = SamplerChain.builder().seed(1).build();
    float nan = Float.NaN;
    for (int i = 0; i < 1000; i++) {
      assertThat(chain.next(new float[] {nan, 0, nan, 0})).isAnyOf(1, 3);
    }
    var allNan =
        assertThrows(InvalidInputException.class, () -> chain.next(new float[] {nan, nan}));
    assertThat(allNan).hasMessageThat().isEqualTo("no token to pick: all 2 logits are NaN");
  }

  @Test
  void infiniteLogits() {
    SamplerChain chain = SamplerChain.builder().seed(1).build();
    float inf = Float.POSITIVE_INFINITY;
    for (int i = 0; i < 200; i++) {
      assertThat(chain.next(new float[] {1, inf, 3, inf})).isAnyOf(1, 3);
      assertThat(chain.next(new float[] {-inf, 2, -inf})).isEqualTo(1);
    }
  }

  @Test
  void largeVocabularyFiltersMatchAFullSort() {
    SplittableRandom random = new SplittableRandom(11);
    int vocab = 128_256;
    float[] logits = new float[vocab];
    for (int trial = 0; trial < 5; trial++) {
      for (int i = 0; i < vocab; i++) {
        logits[i] = (float) (random.nextGaussian() * (1 + trial));
      }
      logits[random.nextInt(vocab)] = logits[random.nextInt(vocab)]; // a tie somewhere
      Integer[] order = new Integer[vocab];
      for (int i = 0; i < vocab; i++) {
        order[i] = i;
      }
      Arrays.sort(
          order, Comparator.<Integer>comparingDouble(i -> -logits[i]).thenComparingInt(i -> i));
      int[] top40 = Arrays.stream(order, 0, 40).mapToInt(Integer::intValue).toArray();
      assertThat(SamplerChain.builder().topK(40).build().distribution(logits).ids())
          .isEqualTo(top40);

      // nucleus by the definition, over a full sort
      double max = logits[order[0]];
      double total = 0;
      for (float logit : logits) {
        total += Math.exp(logit - max);
      }
      double cumulative = 0;
      int count = 0;
      while (cumulative < 0.9 * total) {
        cumulative += Math.exp(logits[order[count]] - max);
        count++;
      }
      int[] nucleus = Arrays.stream(order, 0, count).mapToInt(Integer::intValue).toArray();
      assertThat(SamplerChain.builder().topP(0.9).build().distribution(logits).ids())
          .isEqualTo(nucleus);
    }
  }

  @Test
  void largeVocabularyWithTopKIsFast() {
    SplittableRandom random = new SplittableRandom(12);
    float[] logits = new float[128_256];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) random.nextGaussian() * 4;
    }
    SamplerChain chain =
        SamplerChain.builder()
            .repetitionPenalty(1.1, 64)
            .temperature(0.8)
            .topK(40)
            .topP(0.95)
            .minP(0.05)
            .seed(42)
            .build();
    int[] history = random.ints(512, 0, logits.length).toArray();
    for (int i = 0; i < 50; i++) {
      chain.next(logits, history); // warm-up
    }
    long t0 = System.nanoTime();
    int rounds = 200;
    for (int i = 0; i < rounds; i++) {
      chain.next(logits, history);
    }
    double millis = (System.nanoTime() - t0) / 1e6 / rounds;
    System.out.printf(
        "sampling over 128256 logits (penalty, temperature, top-k 40, top-p, min-p): %.3f ms/token%n",
        millis);
    assertThat(millis).isLessThan(50.0); // generous: a shared CI core; typically well under 1 ms
  }

  @Test
  void candidateSelectionMatchesSorting() {
    SplittableRandom random = new SplittableRandom(5);
    for (int trial = 0; trial < 300; trial++) {
      int n = 1 + random.nextInt(300);
      long[] values = random.longs(n).distinct().toArray();
      n = values.length;
      int k = 1 + random.nextInt(n);
      long[] copy = values.clone();
      Candidates.select(copy, 0, n, k);
      long[] sorted = values.clone();
      Arrays.sort(sorted);
      long[] firstK = Arrays.copyOf(copy, k);
      Arrays.sort(firstK);
      assertThat(firstK).isEqualTo(Arrays.copyOf(sorted, k));
    }
    for (float f :
        new float[] {
          0f,
          -0f,
          1.5f,
          -1.5f,
          Float.MAX_VALUE,
          -Float.MIN_VALUE,
          Float.POSITIVE_INFINITY,
          Float.NEGATIVE_INFINITY
        }) {
      assertThat(Candidates.logitOf(Candidates.key(f, 12345))).isEqualTo(f + 0f);
      assertThat((int) Candidates.key(f, 12345)).isEqualTo(12345);
    }
    assertThat(Candidates.key(2f, 9)).isLessThan(Candidates.key(1f, 0));
    assertThat(Candidates.key(1f, 0)).isLessThan(Candidates.key(1f, 1));
    assertThat(Candidates.key(-1f, 0)).isLessThan(Candidates.key(-2f, 0));
  }

  @Test
  void stagesRunInCallOrderAndRepeatedCallsReplace() {
    SamplerChain chain = SamplerChain.builder().topK(5).temperature(0.5).topK(3).build();
    assertThat(chain.stages().toString()).isEqualTo("[topK(3), temperature(0.5)]");
    assertThat(chain.toString()).contains("sample(seed ");
  }

  private static void assertInvalid(Runnable build, String message) {
    var e = assertThrows(InvalidInputException.class, build::run);
    assertThat(e).hasMessageThat().isEqualTo(message);
  }

  @Test
  void invalidParametersNameTheParameterAndTheRange() {
    assertInvalid(
        () -> SamplerChain.builder().temperature(-0.5),
        "temperature must be a finite number >= 0 (0 means greedy), got -0.5");
    assertInvalid(
        () -> SamplerChain.builder().temperature(Double.NaN),
        "temperature must be a finite number >= 0 (0 means greedy), got NaN");
    assertInvalid(
        () -> SamplerChain.builder().temperature(Double.POSITIVE_INFINITY),
        "temperature must be a finite number >= 0 (0 means greedy), got Infinity");
    assertInvalid(
        () -> SamplerChain.builder().topP(0), "topP must be in (0, 1] (1 turns it off), got 0.0");
    assertInvalid(
        () -> SamplerChain.builder().topP(1.01),
        "topP must be in (0, 1] (1 turns it off), got 1.01");
    assertInvalid(
        () -> SamplerChain.builder().topP(Double.NaN),
        "topP must be in (0, 1] (1 turns it off), got NaN");
    assertInvalid(
        () -> SamplerChain.builder().topK(-1), "topK must be >= 0 (0 turns it off), got -1");
    assertInvalid(
        () -> SamplerChain.builder().minP(-0.1),
        "minP must be in [0, 1] (0 turns it off), got -0.1");
    assertInvalid(
        () -> SamplerChain.builder().minP(1.5), "minP must be in [0, 1] (0 turns it off), got 1.5");
    assertInvalid(
        () -> SamplerChain.builder().repetitionPenalty(0, 64),
        "repetition penalty must be a finite number > 0 (1 turns it off), got 0.0");
    assertInvalid(
        () -> SamplerChain.builder().repetitionPenalty(-1.1),
        "repetition penalty must be a finite number > 0 (1 turns it off), got -1.1");
    assertInvalid(
        () -> SamplerChain.builder().repetitionPenalty(1.1, 0),
        "repetition penalty window must be >= 1 tokens, got 0");
    assertInvalid(() -> SamplerChain.greedy().next(new float[0]), "no logits to pick a token from");
    assertInvalid(
        () ->
            SamplerChain.builder()
                .repetitionPenalty(1.1)
                .build()
                .next(new float[] {1, 2}, new int[] {5}),
        "history token 0: id 5 is outside the vocabulary [0, 2)");
  }
}
