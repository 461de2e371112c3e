package dev.kiln.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Whole-model benchmark: generated decoders of a real model's shape over random weights of each
 * weight type, against the machine's read bandwidth measured in the same run. Run it with
 * {@code ./mvnw -q -Pbench -DskipTests verify -Dbench.args="--model=stories110m --threads=2"}; see
 * {@link #USAGE} for the options and {@link BenchRunner} for what is measured.
 *
 * <p>This class only parses the command line (it touches no Kiln class), so that {@code --threads}
 * can set the system property {@code kiln.threads} before any Kiln class is initialized.
 */
public final class Bench {
  static final String USAGE = """
      Usage: Bench [--key=value ...]
        --model=stories110m       stories110m (llama2.c 110M shape), llama1b (TinyLlama-1.1B shape),
                                  or the seed toys seedllama and seedsinglehead (for quick checks)
        --types=F32,F16,Q8_0,Q4_0 weight types of the matrices (F32, F16, BF16, Q8_0, Q4_0)
        --threads=N               sets the system property kiln.threads (before Kiln loads) and the
                                  read-bandwidth threads; default: kiln.threads if set, else all cores
        --prompt=128              prompt length for prefill; decode starts after it
        --decode=64               decode steps timed per batch size
        --batches=1,4             batch sizes for decode (default: 1 and 4, as far as maxBatchSize allows)
        --warmup=1                untimed prefill + 8 decode steps before measuring, per type
        --interpreter-steps=2     decode steps of the reference interpreter timed per type (0 = skip)
        --bandwidth-mib=1024      buffer the read-bandwidth kernel streams (keep it well above the L3 cache)
        --bandwidth-passes=5      passes of the read-bandwidth kernel (the best is reported)
        --seed=42                 seed of the random weights and prompts
        --markdown=PATH           also write the report as markdown to PATH
        --help                    this text
      """;

  private Bench() {}

  /** What to measure; plain values only, so parsing loads no Kiln class. */
  static final class Options {
    String model = "stories110m";
    List<String> types = List.of("F32", "F16", "Q8_0", "Q4_0");
    /** Null: not given (kiln.threads as set, or unset). */
    Integer threads;
    int prompt = 128;
    int decode = 64;
    /** Empty: 1 and 4, as far as the model's maxBatchSize allows. */
    List<Integer> batches = List.of();
    int warmup = 1;
    int interpreterSteps = 2;
    long bandwidthMib = 1024;
    int bandwidthPasses = 5;
    long seed = 42;
    Path markdown;

    /** Parses {@code --key=value} arguments over the defaults; throws IllegalArgumentException on bad input. */
    static Options parse(String... args) {
      Options o = new Options();
      for (String arg : args) {
        if (arg.isBlank()) {
          continue;
        }
        int eq = arg.indexOf('=');
        if (!arg.startsWith("--") || eq < 0) {
          throw new IllegalArgumentException("expected --key=value, got '" + arg + "'");
        }
        String key = arg.substring(2, eq);
        String value = arg.substring(eq + 1).trim();
        switch (key) {
          case "model" -> o.model = value.toLowerCase(Locale.ROOT);
          case "types" -> o.types = list(value).stream().map(t -> t.toUpperCase(Locale.ROOT)).toList();
          case "threads" -> o.threads = positive(key, value);
          case "prompt" -> o.prompt = positive(key, value);
          case "decode" -> o.decode = positive(key, value);
          case "batches" -> o.batches = list(value).stream().map(b -> positive(key, b)).toList();
          case "warmup" -> o.warmup = nonNegative(key, value);
          case "interpreter-steps" -> o.interpreterSteps = nonNegative(key, value);
          case "bandwidth-mib" -> o.bandwidthMib = positive(key, value);
          case "bandwidth-passes" -> o.bandwidthPasses = positive(key, value);
          case "seed" -> o.seed = number(key, value);
          case "markdown" -> o.markdown = Path.of(value);
          default -> throw new IllegalArgumentException("unknown option --" + key);
        }
      }
      if (o.types.isEmpty()) {
        throw new IllegalArgumentException("--types names no type");
      }
      return o;
    }

    private static List<String> list(String value) {
      List<String> items = new ArrayList<>();
      for (String item : value.split(",")) {
        if (!item.isBlank()) {
          items.add(item.trim());
        }
      }
      return List.copyOf(items);
    }

    private static long number(String key, String value) {
      try {
        return Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--" + key + " needs a number, got '" + value + "'");
      }
    }

    private static int nonNegative(String key, String value) {
      long n = number(key, value);
      if (n < 0 || n > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("--" + key + " must be at least 0, got " + value);
      }
      return (int) n;
    }

    private static int positive(String key, String value) {
      int n = nonNegative(key, value);
      if (n == 0) {
        throw new IllegalArgumentException("--" + key + " must be positive, got " + value);
      }
      return n;
    }
  }

  public static void main(String[] args) throws IOException {
    for (String arg : args) {
      if (arg.equals("--help") || arg.equals("-h")) {
        System.out.print(USAGE);
        return;
      }
    }
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("Bench: " + e.getMessage());
      System.err.print(USAGE);
      System.exit(2);
      return;
    }
    if (options.threads != null) {
      // Before any Kiln class is initialized: the runtime reads it once.
      System.setProperty("kiln.threads", Integer.toString(options.threads));
    }
    try {
      run(options, System.out);
    } catch (IllegalArgumentException e) { // a model, type or size the options ask for that does not exist or fit
      System.err.println("Bench: " + e.getMessage() + " (--help lists the options)");
      System.exit(2);
    }
  }

  /** Runs the benchmark, prints the report, and writes it as markdown when asked. */
  static void run(Options options, PrintStream out) throws IOException {
    BenchRunner.Report report = BenchRunner.run(options, out);
    out.println();
    out.print(report.text());
    if (options.markdown != null) {
      Path parent = options.markdown.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      Files.writeString(options.markdown, report.markdown());
      out.println("markdown written to " + options.markdown);
    }
  }
}
