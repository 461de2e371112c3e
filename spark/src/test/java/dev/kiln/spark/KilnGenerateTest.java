package dev.kiln.spark;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kiln on Spark in local[2]: completions of a few dozen prompts in 1, 2 and 5 partitions equal
 * {@code kiln run}'s, greedy and seeded; the model is opened once in the JVM; bad rows give error
 * values (or fail the job with failFast); the SQL function; a model executors cannot find; a
 * shipped model.
 */
@Tag("slow")
class KilnGenerateTest {
  private static final int MAX_TOKENS = 12;
  private static final StructType SCHEMA =
      new StructType()
          .add("id", DataTypes.LongType, false)
          .add("prompt", DataTypes.StringType, true);

  static SparkSession spark;
  static List<String> prompts;

  @BeforeAll
  static void start() {
    spark = TestSupport.session("kiln-spark-test");
    prompts = TestSupport.prompts(TestSupport.tiny(), 36, 7);
  }

  @AfterAll
  static void stop() {
    KilnGenerate.closeModels();
    if (spark != null) {
      spark.stop();
    }
  }

  private static Dataset<Row> dataset(List<String> texts, int partitions) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      rows.add(RowFactory.create((long) i, texts.get(i)));
    }
    return spark.createDataFrame(rows, SCHEMA).repartition(partitions);
  }

  private static KilnGenerate tiny(Dataset<Row> data) {
    return KilnGenerate.on(data)
        .model(TestSupport.tiny().toString())
        .cacheDir(TestSupport.cache().toString())
        .batchSize(4)
        .maxTokens(MAX_TOKENS);
  }

  /** id -> row of the output, checking its partition count on the way. */
  private static Map<Long, Row> byId(Dataset<Row> out, int partitions) {
    assertThat(out.rdd().getNumPartitions()).isEqualTo(partitions);
    Map<Long, Row> rows = new HashMap<>();
    for (Row row : out.collectAsList()) {
      rows.put(row.getLong(row.fieldIndex("id")), row);
    }
    return rows;
  }

  private static String finishReason(String kilnRunStop) {
    return switch (kilnRunStop) {
      case "max_tokens", "context_full" -> "length";
      default -> "stop";
    };
  }

  private static void assertEqualsKilnRun(
      Path model, Map<Long, Row> rows, List<String> texts, String... extra) {
    assertThat(rows).hasSize(texts.size());
    for (int i = 0; i < texts.size(); i++) {
      Row row = rows.get((long) i);
      String[] args = extra.length == 0 ? new String[] {"--temperature", "0"} : extra.clone();
      for (int a = 0; a < args.length; a++) {
        args[a] = args[a].replace("{id}", Integer.toString(i));
      }
      TestSupport.Reference expected = TestSupport.kilnRun(model, texts.get(i), MAX_TOKENS, args);
      assertWithMessage("row %s (%s): error", i, texts.get(i))
          .that(row.<String>getAs("error"))
          .isNull();
      assertWithMessage("row %s (%s)", i, texts.get(i))
          .that(row.<String>getAs("completion"))
          .isEqualTo(expected.text());
      assertWithMessage("row %s", i)
          .that(row.<String>getAs("finish_reason"))
          .isEqualTo(finishReason(expected.stop()));
      assertWithMessage("row %s", i)
          .that(row.<Integer>getAs("completion_tokens"))
          .isEqualTo(expected.ids().size());
      assertThat(row.<Integer>getAs("prompt_tokens")).isGreaterThan(0);
    }
  }

  @Test
  void greedyAndSeededCompletionsEqualKilnRunInAnyPartitioning() {
    int opensBefore = ExecutorModels.opens();
    GenerateSettings.ModelKey key = tiny(dataset(prompts, 1)).settings().model();
    int keyOpensBefore = ExecutorModels.opens(key);
    Map<Long, Row> first = null;
    for (int partitions : new int[] {1, 2, 5}) {
      Map<Long, Row> greedy = byId(tiny(dataset(prompts, partitions)).run(), partitions);
      if (first == null) {
        assertEqualsKilnRun(TestSupport.tiny(), greedy, prompts);
        first = greedy;
      } else {
        for (long id : first.keySet()) {
          assertWithMessage("greedy row %s in %s partitions", id, partitions)
              .that(greedy.get(id))
              .isEqualTo(first.get(id));
        }
      }
    }
    // Seeded sampling, each row with its own seed (its id): the same in any partitioning, and kiln
    // run's.
    Map<Long, Row> firstSampled = null;
    for (int partitions : new int[] {1, 2, 5}) {
      Dataset<Row> out = tiny(dataset(prompts, partitions)).temperature(0.9).seedColumn("id").run();
      Map<Long, Row> sampled = byId(out, partitions);
      if (firstSampled == null) {
        assertEqualsKilnRun(
            TestSupport.tiny(),
            sampled,
            prompts,
            "--temperature",
            "0.9",
            "--seed",
            "{id}",
            "--top-k",
            "40",
            "--top-p",
            "0.95",
            "--min-p",
            "0.05",
            "--repeat-penalty",
            "1");
        firstSampled = sampled;
      } else {
        for (long id : firstSampled.keySet()) {
          assertWithMessage("sampled row %s in %s partitions", id, partitions)
              .that(sampled.get(id))
              .isEqualTo(firstSampled.get(id));
        }
      }
    }
    // One model per JVM: opened by the first task (unless an earlier test did), shared by the
    // tasks of all six jobs (16 tasks) and their two task threads.
    assertThat(ExecutorModels.opens() - opensBefore).isAtMost(1);
    assertThat(ExecutorModels.opens(key) - keyOpensBefore).isAtMost(1);
    assertThat(ExecutorModels.opens(key)).isAtLeast(1);
    assertThat(KilnGenerate.modelOpens()).isEqualTo(ExecutorModels.opens());
  }

  @Test
  void badRowsGetErrorValuesUnlessFailFast() {
    List<String> texts = new ArrayList<>(prompts.subList(0, 6));
    texts.add(String.join("", prompts)); // far longer than the tiny model's 64 positions
    texts.add(null);
    texts.add("ab\u0000cd"); // a NUL character (Spark itself turns unpaired surrogates into "?")
    texts.add(prompts.get(6));
    Map<Long, Row> rows = byId(tiny(dataset(texts, 3)).run(), 3);
    assertThat(rows.get(6L).<String>getAs("error")).contains("context holds 64 positions");
    assertThat(rows.get(6L).<Integer>getAs("prompt_tokens")).isGreaterThan(64);
    assertThat(rows.get(7L).<String>getAs("error")).isEqualTo("the prompt is null");
    assertThat(rows.get(8L).<String>getAs("error")).contains("a NUL character at index 2");
    for (long bad = 6; bad <= 8; bad++) {
      assertThat(rows.get(bad).<String>getAs("finish_reason")).isEqualTo("error");
      assertThat(rows.get(bad).<String>getAs("completion")).isNull();
    }
    for (long good : new long[] {0, 1, 2, 3, 4, 5, 9}) {
      assertWithMessage("row %s", good).that(rows.get(good).<String>getAs("error")).isNull();
      assertThat(rows.get(good).<String>getAs("completion")).isNotNull();
    }
    Exception failed =
        assertThrows(
            Exception.class, () -> tiny(dataset(texts, 3)).failFast(true).run().collectAsList());
    assertThat(messages(failed)).contains("failFast is on");
  }

  @Test
  void sqlFunctionGivesTheSameCompletions() {
    KilnGenerate.udf()
        .model(TestSupport.tiny().toString())
        .cacheDir(TestSupport.cache().toString())
        .batchSize(4)
        .maxTokens(MAX_TOKENS)
        .register(spark, "kiln_generate");
    dataset(prompts.subList(0, 8), 2).createOrReplaceTempView("prompts");
    List<Row> rows =
        spark.sql("SELECT id, kiln_generate(prompt) AS g FROM prompts").collectAsList();
    Map<Long, Row> expected = byId(tiny(dataset(prompts.subList(0, 8), 2)).run(), 2);
    assertThat(rows).hasSize(8);
    for (Row row : rows) {
      Row g = row.getStruct(1);
      Row want = expected.get(row.getLong(0));
      assertThat(g.<String>getAs("completion")).isEqualTo(want.getAs("completion"));
      assertThat(g.<String>getAs("finish_reason")).isEqualTo(want.getAs("finish_reason"));
      assertThat(g.<Integer>getAs("completion_tokens")).isEqualTo(want.getAs("completion_tokens"));
    }
    Row bad = spark.sql("SELECT kiln_generate(CAST(NULL AS STRING)) AS g").first().getStruct(0);
    assertThat(bad.<String>getAs("error")).isEqualTo("the prompt is null");
  }

  @Test
  void aModelExecutorsCannotOpenIsAClearError(@TempDir Path dir) throws Exception {
    Dataset<Row> data = dataset(prompts.subList(0, 4), 2);
    Exception missing =
        assertThrows(
            Exception.class,
            () -> tiny(data).model(dir.resolve("nowhere.gguf").toString()).run().collectAsList());
    assertThat(messages(missing)).contains("cannot open the model " + dir.resolve("nowhere.gguf"));
    assertThat(messages(missing)).contains("SparkContext.addFile");
    Path junk = Files.writeString(dir.resolve("junk.gguf"), "not a model");
    Exception unreadable =
        assertThrows(
            Exception.class, () -> tiny(data).model(junk.toString()).run().collectAsList());
    assertThat(messages(unreadable)).contains("cannot open the model " + junk);
    // The wrong column, found on the driver before any task.
    assertThat(
            assertThrows(Exception.class, () -> tiny(data).promptColumn("text").run()).getMessage())
        .contains("no column text");
  }

  @Test
  void aShippedModelIsFoundBesideEachExecutor(@TempDir Path dir) throws Exception {
    Path copy = Files.copy(TestSupport.tiny(), dir.resolve("shipped-tiny.gguf"));
    Dataset<Row> data = dataset(prompts.subList(0, 6), 2);
    KilnGenerate shipped = tiny(data).shipModel(spark, copy.toString());
    assertThat(shipped.settings().model().path()).isEqualTo("shipped-tiny.gguf");
    Map<Long, Row> rows = byId(shipped.run(), 2);
    Map<Long, Row> direct = byId(tiny(data).run(), 2);
    for (long id = 0; id < 6; id++) {
      assertThat(rows.get(id).<String>getAs("completion"))
          .isEqualTo(direct.get(id).getAs("completion"));
    }
  }

  @Test
  void conformanceModelCompletionsEqualKilnRun() {
    Path root = TestSupport.conformance().orElse(null);
    Assumptions.assumeTrue(root != null, "no -Dkiln.conformance: the gqa model is not checked");
    Path gqa = root.resolve("gqa/gguf/model-f32.gguf");
    List<String> texts = TestSupport.prompts(gqa, 24, 11);
    Map<Long, Row> first = null;
    for (int partitions : new int[] {1, 2, 5}) {
      Dataset<Row> out =
          KilnGenerate.on(dataset(texts, partitions))
              .model(gqa.toString())
              .cacheDir(TestSupport.cache().toString())
              .batchSize(4)
              .maxTokens(MAX_TOKENS)
              .run();
      Map<Long, Row> rows = byId(out, partitions);
      if (first == null) {
        assertEqualsKilnRun(gqa, rows, texts);
        first = rows;
      } else {
        assertThat(rows).isEqualTo(first);
      }
    }
  }

  private static String messages(Throwable e) {
    StringBuilder all = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      all.append(t.getMessage()).append('\n');
    }
    return all.toString();
  }
}
