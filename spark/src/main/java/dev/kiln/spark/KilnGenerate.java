package dev.kiln.spark;

import dev.kiln.KilnException;
import dev.kiln.server.BatchGenerator;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;

/**
 * Batch generation with Kiln on every executor of a Spark job.
 *
 * <pre>{@code
 * Dataset<Row> out = KilnGenerate.on(prompts)          // any Dataset with a string column
 *     .model("/shared/models/model.gguf")               // a path every executor reads, or shipModel(...)
 *     .promptColumn("prompt").outputColumn("completion")
 *     .maxTokens(64)                                    // greedy unless temperature(...) is set
 *     .run();                                           // + completion, finish_reason, prompt_tokens, completion_tokens, error
 * }</pre>
 *
 * <p>Each executor JVM opens the model once (memory-mapped; the specialized decoder compiled once
 * and cached) and shares it between its tasks: one scheduler batches the prompts of every task
 * running there on a decoder of {@link #batchSize} slots, refilling a slot as soon as its sequence
 * ends. A row's completion does not depend on its partition or its batch neighbours (greedy, or
 * seeded sampling). A bad row (null, invalid text, a prompt longer than the context) gets an {@code
 * error} value and {@code finish_reason = "error"}, unless {@link #failFast} is set.
 *
 * <p>For SQL, {@link #register} makes the same generation a UDF that returns a struct of those
 * columns (one row at a time per task; use {@link #run()} for throughput).
 */
public final class KilnGenerate {
  /** Columns {@link #run()} appends: the completion, then these. */
  public static final List<String> STATUS_COLUMNS =
      List.of("finish_reason", "prompt_tokens", "completion_tokens", "error");

  static final int ADDED_COLUMNS = 1 + 4;

  private final Dataset<?> dataset;
  private String model;
  private int batchSize = 4;
  private int context;
  private String backend = "java";
  private String cacheDir;
  private String tokenizer;
  private int prefillChunk = BatchGenerator.DEFAULT_PREFILL_CHUNK;
  private String promptColumn = "prompt";
  private String outputColumn = "completion";
  private int maxTokens = 128;
  private double temperature;
  private int topK = 40;
  private double topP = 0.95;
  private double minP = 0.05;
  private double repeatPenalty = 1.0;
  private long seed;
  private String seedColumn;
  private List<String> stops = List.of();
  private boolean chat;
  private String system;
  private boolean failFast;

  private KilnGenerate(Dataset<?> dataset) {
    this.dataset = dataset;
  }

  /**
   * Generation over {@code dataset}'s prompt column; {@link #run()} returns it with the completion
   * columns.
   */
  public static KilnGenerate on(Dataset<?> dataset) {
    return new KilnGenerate(Objects.requireNonNull(dataset, "dataset"));
  }

  /** Generation for a SQL function: set it up, then {@link #register} it. */
  public static KilnGenerate udf() {
    return new KilnGenerate(null);
  }

  /**
   * The model file (GGUF, Hugging Face folder or {@code .safetensors}, llama2.c {@code .bin}): a
   * path every executor can read (a shared filesystem), or the name of a file shipped with {@code
   * SparkContext.addFile}. An executor that finds neither fails its task, saying so.
   */
  public KilnGenerate model(String path) {
    this.model = Objects.requireNonNull(path, "model");
    return this;
  }

  /**
   * Ships a model file on the driver's machine to every executor ({@code SparkContext.addFile}) and
   * uses the copies.
   */
  public KilnGenerate shipModel(SparkSession spark, String localPath) {
    spark.sparkContext().addFile(localPath);
    this.model = Path.of(localPath).getFileName().toString();
    return this;
  }

  /** Sequences one executor decodes together, the slots of its scheduler (default 4). */
  public KilnGenerate batchSize(int sequences) {
    this.batchSize = sequences;
    return this;
  }

  /** Positions a sequence may hold, prompt and completion (default: the model's, up to 4096). */
  public KilnGenerate context(int positions) {
    this.context = positions;
    return this;
  }

  /** {@code java} (a decoder specialized to the model, the default) or {@code interpreter}. */
  public KilnGenerate backend(String backend) {
    this.backend = Objects.requireNonNull(backend);
    return this;
  }

  /**
   * Where executors cache specialized decoders (default {@code $KILN_CACHE}, else {@code
   * ~/.cache/kiln}).
   */
  public KilnGenerate cacheDir(String dir) {
    this.cacheDir = dir;
    return this;
  }

  /** A tokenizer file for a model without one (a path on executors, or a shipped file's name). */
  public KilnGenerate tokenizer(String path) {
    this.tokenizer = path;
    return this;
  }

  /** Prompt tokens a slot reads per decoder step (default 256). */
  public KilnGenerate prefillChunk(int tokens) {
    this.prefillChunk = tokens;
    return this;
  }

  /** The string column of prompts (default {@code prompt}). */
  public KilnGenerate promptColumn(String column) {
    this.promptColumn = Objects.requireNonNull(column);
    return this;
  }

  /** The column of completions (default {@code completion}). */
  public KilnGenerate outputColumn(String column) {
    this.outputColumn = Objects.requireNonNull(column);
    return this;
  }

  /**
   * Tokens to generate at most per row (default 128); a stop token, a stop string or a full context
   * end it sooner.
   */
  public KilnGenerate maxTokens(int tokens) {
    this.maxTokens = tokens;
    return this;
  }

  /** Sampling temperature; 0 (the default) is greedy. */
  public KilnGenerate temperature(double value) {
    this.temperature = value;
    return this;
  }

  /** Top-k of the sampler (default 40, 0 = off); used when the temperature is above 0. */
  public KilnGenerate topK(int k) {
    this.topK = k;
    return this;
  }

  /** Top-p of the sampler (default 0.95). */
  public KilnGenerate topP(double p) {
    this.topP = p;
    return this;
  }

  /** Min-p of the sampler (default 0.05). */
  public KilnGenerate minP(double p) {
    this.minP = p;
    return this;
  }

  /** Repetition penalty over the last 64 tokens (default 1, off). */
  public KilnGenerate repeatPenalty(double penalty) {
    this.repeatPenalty = penalty;
    return this;
  }

  /** The sampling seed of every row (default 0), so a rerun gives the same completions. */
  public KilnGenerate seed(long seed) {
    this.seed = seed;
    return this;
  }

  /** A numeric column holding each row's seed (a null value: {@link #seed}'s). */
  public KilnGenerate seedColumn(String column) {
    this.seedColumn = column;
    return this;
  }

  /** Texts that end a completion (not included in it). */
  public KilnGenerate stop(String... texts) {
    this.stops = List.of(texts);
    return this;
  }

  /**
   * Each prompt as the user turn of a chat, in the model's chat format (default: plain text, as
   * {@code kiln run -p}).
   */
  public KilnGenerate chat(boolean chat) {
    this.chat = chat;
    return this;
  }

  /** A system message before each chat prompt (turns {@link #chat} on). */
  public KilnGenerate system(String text) {
    this.system = text;
    this.chat = text != null || chat;
    return this;
  }

  /** Fail the job on the first bad row instead of giving it an error value (default off). */
  public KilnGenerate failFast(boolean failFast) {
    this.failFast = failFast;
    return this;
  }

  /** The settings, checked here on the driver so a wrong value fails before any task runs. */
  GenerateSettings settings() {
    if (model == null) {
      throw new KilnException("kiln-spark: no model; call model(path) or shipModel(spark, path)");
    }
    if (batchSize < 1) {
      throw new KilnException("kiln-spark: batchSize must be at least 1, was " + batchSize);
    }
    if (context < 0) {
      throw new KilnException("kiln-spark: context must be positive, was " + context);
    }
    if (maxTokens < 1) {
      throw new KilnException("kiln-spark: maxTokens must be at least 1, was " + maxTokens);
    }
    if (prefillChunk < 1) {
      throw new KilnException("kiln-spark: prefillChunk must be at least 1, was " + prefillChunk);
    }
    if (!backend.equals("java") && !backend.equals("interpreter")) {
      throw new KilnException(
          "kiln-spark: unknown backend " + backend + "; use java or interpreter");
    }
    GenerateSettings settings =
        new GenerateSettings(
            new GenerateSettings.ModelKey(
                model, batchSize, context, backend, cacheDir, tokenizer, prefillChunk),
            promptColumn,
            outputColumn,
            maxTokens,
            temperature,
            topK,
            topP,
            minP,
            repeatPenalty,
            seed,
            seedColumn,
            List.copyOf(stops),
            chat,
            system,
            failFast);
    try {
      settings.sampler(seed); // the sampler's own checks (temperature, top-p, ...)
    } catch (RuntimeException e) {
      throw new KilnException("kiln-spark: " + e.getMessage(), e);
    }
    return settings;
  }

  /** The schema {@link #run()} returns: {@code input}'s columns, then the completion's. */
  StructType outputSchema(StructType input) {
    for (String name : columns()) {
      if (Arrays.asList(input.fieldNames()).contains(name)) {
        throw new KilnException(
            "kiln-spark: the dataset already has a column "
                + name
                + "; the output adds "
                + columns()
                + " (rename it, or choose another outputColumn)");
      }
    }
    return input
        .add(outputColumn, DataTypes.StringType, true)
        .add("finish_reason", DataTypes.StringType, false)
        .add("prompt_tokens", DataTypes.IntegerType, false)
        .add("completion_tokens", DataTypes.IntegerType, false)
        .add("error", DataTypes.StringType, true);
  }

  private List<String> columns() {
    return List.of(
        outputColumn,
        STATUS_COLUMNS.get(0),
        STATUS_COLUMNS.get(1),
        STATUS_COLUMNS.get(2),
        STATUS_COLUMNS.get(3));
  }

  /**
   * The dataset with, per row, the completion ({@link #outputColumn}, null on error), {@code
   * finish_reason} ({@code stop}, {@code length} or {@code error}), {@code prompt_tokens}, {@code
   * completion_tokens} and {@code error} (null unless the row failed). Rows keep their partitions
   * and order. Lazy, as Spark's transformations are: generation runs when an action does.
   */
  public Dataset<Row> run() {
    if (dataset == null) {
      throw new KilnException(
          "kiln-spark: run() needs a dataset (KilnGenerate.on(dataset)); udf() is for register");
    }
    GenerateSettings settings = settings();
    Dataset<Row> frame = dataset.toDF();
    StructType schema = frame.schema();
    int promptIndex = fieldIndex(schema, promptColumn);
    DataType promptType = schema.fields()[promptIndex].dataType();
    if (!(promptType instanceof StringType)) {
      throw new KilnException(
          "kiln-spark: the prompt column "
              + promptColumn
              + " is "
              + promptType.simpleString()
              + ", not a string");
    }
    int seedIndex = -1;
    if (seedColumn != null) {
      seedIndex = fieldIndex(schema, seedColumn);
      DataType seedType = schema.fields()[seedIndex].dataType();
      if (!(seedType instanceof LongType
          || seedType instanceof IntegerType
          || seedType instanceof ShortType)) {
        throw new KilnException(
            "kiln-spark: the seed column "
                + seedColumn
                + " is "
                + seedType.simpleString()
                + ", not an integer type");
      }
    }
    MapPartitionsFunction<Row, Row> function =
        new PartitionGenerator(settings, promptIndex, seedIndex);
    return frame.mapPartitions(function, Encoders.row(outputSchema(schema)));
  }

  private static int fieldIndex(StructType schema, String column) {
    List<String> names = Arrays.asList(schema.fieldNames());
    int index = names.indexOf(column);
    if (index < 0) {
      throw new KilnException(
          "kiln-spark: no column " + column + " in the dataset (it has " + names + ")");
    }
    return index;
  }

  /**
   * The struct the SQL function returns: the completion (named {@link #outputColumn}) and the
   * status columns.
   */
  public StructType udfType() {
    return outputSchema(new StructType());
  }

  /**
   * Registers a SQL function {@code name(prompt)} (or {@code name(prompt, seed)} with a {@link
   * #seedColumn}, which names no column here: the second argument is the seed) that returns the
   * struct {@link #udfType()}: {@code SELECT name(prompt).completion FROM t}.
   */
  public void register(SparkSession spark, String name) {
    GenerateSettings settings = settings();
    StructType type = udfType();
    if (seedColumn == null) {
      spark
          .udf()
          .register(
              name,
              (UDF1<String, Row>) prompt -> generateOne(settings, prompt, settings.seed()),
              type);
    } else {
      spark
          .udf()
          .register(
              name,
              (org.apache.spark.sql.api.java.UDF2<String, Long, Row>)
                  (prompt, rowSeed) ->
                      generateOne(settings, prompt, rowSeed == null ? settings.seed() : rowSeed),
              type);
    }
  }

  private static Row generateOne(GenerateSettings settings, String prompt, long seed)
      throws InterruptedException {
    ExecutorModels.Shared shared = ExecutorModels.get(settings.model());
    BatchGenerator.Completion completion = Rows.submit(shared, settings, prompt, seed).await();
    if (completion.error() != null && settings.failFast()) {
      throw new KilnException(
          "kiln-spark: generation failed (failFast is on): " + completion.error());
    }
    return RowFactory.create(
        completion.text(),
        completion.finishReason(),
        completion.promptTokens(),
        completion.completionTokens(),
        completion.error());
  }

  /** Times this JVM opened a model for Kiln on Spark (in local mode the driver is the executor). */
  public static int modelOpens() {
    return ExecutorModels.opens();
  }

  /** Closes the models this JVM opened (their schedulers stop; the next task opens them again). */
  public static void closeModels() {
    ExecutorModels.closeAll();
  }
}
