package dev.kiln.spark;

import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.cli.Kiln;
import dev.kiln.model.KilnModel;
import dev.kiln.testing.Repository;
import dev.kiln.testing.SharedConformance;
import dev.kiln.tokenizer.TokenType;
import dev.kiln.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.apache.spark.sql.SparkSession;

/** The models, prompts, reference runs and Spark session the tests share. */
final class TestSupport {
  private TestSupport() {}

  /** The bundled tiny conformance model (context 64). */
  static Path tiny() {
    return Repository.bundledTiny().resolve("gguf/model-f32.gguf");
  }

  /** The specialization cache of the tests. */
  static Path cache() {
    return Repository.root().resolve("spark/target/kiln-cache");
  }

  /**
   * The shared conformance folder given as {@code -Dkiln.conformance=DIR}: empty when not given
   * (the tests that need it are skipped), a failure when given but wrong.
   */
  static Optional<Path> conformance() {
    return SharedConformance.GQA_GGUF.root();
  }

  /** A local[2] session: two task threads in this JVM, which is also the one executor. */
  static SparkSession session(String name) {
    return SparkSession.builder()
        .master("local[2]")
        .appName(name)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate();
  }

  /**
   * {@code count} seeded prompts of 2 to 13 ordinary tokens of {@code model}'s vocabulary, as text.
   */
  static List<String> prompts(Path model, int count, long seed) {
    Tokenizer tokenizer =
        KilnModel.open(model, KilnModel.options().backend("interpreter")).tokenizer();
    List<Integer> normal = new ArrayList<>();
    for (int id = 0; id < tokenizer.vocabSize(); id++) {
      if (tokenizer.tokenType(id) == TokenType.NORMAL) {
        normal.add(id);
      }
    }
    Random random = new Random(seed);
    List<String> prompts = new ArrayList<>();
    while (prompts.size() < count) {
      int[] ids = new int[2 + random.nextInt(12)];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = normal.get(random.nextInt(normal.size()));
      }
      String text = tokenizer.decode(ids).strip();
      if (!text.isEmpty() && !prompts.contains(text)) {
        prompts.add(text);
      }
    }
    return prompts;
  }

  /** What {@code kiln run --json} prints: the generated text and ids, and why it stopped. */
  record Reference(String text, List<Integer> ids, String stop) {}

  /** {@code kiln run -m model -p prompt -n maxTokens ...extra --json}, in-process. */
  static Reference kilnRun(Path model, String prompt, int maxTokens, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "run",
                "-m",
                model.toString(),
                "-p",
                prompt,
                "-n",
                Integer.toString(maxTokens),
                "--json",
                "--cache",
                cache().toString()));
    args.addAll(List.of(extra));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        Kiln.execute(
            args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
    assertWithMessage("kiln %s: %s", args, err).that(exit).isEqualTo(0);
    JsonObject json = JsonParser.parseString(out.toString()).getAsJsonObject();
    JsonArray generated = json.getAsJsonArray("generated_ids");
    List<Integer> ids = new ArrayList<>();
    generated.forEach(id -> ids.add(id.getAsInt()));
    return new Reference(json.get("text").getAsString(), ids, json.get("stop").getAsString());
  }
}
