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
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.spec.SpecElement;
import dev.kiln.testing.Golden;
import dev.kiln.testing.Repository;
import dev.kiln.testing.SharedConformance;
import dev.kiln.weights.Checkpoint;
import dev.kiln.weights.ModelFiles;
import dev.kiln.weights.Weights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/**
 * The conformance models against golden logits from an independent reference implementation of
 * Hugging Face's Llama: logits within {@value #ATOL} (absolute) at every prompt position and decode
 * step, and identical greedy tokens, in both cache modes, through the generated decoder and the
 * interpreter, from the F32 and the F16 safetensors files (the F16 file holds exactly the same
 * values, every weight being an fp16 number, so the same tolerance applies; a path that flushed
 * fp16 subnormals would miss it).
 */
class ConformanceTest {
  /** The tolerance the golden files state for a correct float32 implementation. */
  static final double ATOL = 1e-4;

  /**
   * Every file of a model, in every format Kiln reads: safetensors files (F32, F16), Hugging Face
   * folders, GGUF (F32; F16 matrices with F32 norms), llama2.c. All hold the same values (every
   * weight is an fp16 number), so one golden file and one tolerance serve them all.
   */
  static final List<String> FILES =
      List.of(
          "hf/model.safetensors",
          "hf_f16/model.safetensors",
          "hf",
          "hf_f16",
          "gguf/model-f32.gguf",
          "gguf/model-f16.gguf",
          "llama2c/model.bin");

  /** The formats of the architectures llama2.c cannot express (no llama2c/ folder). */
  static final List<String> FILES_WITHOUT_LLAMA2C = FILES.subList(0, FILES.size() - 1);

  private record Model(
      String name, ResolvedSpec spec, Function<Path, Decoder> generated, List<String> files) {
    Model(String name, ResolvedSpec spec, Function<Path, Decoder> generated) {
      this(name, spec, generated, FILES);
    }
  }

  private static final Map<String, Model> MODELS =
      Map.of(
          "llama3rope",
              new Model(
                  "llama3rope",
                  ConformanceLlama3RopeDecoder.SPEC,
                  file -> new ConformanceLlama3RopeDecoder(ConformanceLlama3RopeWeights.load(file)),
                  FILES_WITHOUT_LLAMA2C),
          "qwen2",
              new Model(
                  "qwen2",
                  ConformanceQwen2Decoder.SPEC,
                  file -> new ConformanceQwen2Decoder(ConformanceQwen2Weights.load(file)),
                  FILES_WITHOUT_LLAMA2C),
          "qwen3",
              new Model(
                  "qwen3",
                  ConformanceQwen3Decoder.SPEC,
                  file -> new ConformanceQwen3Decoder(ConformanceQwen3Weights.load(file)),
                  FILES_WITHOUT_LLAMA2C),
          "gemma2",
              new Model(
                  "gemma2",
                  ConformanceGemma2Decoder.SPEC,
                  file -> new ConformanceGemma2Decoder(ConformanceGemma2Weights.load(file)),
                  FILES_WITHOUT_LLAMA2C),
          "tiny",
              new Model(
                  "tiny",
                  ConformanceTinyDecoder.SPEC,
                  file -> new ConformanceTinyDecoder(ConformanceTinyWeights.load(file))),
          "seed",
              new Model(
                  "seed",
                  ConformanceSeedDecoder.SPEC,
                  file -> new ConformanceSeedDecoder(ConformanceSeedWeights.load(file))),
          "gqa",
              new Model(
                  "gqa",
                  ConformanceGqaDecoder.SPEC,
                  file -> new ConformanceGqaDecoder(ConformanceGqaWeights.load(file))));

  @TestFactory
  Stream<DynamicTest> bundledTiny() {
    return testsFor(MODELS.get("tiny"), Repository.bundledTiny());
  }

  @Tag("slow")
  @TestFactory
  Stream<DynamicTest> sharedModels() {
    var root = SharedConformance.GOLDENS.root();
    if (root.isEmpty()) {
      return Stream.of(
          dynamicTest(
              "shared conformance models (pass -Dkiln.conformance=DIR to run)",
              () -> Assumptions.abort("-Dkiln.conformance not given")));
    }
    return SharedConformance.MODELS.stream()
        .flatMap(name -> testsFor(MODELS.get(name), root.get().resolve(name)));
  }

  private static Stream<DynamicTest> testsFor(Model model, Path dir) {
    List<DynamicTest> tests = new ArrayList<>();
    tests.add(
        dynamicTest(
            model.name() + ": spec matches config", () -> checkSpec(model, Golden.read(dir))));
    for (String format : model.files()) {
      tests.add(
          dynamicTest(
              model.name() + " " + format + ": derived spec",
              () -> checkDerivedSpec(model, dir.resolve(format))));
    }
    for (String format : model.files()) {
      Path file = dir.resolve(format);
      Map<String, Function<Path, Decoder>> backends =
          Map.of(
              "generated",
              model.generated(),
              "interpreter",
              f -> new Interpreter(Weights.load(model.spec(), f)));
      for (var backend : backends.entrySet()) {
        String name = model.name() + " " + format + " " + backend.getKey();
        tests.add(
            dynamicTest(
                name + " with KV cache",
                () -> withCache(name, backend.getValue().apply(file), Golden.read(dir))));
        tests.add(
            dynamicTest(
                name + " without KV cache",
                () -> withoutCache(name, backend.getValue().apply(file), Golden.read(dir))));
      }
    }
    return tests.stream();
  }

  /** Prompt prefilled in one chunk (logits at every position), then one token per step. */
  static void withCache(String name, Decoder decoder, Golden golden) {
    float[][] prompt = decoder.append(new int[][] {golden.prompt()})[0];
    for (int i = 0; i < prompt.length; i++) {
      assertClose(name + " prompt position " + i, prompt[i], golden.kvPromptLogits()[i]);
    }
    int[] tokens = golden.greedyTokens();
    assertWithMessage("%s first greedy token", name)
        .that(Greedy.argmax(prompt[prompt.length - 1]))
        .isEqualTo(tokens[0]);
    for (int k = 0; k < golden.kvDecodeLogits().length; k++) {
      float[] logits = decoder.step(new int[] {tokens[k]})[0];
      assertClose(name + " decode step " + k, logits, golden.kvDecodeLogits()[k]);
      assertWithMessage("%s greedy token after step %s", name, k)
          .that(Greedy.argmax(logits))
          .isEqualTo(tokens[k + 1]);
    }
  }

  /** Every step recomputes the whole sequence and reads the last position. */
  static void withoutCache(String name, Decoder decoder, Golden golden) {
    int[] tokens = golden.greedyTokens();
    int[] sequence = golden.prompt();
    float[][] full = decoder.forwardNoCache(new int[][] {sequence})[0];
    for (int i = 0; i < full.length; i++) {
      assertClose(name + " prompt position " + i, full[i], golden.noCachePromptLogits()[i]);
    }
    assertWithMessage("%s first greedy token", name)
        .that(Greedy.argmax(full[full.length - 1]))
        .isEqualTo(tokens[0]);
    for (int k = 0; k < golden.noCacheDecodeLogits().length; k++) {
      sequence = Arrays.copyOf(sequence, sequence.length + 1);
      sequence[sequence.length - 1] = tokens[k];
      float[][] logits = decoder.forwardNoCache(new int[][] {sequence})[0];
      float[] last = logits[logits.length - 1];
      assertClose(
          name + " step " + k + " (" + sequence.length + " positions recomputed)",
          last,
          golden.noCacheDecodeLogits()[k]);
      assertWithMessage("%s greedy token after step %s", name, k)
          .that(Greedy.argmax(last))
          .isEqualTo(tokens[k + 1]);
    }
  }

  private static void checkSpec(Model model, Golden golden) {
    var config = golden.config();
    ResolvedSpec spec = model.spec();
    assertWithMessage("vocab_size")
        .that(spec.vocabSize())
        .isEqualTo(config.get("vocab_size").getAsInt());
    assertWithMessage("hidden_size")
        .that(spec.hiddenSize())
        .isEqualTo(config.get("hidden_size").getAsInt());
    assertWithMessage("intermediate_size")
        .that(spec.intermediateSize())
        .isEqualTo(config.get("intermediate_size").getAsInt());
    assertWithMessage("num_hidden_layers")
        .that(spec.numHiddenLayers())
        .isEqualTo(config.get("num_hidden_layers").getAsInt());
    assertWithMessage("num_attention_heads")
        .that(spec.numAttentionHeads())
        .isEqualTo(config.get("num_attention_heads").getAsInt());
    assertWithMessage("num_key_value_heads")
        .that(spec.numKeyValueHeads())
        .isEqualTo(config.get("num_key_value_heads").getAsInt());
    int headDim =
        config.has("head_dim")
            ? config.get("head_dim").getAsInt()
            : config.get("hidden_size").getAsInt() / config.get("num_attention_heads").getAsInt();
    assertWithMessage("head_dim").that(spec.headDim()).isEqualTo(headDim);
    assertWithMessage("max_position_embeddings")
        .that(spec.maxPositionEmbeddings())
        .isEqualTo(config.get("max_position_embeddings").getAsInt());
    assertWithMessage("rms_norm_eps")
        .that(spec.rmsNormEps())
        .isEqualTo(config.get("rms_norm_eps").getAsDouble());
    assertWithMessage("rope_theta")
        .that(spec.ropeTheta())
        .isEqualTo(config.get("rope_theta").getAsDouble());
    assertWithMessage("tie_word_embeddings")
        .that(spec.tieWordEmbeddings())
        .isEqualTo(config.get("tie_word_embeddings").getAsBoolean());
  }

  /**
   * The spec derived from the file's header is the test's spec, except what the format cannot
   * state: a bare safetensors file states nothing, llama2.c has no RoPE theta or RMSNorm epsilon.
   */
  private static void checkDerivedSpec(Model model, Path file) {
    Checkpoint checkpoint = ModelFiles.open(file);
    assertWithMessage("%s: mismatches against the spec", file)
        .that(ModelFiles.mismatches(model.spec(), checkpoint))
        .isEmpty();
    if (checkpoint.statedSpec().isEmpty()) {
      return;
    }
    var derived = ModelFiles.deriveSpec(checkpoint);
    ResolvedSpec.Builder expected = model.spec().toBuilder();
    for (SpecElement assumed : derived.assumptions().keySet()) {
      expected.set(assumed, derived.spec().toDraft().value(assumed));
    }
    assertWithMessage("%s: derived spec (assumed: %s)", file, derived.assumptions().keySet())
        .that(derived.spec())
        .isEqualTo(expected.build());
  }

  /**
   * The largest |logit - golden| of each model, format and backend (up to the cache mode), for the
   * report.
   */
  private static final Map<String, Double> WORST =
      new java.util.concurrent.ConcurrentSkipListMap<>();

  @org.junit.jupiter.api.AfterAll
  static void reportWorst() {
    WORST.forEach(
        (what, worst) ->
            System.out.printf(
                java.util.Locale.ROOT, "conformance max |logit - golden| %s: %.3g%n", what, worst));
  }

  private static void assertClose(String what, float[] actual, double[] expected) {
    assertWithMessage("%s: vocab size", what).that(actual.length).isEqualTo(expected.length);
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    }
    WORST.merge(what.split(" (prompt position|decode step|step) ")[0], worst, Math::max);
    assertWithMessage("%s: max |logit - golden| = %s exceeds %s", what, worst, ATOL)
        .that(worst <= ATOL)
        .isTrue();
  }
}
