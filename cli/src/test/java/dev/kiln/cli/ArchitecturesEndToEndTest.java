package dev.kiln.cli;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.cli.CliTest.Result;
import dev.kiln.testing.Golden;
import dev.kiln.testing.SharedConformance;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln run}, {@code spec} and {@code info} end to end on the four architectures beyond plain
 * Llama of the shared conformance folder ({@code -Dkiln.conformance=DIR}): {@code llama3rope}
 * (Llama 3.1 RoPE scaling), {@code qwen2} (q/k/v biases), {@code qwen3} (q/k norms, explicit head
 * dim) and {@code gemma2} (sandwich norms, GELU, soft-capping, sliding window), each from its GGUF
 * files (F32, F16) and its Hugging Face folders (F32, F16; those have no tokenizer, so text runs
 * take {@code --tokenizer} the model's F32 GGUF file, whose minimal tokenizer is the model's).
 *
 * <p>All formats of a model derive the same spec, so the class's cache holds one specialized
 * decoder per model, compiled by the first run that needs it.
 */
@Tag("slow")
class ArchitecturesEndToEndTest {
  @TempDir static Path cache;

  static final List<String> MODELS = List.of("llama3rope", "qwen2", "qwen3", "gemma2");

  static final List<String> FILES =
      List.of("gguf/model-f32.gguf", "gguf/model-f16.gguf", "hf", "hf_f16");

  /**
   * What {@code kiln spec} must print for each model (the elements of its architecture among them).
   */
  static final Map<String, List<String>> SPEC_LINES =
      Map.of(
          "llama3rope",
              List.of(
                  "numKeyValueHeads = 1,",
                  "ropeTheta = 500000.0,",
                  "ropeScaling = RopeScaling.LLAMA3,",
                  "ropeScalingFactor = 8.0,",
                  "ropeScalingOriginalMaxPositionEmbeddings = 32)"),
          "qwen2", List.of("intermediateSize = 320,", "ropeTheta = 1000000.0,", "qkvBias = true)"),
          "qwen3", List.of("headDim = 48,", "ropeTheta = 1000000.0,", "qkNorm = true)"),
          "gemma2",
              List.of(
                  "headDim = 32,",
                  "tieWordEmbeddings = true,",
                  "rmsNormUnitOffset = true,",
                  "scaleEmbeddings = true,",
                  "sandwichNorms = true,",
                  "hiddenAct = Activation.GELU_TANH,",
                  "attnLogitSoftcapping = 20.0,",
                  "finalLogitSoftcapping = 10.0,",
                  "slidingWindow = 4,",
                  "slidingWindowLayers = SlidingWindowLayers.EVEN)"));

  /**
   * What {@code kiln info} must print for each model: its parameters and KV-cache shape, whatever
   * the format.
   */
  static final Map<String, List<String>> INFO_LINES =
      Map.of(
          "llama3rope",
              List.of("361,088 parameters", "= 2 x 2 layers x 128 positions x 64 kv_dim x 4"),
          "qwen2", List.of("410,752 parameters", "= 2 x 2 layers x 128 positions x 64 kv_dim x 4"),
          "qwen3", List.of("410,432 parameters", "= 2 x 2 layers x 128 positions x 96 kv_dim x 4"),
          "gemma2",
              List.of("201,536 parameters", "= 2 x 3 layers x 128 positions x 64 kv_dim x 4"));

  /** A tensor of each model's architecture, as GGUF and as Hugging Face name it. */
  static final Map<String, List<String>> TENSORS =
      Map.of(
          "llama3rope", List.of("rope_freqs.weight", "model.layers.0.self_attn.q_proj.weight"),
          "qwen2", List.of("blk.0.attn_q.bias", "model.layers.0.self_attn.q_proj.bias"),
          "qwen3", List.of("blk.0.attn_q_norm.weight", "model.layers.0.self_attn.q_norm.weight"),
          "gemma2",
              List.of(
                  "blk.0.post_ffw_norm.weight",
                  "model.layers.0.post_feedforward_layernorm.weight"));

  /**
   * The format each model's own chat template would be; its special tokens are not in the minimal
   * vocabulary.
   */
  static final Map<String, String> NATIVE_CHAT =
      Map.of("llama3rope", "llama3", "qwen2", "chatml", "qwen3", "qwen3", "gemma2", "gemma");

  private static Result kiln(List<String> args) {
    return CliTest.kiln(args.toArray(String[]::new));
  }

  /**
   * {@code run -m FILE} with the model's tokenizer where the file has none, the class's cache and
   * {@code args}.
   */
  private static Result run(Path model, String file, String... args) {
    List<String> all = new ArrayList<>(List.of("run", "-m", model.resolve(file).toString()));
    if (file.startsWith("hf")) {
      all.addAll(List.of("--tokenizer", model.resolve("gguf/model-f32.gguf").toString()));
    }
    all.addAll(List.of(args));
    all.addAll(List.of("--cache", cache.toString()));
    return kiln(all);
  }

  private static JsonObject golden(Path model) {
    return Golden.json(model);
  }

  private static List<Integer> ints(JsonArray array) {
    return IntStream.range(0, array.size()).mapToObj(i -> array.get(i).getAsInt()).toList();
  }

  private static String joined(List<Integer> ids) {
    return ids.stream().map(String::valueOf).collect(Collectors.joining(","));
  }

  /** Token ids >= 4 as the text they stand for: the single character U+4E00 + (id - 4). */
  private static String text(List<Integer> ids) {
    StringBuilder text = new StringBuilder();
    for (int id : ids) {
      assertThat(id).isAtLeast(4);
      text.appendCodePoint(0x4E00 + id - 4);
    }
    return text.toString();
  }

  /**
   * The golden prompt after BOS and the space token, as text (which encodes back to the golden
   * prompt).
   */
  private static String promptText(JsonObject golden) {
    List<Integer> prompt = ints(golden.getAsJsonArray("prompt"));
    assertThat(prompt.subList(0, 2)).containsExactly(1, 3).inOrder();
    return text(prompt.subList(2, prompt.size()));
  }

  private static JsonObject json(Result result, String what) {
    assertWithMessage("%s: exit code; stderr %s", what, result.err())
        .that(result.exit())
        .isEqualTo(0);
    return JsonParser.parseString(result.out()).getAsJsonObject();
  }

  /**
   * A test of {@code kind} per model and file; without {@code -Dkiln.conformance} one that is
   * skipped (an aborted factory would not be counted at all).
   */
  private static Stream<DynamicTest> each(String kind, Check check) {
    var shared = SharedConformance.GOLDENS.root();
    if (shared.isEmpty()) {
      return Stream.of(
          DynamicTest.dynamicTest(
              kind + " (needs -Dkiln.conformance)",
              () -> Assumptions.abort("-Dkiln.conformance not given")));
    }
    Path root = shared.get();
    return MODELS.stream()
        .flatMap(
            model ->
                FILES.stream()
                    .map(
                        file ->
                            DynamicTest.dynamicTest(
                                model + " " + file + " " + kind,
                                () -> check.run(model, root.resolve(model), file))));
  }

  @FunctionalInterface
  interface Check {
    void run(String name, Path model, String file) throws Exception;
  }

  /**
   * {@code run --prompt-ids <golden prompt> -n 9 --temperature 0 --json} gives the 9 golden greedy
   * tokens, through the decoder specialized to the file and through the interpreter.
   */
  @TestFactory
  Stream<DynamicTest> promptIdsGiveTheGoldenGreedyTokens() {
    return each(
        "--prompt-ids",
        (name, model, file) -> {
          JsonObject golden = golden(model);
          List<Integer> greedy = ints(golden.getAsJsonArray("greedy_tokens"));
          assertThat(greedy).hasSize(9);
          for (String backend : List.of("java", "interpreter")) {
            String what = name + " " + file + " --backend " + backend;
            JsonObject result =
                json(
                    run(
                        model,
                        file,
                        "--prompt-ids",
                        joined(ints(golden.getAsJsonArray("prompt"))),
                        "-n",
                        "9",
                        "--temperature",
                        "0",
                        "--json",
                        "--backend",
                        backend),
                    what);
            assertWithMessage("%s: backend", what)
                .that(result.get("backend").getAsString())
                .isEqualTo(backend);
            assertWithMessage("%s: generated ids", what)
                .that(ints(result.getAsJsonArray("generated_ids")))
                .containsExactlyElementsIn(greedy)
                .inOrder();
            assertWithMessage("%s: top logit", what)
                .that(
                    result
                        .getAsJsonArray("top_logits")
                        .get(0)
                        .getAsJsonObject()
                        .get("id")
                        .getAsInt())
                .isEqualTo(greedy.get(8));
            assertThat(result.get("stop").getAsString()).isEqualTo("max_tokens");
          }
        });
  }

  /**
   * A text prompt, the golden prompt's characters, streams itself and then the text of the first
   * four golden tokens: the tokenizer gives the golden prompt ids, and generation the golden
   * tokens.
   */
  @TestFactory
  Stream<DynamicTest> aTextPromptStreamsTheGoldenText() {
    return each(
        "-p",
        (name, model, file) -> {
          JsonObject golden = golden(model);
          String prompt = promptText(golden);
          Result result = run(model, file, "-p", prompt, "-n", "4", "--temperature", "0");
          assertWithMessage("%s %s: stderr %s", name, file, result.err())
              .that(result.exit())
              .isEqualTo(0);
          assertThat(result.out())
              .isEqualTo(prompt + text(ints(golden.getAsJsonArray("greedy_tokens")).subList(0, 4)));
          assertThat(result.err()).contains("[prompt 8 tokens");
          assertThat(result.err()).contains("generated 4 tokens");
        });
  }

  /**
   * One chat turn. The minimal tokenizer has no chat template and, of the formats' special tokens,
   * only {@code <s>} and {@code </s>}: without {@code --chat-template} no format is detected; the
   * model's own format (Llama 3, ChatML, Qwen 3, Gemma) is a one-line error naming the tokens the
   * vocabulary lacks; Llama 2's, whose {@code [INST]} markers are plain text, runs. Its {@code
   * [INST]} and {@code [/INST]} are characters outside this vocabulary: each is one unknown token
   * (id 0). The specialized decoder and the interpreter answer alike.
   */
  @TestFactory
  Stream<DynamicTest> oneChatTurn() {
    return each(
        "--chat",
        (name, model, file) -> {
          String user = promptText(golden(model));
          String what = name + " " + file;

          Result undetected =
              run(model, file, "--chat", "-p", user, "-n", "4", "--temperature", "0");
          assertOneLineError(
              undetected,
              what + " without --chat-template",
              "kiln: no known chat format: looked for"
                  + " <|start_header_id|> (Llama 3), <start_of_turn> (Gemma), <|im_start|> (ChatML; Qwen 3 with <think>) and"
                  + " [INST] (Llama 2 with <<SYS>>, else Mistral) in the chat template (none given) and in the 3 special"
                  + " tokens, found none");

          String own = NATIVE_CHAT.get(name);
          Result ownFormat =
              run(
                  model,
                  file,
                  "--chat",
                  "-p",
                  user,
                  "-n",
                  "4",
                  "--temperature",
                  "0",
                  "--chat-template",
                  own);
          String missing =
              switch (own) {
                case "llama3" ->
                    "<|begin_of_text|>, <|start_header_id|>, <|end_header_id|>, <|eot_id|>";
                case "chatml", "qwen3" -> "<|im_start|>, <|im_end|>";
                case "gemma" -> "<bos>, <start_of_turn>, <end_of_turn>";
                default -> throw new AssertionError(own);
              };
          assertOneLineError(
              ownFormat,
              what + " --chat-template " + own,
              "kiln: --chat-template "
                  + own
                  + ": this model's vocabulary has no "
                  + missing
                  + " tokens (the format's special tokens would be read as"
                  + " plain text); use a format the model was trained with");

          List<Integer> expectedPrompt = new ArrayList<>(List.of(1, 3)); // <s>, "▁" before "[INST]"
          expectedPrompt.addAll(Collections.nCopies("[INST]".length(), 0));
          expectedPrompt.add(3);
          expectedPrompt.addAll(ints(golden(model).getAsJsonArray("prompt")).subList(2, 8));
          expectedPrompt.add(3);
          expectedPrompt.addAll(Collections.nCopies("[/INST]".length(), 0));
          List<Integer> generated = null;
          for (String backend : List.of("java", "interpreter")) {
            JsonObject chat =
                json(
                    run(
                        model,
                        file,
                        "--chat",
                        "-p",
                        user,
                        "-n",
                        "4",
                        "--temperature",
                        "0",
                        "--chat-template",
                        "llama2",
                        "--json",
                        "--backend",
                        backend),
                    what + " --chat-template llama2 " + backend);
            assertWithMessage("%s: prompt ids", what)
                .that(ints(chat.getAsJsonArray("prompt_ids")))
                .containsExactlyElementsIn(expectedPrompt)
                .inOrder();
            List<Integer> ids = ints(chat.getAsJsonArray("generated_ids"));
            assertWithMessage("%s: stop", what)
                .that(chat.get("stop").getAsString())
                .isAnyOf("max_tokens", "eos");
            assertThat(ids).isNotEmpty();
            assertThat(chat.get("text").getAsString()).isNotEmpty();
            if (generated == null) {
              generated = ids;
            } else {
              assertWithMessage("%s: interpreter's answer", what).that(ids).isEqualTo(generated);
            }
          }
          // Streamed: the answer on standard output, the turn on standard error.
          Result streamed =
              run(
                  model,
                  file,
                  "--chat",
                  "-p",
                  user,
                  "-n",
                  "4",
                  "--temperature",
                  "0",
                  "--chat-template",
                  "llama2");
          assertWithMessage("%s: stderr %s", what, streamed.err())
              .that(streamed.exit())
              .isEqualTo(0);
          assertThat(streamed.out().strip()).isNotEmpty();
          assertThat(streamed.err())
              .contains(
                  "[turn 1: "
                      + expectedPrompt.size()
                      + " prompt tokens, 0 of them already in"
                      + " the KV cache]");
        });
  }

  private static void assertOneLineError(Result result, String what, String expected) {
    assertWithMessage("%s: exit code; stderr %s", what, result.err())
        .that(result.exit())
        .isEqualTo(1);
    assertWithMessage("%s", what).that(result.err()).contains(expected + System.lineSeparator());
    assertWithMessage("%s: one error line", what)
        .that(result.err().lines().filter(line -> line.startsWith("kiln: ")).count())
        .isEqualTo(1);
    assertWithMessage("%s: no stack trace", what).that(result.err()).doesNotContain("\tat ");
    assertWithMessage("%s: no output", what).that(result.out()).isEmpty();
  }

  /**
   * {@code kiln spec} prints the architecture's elements, the same @ModelSpec from every format of
   * a model; {@code kiln info} shows the format, a tensor of the architecture, its parameters and
   * KV cache.
   */
  @TestFactory
  Stream<DynamicTest> specAndInfo() {
    return each(
        "spec, info",
        (name, model, file) -> {
          Path path = model.resolve(file);
          Result spec = kiln(List.of("spec", path.toString()));
          assertWithMessage("%s %s: stderr %s", name, file, spec.err())
              .that(spec.exit())
              .isEqualTo(0);
          List<String> lines = spec.out().lines().map(String::strip).toList();
          for (String line : SPEC_LINES.get(name)) {
            assertWithMessage("%s %s spec", name, file).that(lines).contains(line);
          }
          boolean gguf = file.startsWith("gguf");
          assertThat(spec.out())
              .startsWith(
                  "// " + path + ": " + (gguf ? "GGUF v3" : "Hugging Face folder (safetensors)"));
          if (name.equals("qwen2")) {
            // config.json says use_sliding_window: false; its sliding_window value is not the
            // model's.
            assertThat(spec.out()).doesNotContain("slidingWindow");
          }
          Result reference = kiln(List.of("spec", model.resolve(FILES.getFirst()).toString()));
          assertWithMessage("%s %s: the GGUF F32 file's spec", name, file)
              .that(annotation(spec.out()))
              .isEqualTo(annotation(reference.out()));

          Result info = kiln(List.of("info", path.toString()));
          assertWithMessage("%s %s: stderr %s", name, file, info.err())
              .that(info.exit())
              .isEqualTo(0);
          assertThat(info.out())
              .startsWith(
                  path + ": " + (gguf ? "GGUF v3, " : "Hugging Face folder (safetensors), "));
          if (gguf) {
            assertThat(info.out())
                .contains("; architecture " + (name.equals("llama3rope") ? "llama" : name) + ";");
          }
          assertThat(info.out()).contains("  " + TENSORS.get(name).get(gguf ? 0 : 1) + " ");
          for (String line : INFO_LINES.get(name)) {
            assertThat(info.out()).contains(line);
          }
        });
  }

  private static String annotation(String spec) {
    return spec.substring(spec.indexOf("@ModelSpec("));
  }
}
