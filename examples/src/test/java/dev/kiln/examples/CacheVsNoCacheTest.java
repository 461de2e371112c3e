package dev.kiln.examples;

import static com.google.common.truth.Truth.assertWithMessage;

import dev.kiln.Decoder;
import dev.kiln.Greedy;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Greedy generation with the KV cache (prefill, then one token per step) and without it (every step
 * recomputes the whole sequence and reads the last position) gives identical tokens for 32 steps
 * and logits within {@link Logits#RELATIVE}, for every generated decoder.
 */
class CacheVsNoCacheTest {
  static final int STEPS = 32;

  static List<TestModel> models() {
    return TestModel.all();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void greedyTokensAndLogitsAgree(TestModel model) {
    Decoder decoder = model.generated().apply(model.randomWeights());
    int[][] prompts = GeneratedVsInterpreterTest.prompts(model, new SplittableRandom(5));
    int batch = prompts.length;

    int[][] sequences = prompts.clone();
    float[][] cached = decoder.prefill(prompts);
    for (int step = 0; step < STEPS; step++) {
      float[][][] recomputed = decoder.forwardNoCache(sequences);
      int[] next = new int[batch];
      for (int s = 0; s < batch; s++) {
        float[] last = recomputed[s][sequences[s].length - 1];
        Logits.assertClose(model + " sequence " + s + " step " + step, cached[s], last);
        next[s] = Greedy.argmax(last);
        assertWithMessage("%s sequence %s token at step %s", model, s, step)
            .that(Greedy.argmax(cached[s]))
            .isEqualTo(next[s]);
        sequences[s] = Arrays.copyOf(sequences[s], sequences[s].length + 1);
        sequences[s][sequences[s].length - 1] = next[s];
      }
      cached = decoder.step(next);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void forwardWithoutCacheLeavesTheCacheAlone(TestModel model) {
    var weights = model.randomWeights();
    Decoder disturbed = model.generated().apply(weights);
    Decoder untouched = model.generated().apply(weights);
    int[][] prompts = GeneratedVsInterpreterTest.prompts(model, new SplittableRandom(6));
    disturbed.prefill(prompts);
    untouched.prefill(prompts);

    disturbed.forwardNoCache(GeneratedVsInterpreterTest.prompts(model, new SplittableRandom(7)));

    int[] next = new int[prompts.length];
    float[][] expected = untouched.step(next);
    float[][] actual = disturbed.step(next);
    for (int s = 0; s < prompts.length; s++) {
      assertWithMessage("%s cached length of sequence %s", model, s)
          .that(disturbed.length(s))
          .isEqualTo(untouched.length(s));
      Logits.assertClose(
          model + " sequence " + s + " after a no-cache run", actual[s], expected[s]);
    }
  }
}
