package dev.kiln.cli;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.InvalidInputException;
import dev.kiln.generate.ChatTemplate;
import dev.kiln.testing.Golden;
import dev.kiln.testing.Repository;
import dev.kiln.testing.SharedConformance;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kiln command line in-process: greedy generation from every format of the conformance models
 * (the bundled {@code tiny}, and {@code -Dkiln.conformance=DIR} models) through a decoder
 * specialized at run time reproduces the golden greedy tokens; spec, info, verify; errors.
 */
class CliTest {
  @TempDir static Path cache;

  record Result(int exit, String out, String err) {}

  static Result kiln(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Kiln.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(exit, out.toString(), err.toString());
  }

  static final List<String> FILES =
      List.of("gguf/model-f32.gguf", "gguf/model-f16.gguf", "hf", "hf_f16", "llama2c/model.bin");

  @TestFactory
  Stream<DynamicTest> greedyGenerationReproducesTheGoldenTokens() {
    List<Path> models = new ArrayList<>(List.of(Repository.bundledTiny()));
    SharedConformance.GOLDENS
        .root()
        .ifPresent(root -> Stream.of("seed", "gqa").forEach(m -> models.add(root.resolve(m))));
    return models.stream()
        .flatMap(
            dir ->
                FILES.stream()
                    .map(
                        file ->
                            DynamicTest.dynamicTest(
                                dir.getFileName() + " " + file, () -> generate(dir, file))));
  }

  private static void generate(Path dir, String file) throws IOException {
    JsonObject golden = Golden.json(dir);
    String prompt = ids(golden.getAsJsonArray("prompt"));
    var greedy = golden.getAsJsonArray("greedy_tokens");
    List<String> args =
        new ArrayList<>(
            List.of(
                "run",
                "--model",
                dir.resolve(file).toString(),
                "--prompt-ids",
                prompt,
                "--max-tokens",
                Integer.toString(greedy.size()),
                "--json",
                "--cache",
                cache.toString()));
    if (file.startsWith("llama2c") && dir.getFileName().toString().equals("gqa")) {
      return; // llama2.c files do not store rope theta: gqa needs --rope-theta 500000
      // (SpecOverridesTest)
    }
    Result result = kiln(args.toArray(String[]::new));
    assertWithMessage("exit code; stderr: %s", result.err()).that(result.exit()).isEqualTo(0);
    JsonObject json = JsonParser.parseString(result.out()).getAsJsonObject();
    assertWithMessage("%s %s generated ids", dir.getFileName(), file)
        .that(ids(json.getAsJsonArray("generated_ids")))
        .isEqualTo(ids(greedy));
    assertThat(json.get("stop").getAsString()).isEqualTo("max_tokens");
    assertThat(json.getAsJsonArray("top_logits").size()).isEqualTo(5);
    assertThat(json.getAsJsonObject("timings").get("decode_tokens_per_second").getAsDouble())
        .isGreaterThan(0.0);
  }

  private static String ids(com.google.gson.JsonArray array) {
    return IntStream.range(0, array.size())
        .mapToObj(i -> Integer.toString(array.get(i).getAsInt()))
        .collect(Collectors.joining(","));
  }

  @Test
  void interpreterBackendGivesTheSameTokens() {
    Path tiny = Repository.bundledTiny().resolve("gguf/model-f32.gguf");
    Result java =
        kiln(
            "run",
            "-m",
            tiny.toString(),
            "--prompt-ids",
            "1,3,15,52",
            "--max-tokens",
            "6",
            "--json",
            "--cache",
            cache.toString());
    Result interpreter =
        kiln(
            "run",
            "-m",
            tiny.toString(),
            "--prompt-ids",
            "1,3,15,52",
            "--max-tokens",
            "6",
            "--json",
            "--backend",
            "interpreter");
    assertThat(java.exit()).isEqualTo(0);
    assertThat(interpreter.exit()).isEqualTo(0);
    assertThat(JsonParser.parseString(interpreter.out()).getAsJsonObject().get("generated_ids"))
        .isEqualTo(JsonParser.parseString(java.out()).getAsJsonObject().get("generated_ids"));
  }

  @Test
  void profileTimesEachKernelOfARun() {
    Path tiny = Repository.bundledTiny().resolve("gguf/model-f32.gguf");
    Result plain =
        kiln(
            "run",
            "-m",
            tiny.toString(),
            "--prompt-ids",
            "1,3,15,52",
            "--max-tokens",
            "6",
            "--json",
            "--cache",
            cache.toString());
    Result profiled =
        kiln(
            "run",
            "-m",
            tiny.toString(),
            "--prompt-ids",
            "1,3,15,52",
            "--max-tokens",
            "6",
            "--json",
            "--profile",
            "--cache",
            cache.toString());
    assertWithMessage(profiled.err()).that(profiled.exit()).isEqualTo(0);
    var result = JsonParser.parseString(profiled.out()).getAsJsonObject();
    assertThat(result.get("generated_ids"))
        .isEqualTo(JsonParser.parseString(plain.out()).getAsJsonObject().get("generated_ids"));
    assertThat(JsonParser.parseString(plain.out()).getAsJsonObject().has("kernel_profile"))
        .isFalse();
    java.util.Map<String, Long> calls = new java.util.LinkedHashMap<>();
    for (var kernel : result.getAsJsonArray("kernel_profile")) {
      var entry = kernel.getAsJsonObject();
      calls.put(entry.get("kernel").getAsString(), entry.get("calls").getAsLong());
      assertThat(entry.get("milliseconds").getAsDouble()).isAtLeast(0.0);
    }
    // a prefill and 5 steps: 6 forward calls, each running every layer's kernels
    assertThat(calls.get("embedTokens")).isEqualTo(6L);
    assertThat(calls.get("fusedRmsNormLmHead")).isEqualTo(6L);
    assertThat(calls.get("fusedAttention") % 6).isEqualTo(0L);
    assertThat(calls.get("fusedAttention")).isGreaterThan(0L);

    Result text =
        kiln(
            "run",
            "-m",
            tiny.toString(),
            "--prompt-ids",
            "1,3",
            "--max-tokens",
            "2",
            "--profile",
            "--cache",
            cache.toString());
    assertThat(text.exit()).isEqualTo(0);
    assertThat(text.err()).contains("[kernel profile, prompt and generation");
    assertThat(text.err()).containsMatch("(?m)^  fusedAttention +\\d+\\.0 calls");
    Result interpreter =
        kiln(
            "run",
            "-m",
            tiny.toString(),
            "--prompt-ids",
            "1,3",
            "--max-tokens",
            "2",
            "--profile",
            "--backend",
            "interpreter");
    assertThat(interpreter.exit()).isEqualTo(0);
    assertThat(interpreter.err())
        .contains("--profile: the interpreter backend does not time its kernels");
  }

  /**
   * Without TornadoVM in the JVM (this build's tests), {@code --backend tornado} says why on stderr
   * and runs the Java backend, whose tokens it reports as such; {@code kiln devices} is an error.
   */
  @Test
  void tornadoBackendWithoutTornadoVmWarnsAndRunsJava() {
    Path tiny = Repository.bundledTiny().resolve("gguf/model-f32.gguf");
    Result java =
        kiln(
            "run",
            "-m",
            tiny.toString(),
            "--prompt-ids",
            "1,3,15,52",
            "--max-tokens",
            "6",
            "--json",
            "--cache",
            cache.toString());
    Result tornado =
        kiln(
            "run",
            "-m",
            tiny.toString(),
            "--prompt-ids",
            "1,3,15,52",
            "--max-tokens",
            "6",
            "--json",
            "--backend",
            "tornado",
            "--cache",
            cache.toString());
    assertThat(tornado.exit()).isEqualTo(0);
    assertThat(tornado.err())
        .contains("warning: the TornadoVM backend is unavailable: TornadoVM is not installed");
    assertThat(tornado.err()).contains("running the Java backend");
    var result = JsonParser.parseString(tornado.out()).getAsJsonObject();
    assertThat(result.get("backend").getAsString()).isEqualTo("java");
    assertThat(result.get("generated_ids"))
        .isEqualTo(JsonParser.parseString(java.out()).getAsJsonObject().get("generated_ids"));

    Result devices = kiln("devices");
    assertThat(devices.exit()).isEqualTo(1);
    assertThat(devices.err()).contains("kiln: no TornadoVM devices: TornadoVM is not installed");
  }

  /**
   * {@code --layout} takes the TornadoVM kernel layouts only; the Llama-3.2-1B bench shape is the
   * model's.
   */
  @Test
  void layoutOptionAndLlama32Shape() {
    Result bad = kiln("bench", "--random", "stories110m", "--layout", "fast");
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.err()).contains("--layout must be gpu or cpu, was fast");
    var spec = BenchCommand.shape("llama3.2-1b", 1);
    assertThat(spec.vocabSize()).isEqualTo(128256);
    assertThat(spec.hiddenSize()).isEqualTo(2048);
    assertThat(spec.numHiddenLayers()).isEqualTo(16);
    assertThat(spec.numAttentionHeads()).isEqualTo(32);
    assertThat(spec.numKeyValueHeads()).isEqualTo(8);
    assertThat(spec.tieWordEmbeddings()).isTrue();
  }

  @Test
  void specializedDecodersAreCompiledOnceThenLoadedFromTheCache(@TempDir Path own) {
    Path tiny = Repository.bundledTiny().resolve("hf");
    Result first =
        kiln(
            "run",
            "-m",
            tiny.toString(),
            "--prompt-ids",
            "1,3",
            "--max-tokens",
            "2",
            "--cache",
            own.toString());
    Result second =
        kiln(
            "run",
            "-m",
            tiny.toString(),
            "--prompt-ids",
            "1,3",
            "--max-tokens",
            "2",
            "--cache",
            own.toString());
    assertThat(first.err()).contains("specializing a decoder");
    assertThat(second.err()).contains("using the decoder compiled for this spec");
    assertThat(second.out()).isEqualTo(first.out());
  }

  @Test
  void specInfoAndVerify() {
    Path tiny = Repository.bundledTiny().resolve("gguf/model-f16.gguf");
    Result spec = kiln("spec", tiny.toString());
    assertThat(spec.exit()).isEqualTo(0);
    assertThat(spec.out()).contains("numKeyValueHeads = 2");
    Result info = kiln("info", tiny.toString());
    assertThat(info.exit()).isEqualTo(0);
    assertThat(info.out()).contains("GGUF v3");
    assertThat(info.out()).contains("blk.0.attn_q.weight");
    assertThat(info.out())
        .contains("KV cache (float32) for 64 positions, one sequence: 16,384 bytes");
    Result verify = kiln("verify", tiny.toString(), "--cache", cache.toString());
    assertWithMessage("stderr %s", verify.err()).that(verify.exit()).isEqualTo(0);
    assertThat(verify.out()).contains("greedy tokens match");
  }

  @Test
  void badInputIsAOneLineErrorAndANonZeroExit() {
    Path tiny = Repository.bundledTiny().resolve("gguf/model-f32.gguf").toAbsolutePath();
    String longPrompt = IntStream.range(0, 65).mapToObj(i -> "4").collect(Collectors.joining(","));
    Object[][] cases = {
      {
        new String[] {"run", "-m", "/no/such/model.gguf", "--prompt-ids", "1"},
        1,
        "no such file or folder"
      },
      {
        new String[] {"run", "-m", tiny.toString(), "--prompt-ids", "1,999"},
        1,
        "outside the vocabulary [0, 64)"
      },
      {
        new String[] {"run", "-m", tiny.toString(), "--prompt-ids", longPrompt},
        1,
        "more than the context of 64"
      },
      {
        new String[] {"run", "-m", tiny.toString(), "--prompt-ids", "1", "--threads", "0"},
        1,
        "--threads must be"
      },
      {
        new String[] {"run", "-m", tiny.toString(), "--prompt-ids", "1", "--context", "128"},
        1,
        "longer than the model's context (64)"
      },
      {
        new String[] {"run", "-m", tiny.toString(), "--prompt-ids", "1", "--backend", "cuda"},
        1,
        "unknown --backend"
      },
      {
        new String[] {"spec", Repository.bundledTiny().resolve("golden.json").toString()},
        1,
        "not a model file"
      },
      {new String[] {"run", "--prompt-ids", "1"}, 2, "Missing required option"},
    };
    for (Object[] c : cases) {
      String[] args = (String[]) c[0];
      List<String> withCache = new ArrayList<>(List.of(args));
      if (args[0].equals("run")) {
        withCache.addAll(List.of("--cache", cache.toString()));
      }
      Result result = kiln(withCache.toArray(String[]::new));
      assertWithMessage("%s", String.join(" ", args)).that(result.exit()).isEqualTo(c[1]);
      assertWithMessage("%s", String.join(" ", args)).that(result.err()).contains((String) c[2]);
      if ((int) c[1] == 1) {
        // Progress lines may come first; the error itself is one line, without a stack trace.
        assertWithMessage("%s: one error line", String.join(" ", args))
            .that(result.err().lines().filter(line -> line.startsWith("kiln: ")).count())
            .isEqualTo(1);
        assertWithMessage("%s: no stack trace", String.join(" ", args))
            .that(result.err())
            .doesNotContain("\tat ");
      }
    }
  }

  /**
   * The golden prompt as text: after BOS and the space token, token i >= 4 is the character U+4E00
   * + (i - 4).
   */
  private static String goldenText(com.google.gson.JsonArray prompt) {
    StringBuilder text = new StringBuilder();
    for (int i = 2; i < prompt.size(); i++) {
      text.appendCodePoint(0x4E00 + prompt.get(i).getAsInt() - 4);
    }
    return text.toString();
  }

  @Test
  void aTextPromptIsTokenizedAsTheGoldenPromptAndGivesTheGoldenTokens() throws IOException {
    Path tiny = Repository.bundledTiny();
    JsonObject golden = Golden.json(tiny);
    String text = goldenText(golden.getAsJsonArray("prompt"));
    for (String file : List.of("gguf/model-f16.gguf", "llama2c/model.bin")) {
      Result result =
          kiln(
              "run",
              "-m",
              tiny.resolve(file).toString(),
              "-p",
              text,
              "--temperature",
              "0",
              "-n",
              Integer.toString(golden.getAsJsonArray("greedy_tokens").size()),
              "--json",
              "--cache",
              cache.toString());
      assertWithMessage("%s: %s", file, result.err()).that(result.exit()).isEqualTo(0);
      JsonObject json = JsonParser.parseString(result.out()).getAsJsonObject();
      assertWithMessage("%s prompt ids", file)
          .that(json.get("prompt_ids"))
          .isEqualTo(golden.get("prompt"));
      assertWithMessage("%s generated ids", file)
          .that(json.get("generated_ids"))
          .isEqualTo(golden.get("greedy_tokens"));
      assertThat(json.get("text").getAsString()).isNotEmpty();
    }
  }

  @Test
  void textStreamsToStandardOutput() {
    Path gguf = Repository.bundledTiny().resolve("gguf/model-f32.gguf");
    Result result =
        kiln(
            "run",
            "-m",
            gguf.toString(),
            "-p",
            "一丁",
            "--temperature",
            "0.7",
            "--seed",
            "5",
            "-n",
            "6",
            "--cache",
            cache.toString());
    assertWithMessage(result.err()).that(result.exit()).isEqualTo(0);
    assertThat(result.out()).startsWith("一丁");
    assertThat(result.err()).contains("generated 6 tokens");
    Result again =
        kiln(
            "run",
            "-m",
            gguf.toString(),
            "-p",
            "一丁",
            "--temperature",
            "0.7",
            "--seed",
            "5",
            "-n",
            "6",
            "--cache",
            cache.toString());
    assertThat(again.out()).isEqualTo(result.out()); // seeded sampling is reproducible
  }

  @Test
  void aModelWithoutTokenizerOrChatTemplateIsAClearError() {
    Path tiny = Repository.bundledTiny();
    Result noTokenizer =
        kiln("run", "-m", tiny.resolve("hf").toString(), "-p", "一", "--cache", cache.toString());
    assertThat(noTokenizer.exit()).isEqualTo(1);
    assertThat(noTokenizer.err()).contains("no tokenizer found");
    Result noTemplate =
        kiln(
            "run",
            "-m",
            tiny.resolve("gguf/model-f32.gguf").toString(),
            "--chat",
            "-p",
            "一",
            "--cache",
            cache.toString());
    assertThat(noTemplate.exit()).isEqualTo(1);
    assertThat(noTemplate.err()).contains("kiln: ");
    Result badSampling =
        kiln(
            "run",
            "-m",
            tiny.resolve("gguf/model-f32.gguf").toString(),
            "-p",
            "一",
            "--top-p",
            "1.5",
            "--cache",
            cache.toString());
    assertThat(badSampling.exit()).isEqualTo(1);
    assertThat(badSampling.err()).contains("top");
  }

  @Tag("slow")
  @Test
  void benchOnAFileAndOnRandomWeightsOfAShape() {
    Result onFile =
        kiln(
            "bench",
            Repository.bundledTiny().resolve("gguf/model-f16.gguf").toString(),
            "--prompt",
            "8",
            "--decode",
            "4",
            "--interpreter-steps",
            "1",
            "--cache",
            cache.toString());
    assertWithMessage(onFile.err()).that(onFile.exit()).isEqualTo(0);
    assertThat(onFile.out()).contains("prefill tok/s");
    assertThat(onFile.out()).containsMatch("(?m)^F16 ");
    Result random =
        kiln(
            "bench",
            "--random",
            "vocab=96,hidden=64,intermediate=128,layers=1,heads=2",
            "--types",
            "F32,Q4_0",
            "--prompt",
            "8",
            "--decode",
            "4",
            "--interpreter-steps",
            "0",
            "--batches",
            "1",
            "--profile",
            "--cache",
            cache.toString());
    assertWithMessage(random.err()).that(random.exit()).isEqualTo(0);
    assertThat(random.out()).containsMatch("(?m)^F32 ");
    assertThat(random.out()).containsMatch("(?m)^Q4_0 ");
    // --profile: each kernel of the specialized decoder, per prefill and per step
    assertThat(random.out()).contains("Q4_0 decode batch 1, ms per step:");
    assertThat(random.out()).containsMatch("(?m)^  fusedAttention +1\\.0 calls");
    Result bad = kiln("bench", "--random", "vocab=96,hidden=64", "--cache", cache.toString());
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.err()).contains("missing intermediate, layers, heads");
  }

  @Test
  void chatTemplateNames() {
    assertThat(ModelFileOptions.template("llama2")).isEqualTo(ChatTemplate.LLAMA_2);
    assertThat(ModelFileOptions.template("Llama-3")).isEqualTo(ChatTemplate.LLAMA_3);
    assertThat(ModelFileOptions.template("chatml")).isEqualTo(ChatTemplate.CHATML);
    assertThat(ModelFileOptions.template("qwen3")).isEqualTo(ChatTemplate.QWEN_3);
    assertThat(ModelFileOptions.template("qwen-3")).isEqualTo(ChatTemplate.QWEN_3);
    assertThat(ModelFileOptions.template("gemma")).isEqualTo(ChatTemplate.GEMMA);
    assertThat(ModelFileOptions.template("MISTRAL")).isEqualTo(ChatTemplate.MISTRAL);
    var unknown =
        assertThrows(InvalidInputException.class, () -> ModelFileOptions.template("vicuna"));
    assertThat(unknown)
        .hasMessageThat()
        .isEqualTo("--chat-template vicuna: use llama2, llama3, chatml, qwen3, gemma or mistral");
    // A named format runs (the tiny model's tokenizer has <s> and </s>).
    Result chat =
        kiln(
            "run",
            "-m",
            Repository.bundledTiny().resolve("gguf/model-f32.gguf").toString(),
            "--chat",
            "-p",
            "一丁",
            "--chat-template",
            "mistral",
            "-n",
            "2",
            "--temperature",
            "0",
            "--cache",
            cache.toString());
    assertWithMessage(chat.err()).that(chat.exit()).isEqualTo(0);
  }

  /**
   * A format whose special tokens the vocabulary lacks is a one-line error naming them, not a
   * prompt of unknown tokens: the tiny model's minimal tokenizer has {@code <s>} and {@code </s>}
   * only.
   */
  @Test
  void aChatFormatWhoseSpecialTokensTheModelLacksIsAnError() {
    String gguf = Repository.bundledTiny().resolve("gguf/model-f32.gguf").toString();
    Object[][] cases = {
      {
        "gemma",
        "kiln: --chat-template gemma: this model's vocabulary has no <bos>, <start_of_turn>, <end_of_turn>"
            + " tokens (the format's special tokens would be read as plain text); use a format the model was trained"
            + " with"
      },
      {
        "llama3",
        "kiln: --chat-template llama3: this model's vocabulary has no <|begin_of_text|>,"
            + " <|start_header_id|>, <|end_header_id|>, <|eot_id|> tokens"
      },
      {
        "chatml",
        "kiln: --chat-template chatml: this model's vocabulary has no <|im_start|>, <|im_end|> tokens"
      },
      {
        "qwen3",
        "kiln: --chat-template qwen3: this model's vocabulary has no <|im_start|>, <|im_end|> tokens"
      },
    };
    for (Object[] c : cases) {
      Result chat =
          kiln(
              "run",
              "-m",
              gguf,
              "--chat",
              "-p",
              "一丁",
              "--chat-template",
              (String) c[0],
              "-n",
              "2",
              "--cache",
              cache.toString());
      assertWithMessage("%s: %s", c[0], chat.err()).that(chat.exit()).isEqualTo(1);
      assertThat(chat.err()).contains((String) c[1]);
      assertThat(chat.err().lines().filter(line -> line.startsWith("kiln: ")).count()).isEqualTo(1);
      assertThat(chat.out()).isEmpty();
    }
  }

  @Test
  void aChatKeepsItsKvCacheAcrossTurns() {
    var original = System.in;
    System.setIn(
        new java.io.ByteArrayInputStream(
            "一丁\n七丁\n\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    try {
      Result chat =
          kiln(
              "run",
              "-m",
              Repository.bundledTiny().resolve("gguf/model-f32.gguf").toString(),
              "--chat",
              "--chat-template",
              "llama2",
              "-n",
              "4",
              "--temperature",
              "0",
              "--cache",
              cache.toString());
      assertWithMessage(chat.err()).that(chat.exit()).isEqualTo(0);
      assertThat(chat.err())
          .contains("[turn 1: 19 prompt tokens, 0 of them already in the KV cache]");
      // Turn 2 renders the whole conversation again; what the cache already holds is not fed again.
      assertThat(chat.err())
          .containsMatch(
              "\\[turn 2: \\d+ prompt tokens, (1[0-9]|[2-9][0-9]) of them already in the KV cache\\]");
    } finally {
      System.setIn(original);
    }
  }

  /** Turns are counted by the user's messages: a --system message is not a turn. */
  @Test
  void aSystemMessageIsNotATurn() {
    var original = System.in;
    System.setIn(
        new java.io.ByteArrayInputStream(
            "一丁\n七丁\n\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    try {
      Result chat =
          kiln(
              "run",
              "-m",
              Repository.bundledTiny().resolve("gguf/model-f32.gguf").toString(),
              "--chat",
              "--system",
              "万",
              "--chat-template",
              "mistral",
              "-n",
              "2",
              "--temperature",
              "0",
              "--cache",
              cache.toString());
      assertWithMessage(chat.err()).that(chat.exit()).isEqualTo(0);
      assertThat(chat.err()).contains("[turn 1: ");
      assertThat(chat.err()).contains("[turn 2: ");
      assertThat(chat.err()).doesNotContain("[turn 3: ");
    } finally {
      System.setIn(original);
    }
    Result one =
        kiln(
            "run",
            "-m",
            Repository.bundledTiny().resolve("gguf/model-f32.gguf").toString(),
            "--chat",
            "--system",
            "万",
            "-p",
            "一丁",
            "--chat-template",
            "llama2",
            "-n",
            "2",
            "--temperature",
            "0",
            "--cache",
            cache.toString());
    assertWithMessage(one.err()).that(one.exit()).isEqualTo(0);
    assertThat(one.err()).contains("[turn 1: ");
    assertThat(one.err()).doesNotContain("[turn 2: ");
  }
}
