package dev.kiln.examples.spark;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.testing.Repository;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example job as {@code spark-submit} runs it: the packaged jar handed to Spark's {@code
 * SparkSubmit} in a JVM of its own (Spark's jars on its class path, Kiln only in the jar), in
 * local[2], on the bundled prompts and tiny model.
 */
@Tag("slow")
class GenerateJobIT {
  @Test
  void theJarRunsUnderSparkSubmit(@TempDir Path dir) throws Exception {
    Path root = Repository.root();
    Path jar = Path.of(System.getProperty("kiln.exampleJar", "target/kiln-spark-example.jar"));
    assertWithMessage("the shaded jar %s", jar).that(Files.isRegularFile(jar)).isTrue();
    // Spark's class path: this test's, without Kiln (which the job brings in its jar).
    List<String> spark = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!entry.contains("/dev/kiln/") && !Path.of(entry).toAbsolutePath().startsWith(root)) {
        spark.add(entry);
      }
    }
    Path output = dir.resolve("completions");
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-modules",
            "jdk.incubator.vector",
            "--enable-native-access=ALL-UNNAMED",
            "-cp",
            String.join(File.pathSeparator, spark),
            "org.apache.spark.deploy.SparkSubmit",
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.driver.host=127.0.0.1",
            "--conf",
            "spark.driver.bindAddress=127.0.0.1",
            "--class",
            "dev.kiln.examples.spark.GenerateJob",
            jar.toString(),
            "--model",
            root.resolve("examples/src/test/resources/conformance/tiny/gguf/model-f32.gguf")
                .toString(),
            "--input",
            root.resolve("examples/spark/prompts.jsonl").toString(),
            "--output",
            output.toString(),
            "--partitions",
            "2",
            "--max-tokens",
            "8",
            "--cache",
            dir.resolve("cache").toString());
    Path log = dir.resolve("job.log");
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean ended = process.waitFor(5, TimeUnit.MINUTES);
    if (!ended) {
      process.destroyForcibly();
    }
    String text = Files.readString(log, StandardCharsets.UTF_8);
    assertWithMessage("the job ended in time:\n%s", text).that(ended).isTrue();
    assertWithMessage("exit code:\n%s", text).that(process.exitValue()).isEqualTo(0);
    assertThat(text).contains("kiln-generate: 22 rows (2 with errors) in 2 partitions");
    assertThat(text).doesNotContain("the Vector API is not available");

    List<JsonObject> rows = new ArrayList<>();
    try (Stream<Path> parts = Files.list(output)) {
      for (Path part : parts.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
        for (String line : Files.readAllLines(part, StandardCharsets.UTF_8)) {
          rows.add(JsonParser.parseString(line).getAsJsonObject());
        }
      }
    }
    assertThat(rows).hasSize(22);
    for (JsonObject row : rows) {
      long id = row.get("id").getAsLong();
      if (id >= 21) {
        assertWithMessage("row %s", id)
            .that(row.get("finish_reason").getAsString())
            .isEqualTo("error");
        assertThat(row.has("error")).isTrue();
      } else {
        assertWithMessage("row %s", id).that(row.get("completion_tokens").getAsInt()).isEqualTo(8);
        assertThat(row.get("completion").getAsString()).isNotEmpty();
      }
    }
  }
}
