package dev.kiln.examples.spark;

import dev.kiln.spark.KilnGenerate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;

/**
 * A batch generation job: reads prompts (JSON lines with a {@code prompt} field, or a text file of
 * one prompt a line), generates a completion for each with Kiln on every executor, writes the rows
 * with their completions as JSON lines, and reports rows/s and tokens/s.
 *
 * <pre>
 * spark-submit --class dev.kiln.examples.spark.GenerateJob --master local[2] \
 *   examples/spark/target/kiln-spark-example.jar \
 *   --model model.gguf --input prompts.jsonl --output completions/ [--max-tokens 32] [--batch 4]
 * </pre>
 *
 * Options: {@code --master M} (when not run by spark-submit), {@code --model PATH}, {@code --ship}
 * (send the model file from the driver with {@code SparkContext.addFile}), {@code --input PATH},
 * {@code --output DIR} (replaced), {@code --max-tokens N} (32), {@code --batch N} (sequences each
 * executor decodes together, 4), {@code --partitions N} (repartition the input first), {@code
 * --temperature T} (0, greedy), {@code --seed S}, {@code --chat}, {@code --cache DIR} (where
 * executors cache specialized decoders), {@code --fail-fast}.
 */
public final class GenerateJob {
  private GenerateJob() {}

  public static void main(String[] args) {
    String master = null;
    String model = null;
    String input = null;
    String output = null;
    String cache = null;
    boolean ship = false;
    boolean chat = false;
    boolean failFast = false;
    int maxTokens = 32;
    int batch = 4;
    int partitions = 0;
    double temperature = 0;
    long seed = 0;
    List<String> rest = new ArrayList<>(List.of(args));
    while (!rest.isEmpty()) {
      String option = rest.removeFirst();
      switch (option) {
        case "--master" -> master = value(rest, option);
        case "--model" -> model = value(rest, option);
        case "--input" -> input = value(rest, option);
        case "--output" -> output = value(rest, option);
        case "--cache" -> cache = value(rest, option);
        case "--ship" -> ship = true;
        case "--chat" -> chat = true;
        case "--fail-fast" -> failFast = true;
        case "--max-tokens" -> maxTokens = Integer.parseInt(value(rest, option));
        case "--batch" -> batch = Integer.parseInt(value(rest, option));
        case "--partitions" -> partitions = Integer.parseInt(value(rest, option));
        case "--temperature" -> temperature = Double.parseDouble(value(rest, option));
        case "--seed" -> seed = Long.parseLong(value(rest, option));
        default -> usage("unknown option " + option);
      }
    }
    if (model == null || input == null || output == null) {
      usage("--model, --input and --output are required");
    }

    SparkSession.Builder builder = SparkSession.builder().appName("kiln-generate");
    if (master != null) {
      builder.master(master).config("spark.ui.enabled", "false");
    }
    SparkSession spark = builder.getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    try {
      Dataset<Row> prompts =
          input.endsWith(".json") || input.endsWith(".jsonl")
              ? spark.read().json(input)
              : spark.read().text(input).withColumnRenamed("value", "prompt");
      if (partitions > 0) {
        prompts = prompts.repartition(partitions);
      }
      KilnGenerate generate =
          KilnGenerate.on(prompts)
              .promptColumn("prompt")
              .outputColumn("completion")
              .maxTokens(maxTokens)
              .batchSize(batch)
              .temperature(temperature)
              .seed(seed)
              .chat(chat)
              .failFast(failFast);
      if (ship) {
        generate.shipModel(spark, model);
      } else {
        generate.model(model);
      }
      if (cache != null) {
        generate.cacheDir(cache);
      }
      // Kept, so that writing and the summary below do not generate twice.
      Dataset<Row> out = generate.run().persist(StorageLevel.MEMORY_AND_DISK());

      long start = System.nanoTime();
      out.write().mode(SaveMode.Overwrite).json(output);
      double seconds = (System.nanoTime() - start) / 1e9;

      Row summary =
          out.agg(
                  functions.count("*"),
                  functions.count("error"),
                  functions.sum("prompt_tokens"),
                  functions.sum("completion_tokens"))
              .first();
      long rows = summary.getLong(0);
      long errors = summary.getLong(1);
      long promptTokens = summary.isNullAt(2) ? 0 : summary.getLong(2);
      long completionTokens = summary.isNullAt(3) ? 0 : summary.getLong(3);
      out.select("prompt", "completion", "finish_reason", "completion_tokens", "error").show(5, 40);
      System.out.printf(
          Locale.ROOT,
          "kiln-generate: %d rows (%d with errors) in %d partitions, %.2f s: %.1f rows/s,"
              + " %.1f generated tokens/s (%d prompt and %d generated tokens); written to %s%n",
          rows,
          errors,
          out.rdd().getNumPartitions(),
          seconds,
          rows / seconds,
          completionTokens / seconds,
          promptTokens,
          completionTokens,
          output);
      out.unpersist();
    } finally {
      spark.stop();
    }
  }

  private static String value(List<String> rest, String option) {
    if (rest.isEmpty()) {
      usage(option + " needs a value");
    }
    return rest.removeFirst();
  }

  private static void usage(String problem) {
    System.err.println("kiln-generate: " + problem);
    System.err.println(
        "usage: GenerateJob [--master M] --model PATH [--ship] --input PROMPTS.jsonl|.txt --output DIR"
            + " [--max-tokens N] [--batch N] [--partitions N] [--temperature T] [--seed S] [--chat] [--cache DIR]"
            + " [--fail-fast]");
    System.exit(2);
  }
}
