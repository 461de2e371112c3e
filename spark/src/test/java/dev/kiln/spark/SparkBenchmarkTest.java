package dev.kiln.spark;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.GenerationResult;
import dev.kiln.generate.Generator;
import dev.kiln.generate.SamplerChain;
import dev.kiln.model.KilnModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Rows/s and tokens/s of Kiln on Spark in local[2] against a loop that generates the same prompts
 * one after another on a batch-1 decoder (what a plain per-row UDF would do), greedy, with the same
 * completions. The model: {@code -Dkiln.spark.bench.model=PATH}, else the {@code gqa} conformance
 * model with {@code -Dkiln.conformance}, else the bundled tiny one; {@code -Dkiln.spark.bench.rows}
 * (48), {@code .tokens} (32), {@code .batch} (8 slots), {@code .partitions} (4).
 */
@Tag("slow")
class SparkBenchmarkTest {
  static SparkSession spark;

  @AfterAll
  static void stop() {
    KilnGenerate.closeModels();
    if (spark != null) {
      spark.stop();
    }
  }

  private static Path model() {
    String given = System.getProperty("kiln.spark.bench.model", "").trim();
    if (!given.isEmpty()) {
      return Path.of(given);
    }
    return TestSupport.conformance()
        .map(root -> root.resolve("gqa/gguf/model-f32.gguf"))
        .orElse(TestSupport.tiny());
  }

  private static int property(String name, int defaultValue) {
    return Integer.parseInt(
        System.getProperty("kiln.spark.bench." + name, Integer.toString(defaultValue)));
  }

  @Test
  void localSparkAgainstASingleLoop() {
    Path model = model();
    int rows = property("rows", 48);
    int tokens = property("tokens", 32);
    int batch = property("batch", 8);
    int partitions = property("partitions", 4);
    List<String> prompts = TestSupport.prompts(model, rows, 5);

    // The loop: one prompt at a time through a Generator on a batch-1 decoder.
    KilnModel solo = KilnModel.open(model, KilnModel.options().cacheRoot(TestSupport.cache()));
    Generator generator = solo.generator(SamplerChain.greedy());
    GenerationOptions options =
        GenerationOptions.builder()
            .maxTokens(tokens)
            .stopTokens(solo.stopTokens(false))
            .tokenText(solo.tokenizer()::tokenBytes)
            .build();
    List<String> expected = new ArrayList<>();
    long loopTokens = 0;
    long first = System.nanoTime();
    for (String prompt : prompts) {
      GenerationResult result = generator.generate(solo.encode(prompt), options);
      expected.add(result.text());
      loopTokens += result.generatedTokens();
    }

    double firstLoopSeconds = (System.nanoTime() - first) / 1e9;
    long second = System.nanoTime();
    for (String prompt : prompts) {
      generator.generate(solo.encode(prompt), options);
    }
    double secondLoopSeconds = (System.nanoTime() - second) / 1e9;

    // Spark: local[2], the prompts in several partitions, one shared model with `batch` slots.
    spark = TestSupport.session("kiln-spark-bench");
    StructType schema =
        new StructType().add("id", DataTypes.IntegerType).add("prompt", DataTypes.StringType);
    List<Row> input = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      input.add(RowFactory.create(i, prompts.get(i)));
    }
    Dataset<Row> data = spark.createDataFrame(input, schema).repartition(partitions).cache();
    data.count();
    KilnGenerate generate =
        KilnGenerate.on(data)
            .model(model.toString())
            .cacheDir(TestSupport.cache().toString())
            .batchSize(batch)
            .maxTokens(tokens);
    List<Row> out = generate.run().collectAsList(); // opens the model; warms up the batched decoder
    long sparkTokens = 0;
    assertThat(out).hasSize(rows);
    for (Row row : out) {
      int id = row.getInt(0);
      assertWithMessage("row %s", id)
          .that(row.<String>getAs("completion"))
          .isEqualTo(expected.get(id));
      sparkTokens += row.<Integer>getAs("completion_tokens");
    }
    assertThat(sparkTokens).isEqualTo(loopTokens);

    // Timed after both have run once (JIT warm-up); the best of three rounds each, taken in turns,
    // since other load on a shared machine only slows a round down.
    double loopSeconds = Double.MAX_VALUE;
    double sparkSeconds = Double.MAX_VALUE;
    for (int round = 0; round < 3; round++) {
      long start = System.nanoTime();
      for (String prompt : prompts) {
        generator.generate(solo.encode(prompt), options);
      }
      loopSeconds = Math.min(loopSeconds, (System.nanoTime() - start) / 1e9);
      start = System.nanoTime();
      assertThat(generate.run().collectAsList()).hasSize(rows);
      sparkSeconds = Math.min(sparkSeconds, (System.nanoTime() - start) / 1e9);
    }

    String report =
        String.format(
            Locale.ROOT,
            "kiln-spark benchmark: %s, %d prompts, up to %d greedy tokens each%n"
                + "  single loop (batch-1 decoder):        %6.2f s  %7.1f rows/s  %8.1f tokens/s%n"
                + "  Spark local[2], %d partitions, %d slots: %6.2f s  %7.1f rows/s  %8.1f tokens/s  (%.2fx)%n"
                + "  (the loop's first two rounds, before Spark started: %.2f s and %.2f s)%n",
            model.getFileName(),
            rows,
            tokens,
            loopSeconds,
            rows / loopSeconds,
            loopTokens / loopSeconds,
            partitions,
            batch,
            sparkSeconds,
            rows / sparkSeconds,
            sparkTokens / sparkSeconds,
            loopSeconds / sparkSeconds,
            firstLoopSeconds,
            secondLoopSeconds);
    System.out.print(report);
  }
}
