package dev.kiln.examples;

import static com.google.common.truth.Truth.assertWithMessage;

import dev.kiln.Decoder;
import dev.kiln.Greedy;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Row i of a batched run is what running sequence i alone gives: prompts of different lengths
 * prefilled together, then decode steps together. The rows share weights but no arithmetic; the
 * logits still differ in the last bits because the JIT compiles the kernels between the runs (the
 * Vector API's lane reduction and {@code Math.exp} may round differently once compiled), so they
 * are compared within {@link Logits#RELATIVE}, far below what reading another row's cache would do.
 */
class BatchIndependenceTest {
  static final int STEPS = 8;

  static List<TestModel> batchedModels() {
    return TestModel.all().stream().filter(m -> m.spec().maxBatchSize() > 1).toList();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("batchedModels")
  void batchedRowsEqualSingleRuns(TestModel model) {
    var weights = model.randomWeights();
    int[][] prompts = GeneratedVsInterpreterTest.prompts(model, new SplittableRandom(11));
    int batch = prompts.length;
    assertWithMessage("prompt lengths differ")
        .that(prompts[0].length)
        .isNotEqualTo(prompts[1].length);

    Decoder together = model.generated().apply(weights);
    float[][][] batchedPrompt = together.append(prompts);
    int[][] tokens = new int[STEPS][batch];
    float[][][] batchedSteps = new float[STEPS][][];
    float[][] last = new float[batch][];
    for (int s = 0; s < batch; s++) {
      last[s] = batchedPrompt[s][prompts[s].length - 1];
    }
    for (int step = 0; step < STEPS; step++) {
      tokens[step] = Greedy.argmax(last);
      batchedSteps[step] = together.step(tokens[step]);
      last = batchedSteps[step];
    }

    for (int s = 0; s < batch; s++) {
      Decoder alone = model.generated().apply(weights);
      float[][] alonePrompt = alone.append(new int[][] {prompts[s]})[0];
      for (int i = 0; i < prompts[s].length; i++) {
        Logits.assertClose(
            model + " sequence " + s + " prompt position " + i,
            batchedPrompt[s][i],
            alonePrompt[i]);
      }
      for (int step = 0; step < STEPS; step++) {
        float[] aloneStep = alone.step(new int[] {tokens[step][s]})[0];
        Logits.assertClose(
            model + " sequence " + s + " decode step " + step, batchedSteps[step][s], aloneStep);
      }
    }
  }
}
