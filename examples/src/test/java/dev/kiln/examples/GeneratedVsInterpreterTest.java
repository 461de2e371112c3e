package dev.kiln.examples;

import static com.google.common.truth.Truth.assertWithMessage;

import dev.kiln.Decoder;
import dev.kiln.Greedy;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every generated decoder against the interpreter on the same weights: logits at every prompt
 * position and for 32 decode steps agree within {@link Logits#RELATIVE}, and greedy tokens match.
 * The whole batch the spec allows runs at once, with prompts of different lengths.
 */
class GeneratedVsInterpreterTest {
  static final int DECODE_STEPS = 32;

  static List<TestModel> models() {
    return TestModel.all();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void logitsMatchAtEveryPromptPositionAndDecodeStep(TestModel model) {
    Decoder[] pair = model.generatedAndInterpreter();
    Decoder generated = pair[0];
    Decoder interpreter = pair[1];
    int[][] prompts = prompts(model, new SplittableRandom(99));

    float[][][] expectedPrompt = interpreter.append(prompts);
    float[][][] actualPrompt = generated.append(prompts);
    for (int s = 0; s < prompts.length; s++) {
      for (int i = 0; i < prompts[s].length; i++) {
        Logits.assertClose(
            model + " sequence " + s + " prompt position " + i,
            actualPrompt[s][i],
            expectedPrompt[s][i]);
      }
    }

    int[] tokens = new int[prompts.length];
    for (int s = 0; s < prompts.length; s++) {
      tokens[s] = Greedy.argmax(expectedPrompt[s][prompts[s].length - 1]);
      assertWithMessage("%s sequence %s first greedy token", model, s)
          .that(Greedy.argmax(actualPrompt[s][prompts[s].length - 1]))
          .isEqualTo(tokens[s]);
    }
    for (int step = 0; step < DECODE_STEPS; step++) {
      float[][] expected = interpreter.step(tokens);
      float[][] actual = generated.step(tokens);
      for (int s = 0; s < tokens.length; s++) {
        Logits.assertClose(
            model + " sequence " + s + " decode step " + step, actual[s], expected[s]);
        int next = Greedy.argmax(expected[s]);
        assertWithMessage("%s sequence %s greedy token after decode step %s", model, s, step)
            .that(Greedy.argmax(actual[s]))
            .isEqualTo(next);
        tokens[s] = next;
      }
    }
  }

  /** One prompt per sequence the spec allows, of lengths 7, 4, 11, 4, ... so they differ. */
  static int[][] prompts(TestModel model, SplittableRandom random) {
    int[][] prompts = new int[model.spec().maxBatchSize()][];
    for (int s = 0; s < prompts.length; s++) {
      prompts[s] = random.ints(s % 2 == 0 ? 7 + 2 * s : 4, 0, model.spec().vocabSize()).toArray();
    }
    return prompts;
  }
}
