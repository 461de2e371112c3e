package dev.kiln.spark;

import dev.kiln.KilnException;
import dev.kiln.model.KilnModel;
import dev.kiln.server.BatchGenerator;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkFiles;

/**
 * The models of this JVM (an executor, or the driver in local mode): each opened once, on first use
 * by a task, and shared by every later task, with one {@link BatchGenerator} that batches all of
 * their prompts together. Opening memory-maps the file and loads (or once compiles) the specialized
 * decoder; nothing is closed until {@link #closeAll()} or the JVM ends.
 */
final class ExecutorModels {
  /** An open model and the scheduler over its batched decoder. */
  record Shared(KilnModel model, BatchGenerator generator) {}

  private static final Map<GenerateSettings.ModelKey, Shared> MODELS = new ConcurrentHashMap<>();
  private static final Map<GenerateSettings.ModelKey, AtomicInteger> OPENS =
      new ConcurrentHashMap<>();

  private ExecutorModels() {}

  /** The shared model of {@code key}, opened now if this JVM has not opened it yet. */
  static Shared get(GenerateSettings.ModelKey key) {
    Shared shared = MODELS.get(key);
    if (shared != null) {
      return shared;
    }
    synchronized (ExecutorModels.class) {
      return MODELS.computeIfAbsent(key, ExecutorModels::open);
    }
  }

  /** Times this JVM opened a model (the test's counter: once per key, whatever the tasks). */
  static int opens() {
    return OPENS.values().stream().mapToInt(AtomicInteger::get).sum();
  }

  static int opens(GenerateSettings.ModelKey key) {
    AtomicInteger count = OPENS.get(key);
    return count == null ? 0 : count.get();
  }

  /** Closes every model's scheduler (tests; a driver that reuses its JVM). */
  static synchronized void closeAll() {
    for (GenerateSettings.ModelKey key : MODELS.keySet()) {
      Shared shared = MODELS.remove(key);
      if (shared != null) {
        shared.generator().close();
      }
    }
  }

  private static Shared open(GenerateSettings.ModelKey key) {
    Path file = locate(key.path());
    long start = System.nanoTime();
    KilnModel.Options options =
        KilnModel.options().batchSize(key.batchSize()).backend(key.backend());
    if (key.context() > 0) {
      options.context(key.context());
    }
    if (key.cacheDir() != null) {
      options.cacheRoot(Path.of(key.cacheDir()));
    }
    if (key.tokenizer() != null) {
      options.tokenizer(locate(key.tokenizer()));
    }
    KilnModel model;
    try {
      model = KilnModel.open(file, options);
      model.tokenizer(); // load it now: a missing tokenizer is an error of the model, not of a row
    } catch (KilnException e) {
      throw new KilnException(
          "kiln-spark: " + host() + " cannot open the model " + file + ": " + e.getMessage(), e);
    }
    OPENS.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    BatchGenerator generator =
        new BatchGenerator(
            model.decoder(),
            key.prefillChunk(),
            message -> System.err.println("kiln-spark: " + message));
    System.err.printf(
        Locale.ROOT,
        "kiln-spark: %s opened %s (%s backend, %d slots, context %d) in %.1f s%n",
        host(),
        file,
        key.backend(),
        key.batchSize(),
        model.spec().maxPositionEmbeddings(),
        (System.nanoTime() - start) / 1e9);
    return new Shared(model, generator);
  }

  /**
   * The file an executor opens for {@code path}: the path itself when this machine has it (a shared
   * filesystem), else the copy {@code SparkContext.addFile} shipped under its file name.
   */
  static Path locate(String path) {
    String local = path.startsWith("file:") ? Path.of(java.net.URI.create(path)).toString() : path;
    Path direct = Path.of(local);
    if (Files.exists(direct)) {
      return direct;
    }
    String shipped = null;
    try {
      Path candidate = Path.of(SparkFiles.get(direct.getFileName().toString()));
      if (Files.exists(candidate)) {
        return candidate;
      }
      shipped = candidate.toString();
    } catch (RuntimeException e) {
      // no SparkEnv here (not in a Spark JVM): only the direct path counts
    }
    throw new KilnException(
        "kiln-spark: "
            + host()
            + " cannot open the model "
            + path
            + ": no such file here"
            + (shipped == null
                ? ""
                : " and none shipped with SparkContext.addFile (looked for " + shipped + ")")
            + "; put the model on a filesystem every executor reads at that path, or ship it with"
            + " KilnGenerate.shipModel(path) / sparkContext.addFile(path)");
  }

  private static String host() {
    try {
      return "executor " + InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "this executor";
    }
  }
}
