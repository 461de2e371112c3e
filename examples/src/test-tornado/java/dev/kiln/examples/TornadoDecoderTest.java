package dev.kiln.examples;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.kiln.Decoder;
import dev.kiln.Greedy;
import dev.kiln.examples.specs.ConformanceGemma2Decoder;
import dev.kiln.examples.specs.ConformanceGemma2Weights;
import dev.kiln.examples.specs.ConformanceLlama3RopeDecoder;
import dev.kiln.examples.specs.ConformanceLlama3RopeWeights;
import dev.kiln.examples.specs.ConformanceQwen2Decoder;
import dev.kiln.examples.specs.ConformanceQwen2Weights;
import dev.kiln.examples.specs.ConformanceQwen3Decoder;
import dev.kiln.examples.specs.ConformanceQwen3Weights;
import dev.kiln.interpreter.Interpreter;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.testing.Golden;
import dev.kiln.testing.Repository;
import dev.kiln.testing.SharedConformance;
import dev.kiln.tornado.TornadoSupport;
import dev.kiln.weights.Dtype;
import dev.kiln.weights.Weights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The generated TornadoVM decoders on a TornadoVM device (PoCL's CPU OpenCL device here), run with
 * bailouts turned into errors, so a task TornadoVM could not compile fails the test rather than
 * running as plain Java.
 *
 * <p>The build runs this class once per kernel layout ({@code -Dkiln.tornado.layout=cpu}, then
 * {@code gpu}); {@code -Dkiln.tornado.testCases="SeedLlama F16,qwen3 Q8_0"} narrows the
 * random-weight cases for a quick run.
 *
 * <p>Against the interpreter on the same weights (F32, F16, Q8_0, Q4_0; the gpu layout keeps all
 * but F32 in their stored type on the device, the cpu layout Q8_0): logits at every prompt position
 * and decode step within {@link Logits#RELATIVE} of the row's scale, the same tolerance as the Java
 * backend (float32 sums in another order land near 1e-6), and identical greedy tokens. Against the
 * golden files of the conformance models: {@link ConformanceTest}'s checks and tolerance. The
 * conformance models of the other architectures (Llama 3 RoPE scaling, Qwen2, Qwen3, Gemma 2) are
 * checked both ways: on random weights against the interpreter (F32 and Q8_0), and on their files
 * against the golden logits.
 */
class TornadoDecoderTest {
  static final int DECODE_STEPS = 16;

  static Stream<Arguments> models() {
    List<Arguments> cases = new ArrayList<>();
    for (TestModel model : TestModel.all()) {
      cases.add(Arguments.of(model, Dtype.F32));
    }
    for (TestModel model : TestModel.all()) {
      if (model.name().equals("SeedLlama") || model.name().equals("GqaTwoKvHeads")) {
        cases.add(Arguments.of(model, Dtype.Q8_0));
        cases.add(Arguments.of(model, Dtype.F16));
      }
      if (model.name().equals("SeedLlama") || model.name().equals("TiedEmbeddings")) {
        cases.add(Arguments.of(model, Dtype.Q4_0));
      }
    }
    for (TestModel model : ARCHITECTURES) {
      cases.add(Arguments.of(model, Dtype.F32));
      cases.add(Arguments.of(model, Dtype.Q8_0));
    }
    String only = System.getProperty("kiln.tornado.testCases", "");
    return only.isBlank()
        ? cases.stream()
        : cases.stream()
            .filter(c -> List.of(only.split(",")).contains(c.get()[0] + " " + c.get()[1]));
  }

  /** The conformance specs of the architectures beyond Llama, as test models for random weights. */
  static final List<TestModel> ARCHITECTURES =
      List.of(
          new TestModel(
              "llama3rope",
              ConformanceLlama3RopeDecoder.SPEC,
              w -> new ConformanceLlama3RopeDecoder(ConformanceLlama3RopeWeights.from(w))),
          new TestModel(
              "qwen2",
              ConformanceQwen2Decoder.SPEC,
              w -> new ConformanceQwen2Decoder(ConformanceQwen2Weights.from(w))),
          new TestModel(
              "qwen3",
              ConformanceQwen3Decoder.SPEC,
              w -> new ConformanceQwen3Decoder(ConformanceQwen3Weights.from(w))),
          new TestModel(
              "gemma2",
              ConformanceGemma2Decoder.SPEC,
              w -> new ConformanceGemma2Decoder(ConformanceGemma2Weights.from(w))));

  @AfterAll
  static void reportWorst() {
    ConformanceTest.reportWorst();
  }

  @Test
  void bailoutsAreErrors() {
    assertThat(System.getProperty(TornadoSupport.BAILOUT_PROPERTY)).isEqualTo("False");
  }

  /**
   * The layout the decoders run in: {@value TornadoSupport#LAYOUT_PROPERTY} when given (the build
   * runs both).
   */
  @Test
  void decodersRunTheChosenLayout() throws Exception {
    TestModel model = TestModel.all().getFirst();
    Decoder decoder = TornadoModels.create(model.name(), model.randomWeights());
    try {
      String expected = System.getProperty(TornadoSupport.LAYOUT_PROPERTY);
      String layout = (String) decoder.getClass().getMethod("layout").invoke(decoder);
      System.out.println("TornadoVM kernel layout: " + layout);
      if (expected != null && !expected.isBlank()) {
        assertThat(layout).isEqualTo(expected);
      } else {
        assertThat(layout).isEqualTo(TornadoSupport.defaultLayout(TornadoSupport.selectedDevice()));
      }
    } finally {
      TornadoModels.close(decoder);
    }
  }

  @Test
  void devicesAreListedAndABadChoiceNamesThem() {
    List<String> devices = TornadoSupport.devices();
    assertThat(devices).isNotEmpty();
    String previous = System.getProperty(TornadoSupport.DEVICE_PROPERTY);
    System.setProperty(TornadoSupport.DEVICE_PROPERTY, "7:3");
    try {
      var e = assertThrows(IllegalArgumentException.class, TornadoSupport::selectedDevice);
      assertThat(e)
          .hasMessageThat()
          .contains(
              "TornadoVM device 7:3 (kiln --device, or -Dkiln.tornado.device) names no device");
      assertThat(e).hasMessageThat().contains(devices.getFirst());
    } finally {
      if (previous == null) {
        System.clearProperty(TornadoSupport.DEVICE_PROPERTY);
      } else {
        System.setProperty(TornadoSupport.DEVICE_PROPERTY, previous);
      }
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("models")
  void logitsMatchTheInterpreter(TestModel model, Dtype type) throws Exception {
    Weights weights = model.randomWeights();
    if (type != Dtype.F32) {
      weights = weights.withMatrices(type);
    }
    Decoder interpreter = new Interpreter(weights);
    Decoder tornado = TornadoModels.create(model.name(), weights);
    try {
      String name = model + " " + type;
      int[][] prompts = GeneratedVsInterpreterTest.prompts(model, new SplittableRandom(99));
      float[][][] expectedPrompt = interpreter.append(prompts);
      float[][][] actualPrompt = tornado.append(prompts);
      int[] tokens = new int[prompts.length];
      for (int s = 0; s < prompts.length; s++) {
        for (int i = 0; i < prompts[s].length; i++) {
          Logits.assertClose(
              name + " sequence " + s + " prompt position " + i,
              actualPrompt[s][i],
              expectedPrompt[s][i]);
        }
        tokens[s] = Greedy.argmax(expectedPrompt[s][prompts[s].length - 1]);
        assertWithMessage("%s sequence %s first greedy token", name, s)
            .that(Greedy.argmax(actualPrompt[s][prompts[s].length - 1]))
            .isEqualTo(tokens[s]);
      }
      for (int step = 0; step < DECODE_STEPS; step++) {
        float[][] expected = interpreter.step(tokens);
        float[][] actual = tornado.step(tokens);
        for (int s = 0; s < tokens.length; s++) {
          Logits.assertClose(
              name + " sequence " + s + " decode step " + step, actual[s], expected[s]);
          int next = Greedy.argmax(expected[s]);
          assertWithMessage("%s sequence %s greedy token after step %s", name, s, step)
              .that(Greedy.argmax(actual[s]))
              .isEqualTo(next);
          tokens[s] = next;
        }
      }

      // Without the cache: the whole sequences again, in the device cache's second half ...
      int[][] sequences =
          Arrays.stream(prompts).map(p -> Arrays.copyOf(p, p.length + 1)).toArray(int[][]::new);
      float[][][] expectedFull = interpreter.forwardNoCache(sequences);
      float[][][] actualFull = tornado.forwardNoCache(sequences);
      for (int s = 0; s < sequences.length; s++) {
        for (int i = 0; i < sequences[s].length; i++) {
          Logits.assertClose(
              name + " no cache, sequence " + s + " position " + i,
              actualFull[s][i],
              expectedFull[s][i]);
        }
      }
      // ... which leaves the cache of the decode above as it was.
      float[][] expected = interpreter.step(tokens);
      float[][] actual = tornado.step(tokens);
      for (int s = 0; s < tokens.length; s++) {
        Logits.assertClose(
            name + " sequence " + s + " step after forwardNoCache", actual[s], expected[s]);
      }
    } finally {
      TornadoModels.close(tornado);
    }
  }

  @TestFactory
  Stream<DynamicTest> conformanceBundledTiny() {
    return conformance("tiny", Repository.bundledTiny());
  }

  @TestFactory
  Stream<DynamicTest> conformanceShared() {
    var root = SharedConformance.GOLDENS.root();
    if (root.isEmpty()) {
      return Stream.of(
          dynamicTest(
              "shared conformance models (pass -Dkiln.conformance=DIR to run)",
              () -> Assumptions.abort("-Dkiln.conformance not given")));
    }
    return SharedConformance.MODELS.stream()
        .flatMap(name -> conformance(name, root.get().resolve(name)));
  }

  /** The F32 files of each format, and the GGUF F16 file (float32 on the device). */
  static final List<String> FILES =
      List.of("gguf/model-f32.gguf", "gguf/model-f16.gguf", "hf", "llama2c/model.bin");

  /** The formats of the architectures llama2.c cannot express (no llama2c/ folder). */
  static final List<String> FILES_WITHOUT_LLAMA2C = FILES.subList(0, FILES.size() - 1);

  private static final Map<String, ResolvedSpec> SPECS =
      Map.of(
          "tiny", dev.kiln.examples.specs.ConformanceTinyDecoder.SPEC,
          "seed", dev.kiln.examples.specs.ConformanceSeedDecoder.SPEC,
          "gqa", dev.kiln.examples.specs.ConformanceGqaDecoder.SPEC,
          "llama3rope", ConformanceLlama3RopeDecoder.SPEC,
          "qwen2", ConformanceQwen2Decoder.SPEC,
          "qwen3", ConformanceQwen3Decoder.SPEC,
          "gemma2", ConformanceGemma2Decoder.SPEC);

  /**
   * {@link ConformanceTest}'s two checks: prefill and steps with the cache, and every step
   * recomputed without.
   */
  private static Stream<DynamicTest> conformance(String model, Path dir) {
    List<String> files =
        List.of("tiny", "seed", "gqa").contains(model) ? FILES : FILES_WITHOUT_LLAMA2C;
    return files.stream()
        .map(
            format ->
                dynamicTest(
                    model + " " + format,
                    () -> {
                      Golden golden = Golden.read(dir);
                      Decoder decoder =
                          TornadoModels.create(
                              model, Weights.load(SPECS.get(model), dir.resolve(format)));
                      try {
                        String name = model + " " + format + " tornado";
                        ConformanceTest.withCache(name + " with KV cache", decoder, golden);
                        ConformanceTest.withoutCache(name + " without KV cache", decoder, golden);
                      } finally {
                        TornadoModels.close(decoder);
                      }
                    }));
  }
}
