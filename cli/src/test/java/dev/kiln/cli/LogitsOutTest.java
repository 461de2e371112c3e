package dev.kiln.cli;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.cli.CliTest.Result;
import dev.kiln.testing.Golden;
import dev.kiln.testing.Repository;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln run --logits-out FILE}: the raw logits of a run as little-endian float32, a row per
 * prompt position and then a row per decode step, against the golden logits of the bundled {@code
 * tiny} conformance model; errors before generation, and no partial file.
 */
class LogitsOutTest {
  @TempDir static Path cache;

  @TempDir Path dir;

  static final double ATOL = 1e-4;

  private static final Path TINY = Repository.bundledTiny();
  private static final String GGUF = TINY.resolve("gguf/model-f32.gguf").toString();

  private static JsonObject golden() throws IOException {
    return Golden.json(TINY);
  }

  private static String ids(JsonArray array) {
    return IntStream.range(0, array.size())
        .mapToObj(i -> Integer.toString(array.get(i).getAsInt()))
        .collect(Collectors.joining(","));
  }

  /** A file of little-endian float32 as rows of {@code vocab}. */
  static float[][] rows(Path file, int vocab) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    assertWithMessage("%s: %s bytes, whole rows of %s float32", file, bytes.length, vocab)
        .that(bytes.length % (vocab * Float.BYTES))
        .isEqualTo(0);
    var floats = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    float[][] rows = new float[bytes.length / (vocab * Float.BYTES)][vocab];
    for (float[] row : rows) {
      floats.get(row);
    }
    return rows;
  }

  private static void assertRowsClose(
      float[][] actual, float[][] expected, int count, String what) {
    for (int r = 0; r < count; r++) {
      for (int v = 0; v < expected[r].length; v++) {
        assertWithMessage("%s: row %s, logit %s", what, r, v)
            .that((double) actual[r][v])
            .isWithin(ATOL)
            .of(expected[r][v]);
      }
    }
  }

  private static Result run(String... args) {
    List<String> all = new ArrayList<>(List.of("run"));
    all.addAll(List.of(args));
    all.addAll(List.of("--cache", cache.toString()));
    return CliTest.kiln(all.toArray(String[]::new));
  }

  private static int argmax(float[] row) {
    int best = 0;
    for (int i = 1; i < row.length; i++) {
      if (row[i] > row[best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * The golden prompt, 8 greedy tokens: 8 prompt rows, then 7 decode rows (the 8th token is sampled
   * from the 7th and is not fed back), the golden file's first 15 rows; each generated token is the
   * argmax of the row it was sampled from. With 9 tokens the file is the whole golden file.
   */
  @Test
  void greedyRunsGiveTheGoldenLogitsRowByRow() throws IOException {
    JsonObject golden = golden();
    int vocab = golden.getAsJsonObject("config").get("vocab_size").getAsInt();
    int promptLength = golden.getAsJsonArray("prompt").size();
    float[][] expected = rows(TINY.resolve("golden_logits_kvcache.f32"), vocab);
    assertThat(expected.length).isEqualTo(promptLength + golden.get("n_decode_steps").getAsInt());

    Path file = dir.resolve("logits.f32");
    Result result =
        run(
            "-m",
            GGUF,
            "--prompt-ids",
            ids(golden.getAsJsonArray("prompt")),
            "-n",
            "8",
            "--temperature",
            "0",
            "--json",
            "--logits-out",
            file.toString());
    assertWithMessage("stderr: %s", result.err()).that(result.exit()).isEqualTo(0);
    float[][] written = rows(file, vocab);
    assertThat(written.length).isEqualTo(promptLength + 8 - 1);
    assertRowsClose(written, expected, written.length, "-n 8");
    JsonObject json = JsonParser.parseString(result.out()).getAsJsonObject();
    JsonObject logits = json.getAsJsonObject("logits_out");
    assertThat(logits.get("path").getAsString()).isEqualTo(file.toString());
    assertThat(logits.get("rows").getAsInt()).isEqualTo(15);
    assertThat(logits.get("vocab").getAsInt()).isEqualTo(vocab);
    JsonArray generated = json.getAsJsonArray("generated_ids");
    for (int k = 0; k < generated.size(); k++) {
      assertWithMessage("token %s", k)
          .that(argmax(written[promptLength - 1 + k]))
          .isEqualTo(generated.get(k).getAsInt());
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.toList()).containsExactly(file); // no temporary file left
    }

    Result nine =
        run(
            "-m",
            GGUF,
            "--prompt-ids",
            ids(golden.getAsJsonArray("prompt")),
            "-n",
            "9",
            "--logits-out",
            file.toString()); // replaces the file
    assertWithMessage("stderr: %s", nine.err()).that(nine.exit()).isEqualTo(0);
    assertThat(nine.err()).contains("[logits: 16 rows of 64 float32 written to " + file + "]");
    float[][] all = rows(file, vocab);
    assertThat(all.length).isEqualTo(expected.length);
    assertRowsClose(all, expected, all.length, "-n 9");
  }

  /**
   * A text prompt (tokenized as the golden prompt) gives the same rows; and rows are the raw
   * logits, before the sampler: with temperature 0.5 and a repetition penalty the prompt rows, the
   * first of which decides the first token, are still the golden ones.
   */
  @Test
  void aTextPromptAndSamplingWriteTheRawLogits() throws IOException {
    JsonObject golden = golden();
    int promptLength = golden.getAsJsonArray("prompt").size();
    float[][] expected = rows(TINY.resolve("golden_logits_kvcache.f32"), 64);
    StringBuilder text =
        new StringBuilder(); // after BOS and the space token, id i >= 4 is U+4E00 + (i - 4)
    for (int i = 2; i < promptLength; i++) {
      text.appendCodePoint(0x4E00 + golden.getAsJsonArray("prompt").get(i).getAsInt() - 4);
    }
    Path greedy = dir.resolve("greedy.f32");
    Result result =
        run(
            "-m",
            GGUF,
            "-p",
            text.toString(),
            "-n",
            "8",
            "--temperature",
            "0",
            "--json",
            "--logits-out",
            greedy.toString());
    assertWithMessage("stderr: %s", result.err()).that(result.exit()).isEqualTo(0);
    JsonObject json = JsonParser.parseString(result.out()).getAsJsonObject();
    assertThat(json.get("prompt_ids")).isEqualTo(golden.get("prompt"));
    int generated = json.getAsJsonArray("generated_ids").size();
    assertThat(json.getAsJsonObject("logits_out").get("rows").getAsInt())
        .isEqualTo(promptLength + generated - 1);
    float[][] written = rows(greedy, 64);
    assertThat(written.length).isEqualTo(promptLength + generated - 1);
    assertRowsClose(written, expected, written.length, "text prompt");

    // -n 0: the prompt rows alone, from either kind of prompt.
    for (List<String> prompt :
        List.of(
            List.of("-p", text.toString()),
            List.of("--prompt-ids", ids(golden.getAsJsonArray("prompt"))))) {
      Path only = dir.resolve("prompt-only.f32");
      List<String> args =
          new ArrayList<>(List.of("-m", GGUF, "-n", "0", "--logits-out", only.toString()));
      args.addAll(prompt);
      Result none = run(args.toArray(String[]::new));
      assertWithMessage("%s: stderr %s", prompt, none.err()).that(none.exit()).isEqualTo(0);
      float[][] promptRows = rows(only, 64);
      assertWithMessage("%s", prompt).that(promptRows.length).isEqualTo(promptLength);
      assertRowsClose(promptRows, expected, promptLength, "-n 0 " + prompt.getFirst());
    }

    Path sampled = dir.resolve("sampled.f32");
    Result hot =
        run(
            "-m",
            GGUF,
            "--prompt-ids",
            ids(golden.getAsJsonArray("prompt")),
            "-n",
            "4",
            "--temperature",
            "0.5",
            "--repeat-penalty",
            "1.3",
            "--seed",
            "7",
            "--logits-out",
            sampled.toString());
    assertWithMessage("stderr: %s", hot.err()).that(hot.exit()).isEqualTo(0);
    float[][] raw = rows(sampled, 64);
    assertThat(raw.length).isEqualTo(promptLength + 3);
    assertRowsClose(raw, expected, promptLength, "sampled run's prompt rows");
  }

  /** A path that cannot be written is a one-line error before the model is even loaded. */
  @Test
  void aPathThatCannotBeWrittenIsAnErrorBeforeGeneration() throws IOException {
    Path noFolder = dir.resolve("no/such/folder/logits.f32");
    Object[][] cases = {
      {noFolder, "kiln: --logits-out " + noFolder + ": no such folder " + noFolder.getParent()},
      {dir, "kiln: --logits-out " + dir + ": is a folder"},
    };
    for (Object[] c : cases) {
      Result result =
          run("-m", GGUF, "--prompt-ids", "1,3,15", "-n", "4", "--logits-out", c[0].toString());
      assertWithMessage("%s: stderr %s", c[0], result.err()).that(result.exit()).isEqualTo(1);
      assertThat(result.err())
          .isEqualTo(c[1] + System.lineSeparator()); // one line, and nothing loaded before it
      assertThat(result.out()).isEmpty();
    }
    assertThat(Files.exists(dir.resolve("no"))).isFalse();
    Result chat =
        run("-m", GGUF, "--chat", "-p", "一", "--logits-out", dir.resolve("chat.f32").toString());
    assertThat(chat.exit()).isEqualTo(1);
    assertThat(chat.err())
        .isEqualTo(
            "kiln: --logits-out works with --prompt or --prompt-ids, not --chat"
                + System.lineSeparator());
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.toList()).isEmpty();
    }
  }

  /** A run that fails after the file was opened leaves no file, and an existing one as it was. */
  @Test
  void aFailedRunWritesNothing() throws IOException {
    Path file = dir.resolve("logits.f32");
    Result failed = run("-m", GGUF, "--prompt-ids", "1,999", "--logits-out", file.toString());
    assertThat(failed.exit()).isEqualTo(1);
    assertThat(failed.err()).contains("outside the vocabulary");
    assertThat(Files.exists(file)).isFalse();
    Files.writeString(file, "earlier");
    Result again =
        run("-m", GGUF, "--prompt-ids", "1,3", "--logits-out", file.toString(), "--context", "128");
    assertThat(again.exit()).isEqualTo(1);
    assertThat(Files.readString(file)).isEqualTo("earlier");
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.toList()).containsExactly(file);
    }
  }
}
