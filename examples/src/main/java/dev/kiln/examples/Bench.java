package dev.kiln.examples;

import dev.kiln.bench.BenchOptions;
import dev.kiln.bench.BenchRunner;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whole-model benchmark: generated decoders of a real model's shape over random weights of each
 * weight type, against the machine's read bandwidth measured in the same run. Run it with {@code
 * ./mvnw -q -Pbench -DskipTests verify -Dbench.args="--model=stories110m --threads=2"}; see {@link
 * #USAGE} for the options and {@link BenchRunner} for what is measured.
 *
 * <p>This class only parses the command line (it touches no Kiln class), so that {@code --threads}
 * can set the system property {@code kiln.threads} before any Kiln class is initialized.
 */
public final class Bench {
  static final String USAGE =
      """
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
        --repeats=3               timed passes of prefill and of each decode (the fastest counts)
        --interpreter-steps=2     decode steps of the reference interpreter timed per type (0 = skip)
        --bandwidth-mib=1024      buffer the read-bandwidth kernel streams (keep it well above the L3 cache)
        --bandwidth-passes=5      passes of the read-bandwidth kernel (the best is reported)
        --seed=42                 seed of the random weights and prompts
        --markdown=PATH           also write the report as markdown to PATH
        --profile=false           true: also time each kernel, per prefill and per decode step
        --help                    this text
      """;

  private Bench() {}

  /** The models of {@code --model}: generated decoders of the example specs. */
  static BenchRunner.Model model(String name) {
    return switch (name) {
      case "stories110m" ->
          new BenchRunner.Model(
              "stories110m",
              Stories110MDecoder.SPEC,
              w -> new Stories110MDecoder(Stories110MWeights.from(w)));
      case "llama1b" ->
          new BenchRunner.Model(
              "llama1b", Llama1BDecoder.SPEC, w -> new Llama1BDecoder(Llama1BWeights.from(w)));
      case "seedllama" ->
          new BenchRunner.Model(
              "seedllama",
              SeedLlamaDecoder.SPEC,
              w -> new SeedLlamaDecoder(SeedLlamaWeights.from(w)));
      case "seedsinglehead" ->
          new BenchRunner.Model(
              "seedsinglehead",
              SeedSingleHeadDecoder.SPEC,
              w -> new SeedSingleHeadDecoder(SeedSingleHeadWeights.from(w)));
      default ->
          throw new IllegalArgumentException(
              "unknown model '" + name + "': stories110m, llama1b, seedllama or seedsinglehead");
    };
  }

  public static void main(String[] args) throws IOException {
    for (String arg : args) {
      if (arg.equals("--help") || arg.equals("-h")) {
        System.out.print(USAGE);
        return;
      }
    }
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
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
    } catch (
        IllegalArgumentException
            e) { // a model, type or size the options ask for that does not exist or fit
      System.err.println("Bench: " + e.getMessage() + " (--help lists the options)");
      System.exit(2);
    }
  }

  /** The report for {@code args} (for tests: no printing beyond {@code log}). */
  static BenchRunner.Report run(String[] args, PrintStream log) {
    BenchOptions options = BenchOptions.parse(args);
    return BenchRunner.run(model(options.model), options, log);
  }

  /** Runs the benchmark, prints the report, and writes it as markdown when asked. */
  static void run(BenchOptions options, PrintStream out) throws IOException {
    BenchRunner.Report report = BenchRunner.run(model(options.model), options, out);
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
