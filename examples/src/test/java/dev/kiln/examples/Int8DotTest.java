package dev.kiln.examples;

import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.kiln.Decoder;
import dev.kiln.Greedy;
import dev.kiln.examples.specs.ConformanceGemma2Decoder;
import dev.kiln.examples.specs.ConformanceGemma2Weights;
import dev.kiln.examples.specs.ConformanceGqaDecoder;
import dev.kiln.examples.specs.ConformanceGqaWeights;
import dev.kiln.examples.specs.ConformanceLlama3RopeDecoder;
import dev.kiln.examples.specs.ConformanceLlama3RopeWeights;
import dev.kiln.examples.specs.ConformanceQwen2Decoder;
import dev.kiln.examples.specs.ConformanceQwen2Weights;
import dev.kiln.examples.specs.ConformanceQwen3Decoder;
import dev.kiln.examples.specs.ConformanceQwen3Weights;
import dev.kiln.examples.specs.ConformanceSeedDecoder;
import dev.kiln.examples.specs.ConformanceSeedWeights;
import dev.kiln.examples.specs.ConformanceTinyDecoder;
import dev.kiln.examples.specs.ConformanceTinyWeights;
import dev.kiln.interpreter.Interpreter;
import dev.kiln.kernel.QuantizedRows;
import dev.kiln.testing.Golden;
import dev.kiln.testing.Repository;
import dev.kiln.testing.SharedConformance;
import dev.kiln.weights.Dtype;
import dev.kiln.weights.Weights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The integer dot-product path ({@code kiln.quantizedDot=int8}: inputs quantized to 8 bits once per
 * projection) against the float path and the interpreter (float64) on the conformance models'
 * weights converted to Q8_0 and Q4_0: the golden prompt prefilled in one chunk, then 32 greedy
 * steps, each decoder fed the interpreter's tokens; every step's greedy token equal for the three,
 * and the largest logit error of each path against the interpreter printed (the accuracy figures of
 * docs/int8.md). The bundled {@code tiny} model always; with {@code -Dkiln.conformance=DIR} every
 * shared model. The same decoder class runs both paths ({@link QuantizedRows#setMode}).
 */
class Int8DotTest {
  static final int STEPS = 32;

  /**
   * The int8 path's logit tolerance against float64, relative to max(1, max |logit|) of the step:
   * 5% (the largest error seen is 2%), and 15% for {@code gemma2}, whose logits move several times
   * more than the other models' for the same input rounding (measured with one kind of matrix
   * converted at a time: gate, up or down alone moved them by 0.14-0.27, q, k, v or o alone by more
   * than 5% of the largest logit, against 0.03-0.05 for {@code qwen2}; its float path's error
   * against float64 is 5-10x the others' too).
   */
  static double tolerance(String model) {
    return model.startsWith("gemma2") ? 0.15 : 0.05;
  }

  static final Map<String, Function<Weights, Decoder>> DECODERS =
      Map.of(
          "tiny", w -> new ConformanceTinyDecoder(ConformanceTinyWeights.from(w)),
          "seed", w -> new ConformanceSeedDecoder(ConformanceSeedWeights.from(w)),
          "gqa", w -> new ConformanceGqaDecoder(ConformanceGqaWeights.from(w)),
          "llama3rope", w -> new ConformanceLlama3RopeDecoder(ConformanceLlama3RopeWeights.from(w)),
          "qwen2", w -> new ConformanceQwen2Decoder(ConformanceQwen2Weights.from(w)),
          "qwen3", w -> new ConformanceQwen3Decoder(ConformanceQwen3Weights.from(w)),
          "gemma2", w -> new ConformanceGemma2Decoder(ConformanceGemma2Weights.from(w)));

  private static final Map<String, Function<Path, Weights>> LOADERS =
      Map.of(
          "tiny", f -> ConformanceTinyWeights.load(f).asWeights(),
          "seed", f -> ConformanceSeedWeights.load(f).asWeights(),
          "gqa", f -> ConformanceGqaWeights.load(f).asWeights(),
          "llama3rope", f -> ConformanceLlama3RopeWeights.load(f).asWeights(),
          "qwen2", f -> ConformanceQwen2Weights.load(f).asWeights(),
          "qwen3", f -> ConformanceQwen3Weights.load(f).asWeights(),
          "gemma2", f -> ConformanceGemma2Weights.load(f).asWeights());

  @AfterEach
  void restoreMode() {
    QuantizedRows.setMode(QuantizedRows.Mode.FLOAT);
  }

  @TestFactory
  Stream<DynamicTest> bundledTiny() {
    return testsFor("tiny", Repository.bundledTiny());
  }

  @TestFactory
  Stream<DynamicTest> sharedModels() {
    var root = SharedConformance.GOLDENS.root();
    if (root.isEmpty()) {
      return Stream.of(
          dynamicTest(
              "shared conformance models (pass -Dkiln.conformance=DIR to run)",
              () -> org.junit.jupiter.api.Assumptions.abort("-Dkiln.conformance not given")));
    }
    return SharedConformance.MODELS.stream()
        .filter(m -> !m.equals("tiny"))
        .flatMap(m -> testsFor(m, root.get().resolve(m)));
  }

  private static Stream<DynamicTest> testsFor(String model, Path dir) {
    List<DynamicTest> tests = new ArrayList<>();
    for (Dtype type : List.of(Dtype.Q8_0, Dtype.Q4_0)) {
      tests.add(
          dynamicTest(
              model + " " + type + ": int8 and float paths, 32 greedy steps",
              () -> {
                Weights weights =
                    LOADERS
                        .get(model)
                        .apply(dir.resolve("hf/model.safetensors"))
                        .withMatrices(type);
                compare(
                    model + " " + type, weights, DECODERS.get(model), Golden.read(dir).prompt());
              }));
    }
    return tests.stream();
  }

  /**
   * Teacher-forced: every decoder is fed the interpreter's greedy tokens. The float path must pick
   * the interpreter's token at every step. The int8 path's logits must stay within {@link
   * #tolerance} x max(1, max |logit|) of the interpreter's, and it may pick another token only
   * where the interpreter's two logits are within twice that (a near tie its error can flip); how
   * many of its tokens match, and the largest errors, are printed.
   */
  static void compare(
      String name, Weights weights, Function<Weights, Decoder> generated, int[] prompt) {
    Decoder interpreter = new Interpreter(weights);
    QuantizedRows.setMode(QuantizedRows.Mode.FLOAT);
    Decoder floatPath = generated.apply(weights);
    Decoder intPath = generated.apply(weights);
    double[] maxError = new double[2]; // float, int8: largest |logit - interpreter's|
    double maxLogit = 0;
    int equal = 0;
    List<String> differences = new ArrayList<>();
    float[] want = interpreter.append(new int[][] {prompt})[0][prompt.length - 1];
    float[] got = floatPath.append(new int[][] {prompt})[0][prompt.length - 1];
    QuantizedRows.setMode(QuantizedRows.Mode.INT8);
    float[] gotInt = intPath.append(new int[][] {prompt})[0][prompt.length - 1];
    // The same logits whether the LM head multiplies every position (append) or only the last
    // (prefill): both take the integer dot (within float rounding: the JIT's tiers may sum a
    // vector's
    // lanes in other orders).
    Logits.assertClose(
        name + " int8 path: prefill's last logits against append's",
        generated.apply(weights).prefill(new int[][] {prompt})[0],
        gotInt);
    for (int step = 0; ; step++) {
      int token = Greedy.argmax(want);
      double stepMax = 0;
      double stepError = 0;
      for (int i = 0; i < want.length; i++) {
        maxError[0] = Math.max(maxError[0], Math.abs(got[i] - want[i]));
        stepError = Math.max(stepError, Math.abs(gotInt[i] - want[i]));
        stepMax = Math.max(stepMax, Math.abs(want[i]));
      }
      maxError[1] = Math.max(maxError[1], stepError);
      maxLogit = Math.max(maxLogit, stepMax);
      double tolerance = tolerance(name) * Math.max(1, stepMax);
      assertWithMessage("%s float path greedy token at step %s", name, step)
          .that(Greedy.argmax(got))
          .isEqualTo(token);
      assertWithMessage("%s int8 path logit error at step %s", name, step)
          .that(stepError)
          .isAtMost(tolerance);
      int intToken = Greedy.argmax(gotInt);
      if (intToken == token) {
        equal++;
      } else {
        double gap = want[token] - want[intToken];
        differences.add(String.format("step %d (interpreter gap %.3g)", step, gap));
        assertWithMessage(
                "%s int8 path token at step %s: interpreter logits %s and %s",
                name, step, want[token], want[intToken])
            .that(gap)
            .isAtMost(2 * tolerance);
      }
      if (step == STEPS) {
        break;
      }
      want = interpreter.step(new int[] {token})[0];
      QuantizedRows.setMode(QuantizedRows.Mode.FLOAT);
      got = floatPath.step(new int[] {token})[0];
      QuantizedRows.setMode(QuantizedRows.Mode.INT8);
      gotInt = intPath.step(new int[] {token})[0];
    }
    QuantizedRows.setMode(QuantizedRows.Mode.FLOAT);
    System.out.printf(
        "int8 dot: %s: greedy tokens equal %d/%d%s; max |logit - interpreter| float path %.3g, int8 path"
            + " %.3g (max |logit| %.3g)%n",
        name,
        equal,
        STEPS + 1,
        differences.isEmpty() ? "" : ", differ at " + differences,
        maxError[0],
        maxError[1],
        maxLogit);
  }
}
