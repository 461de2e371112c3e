package dev.kiln.cli;

import dev.kiln.InvalidInputException;
import dev.kiln.bench.BenchOptions;
import dev.kiln.bench.BenchRunner;
import dev.kiln.model.Specializer;
import dev.kiln.model.TornadoBridge;
import dev.kiln.spec.ResolvedSpec;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln bench}: the CPU benchmark on a model file, or on random weights of a given shape. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Measures prefill and decode tokens/s, bytes per token and achieved vs measured read bandwidth, and"
            + " the speedup over the interpreter, on a model file's weights or on random weights of a shape.")
final class BenchCommand implements Callable<Integer> {
  @Parameters(
      paramLabel = "FILE",
      arity = "0..1",
      description = "A model file (its own weights and types).")
  Path file;

  @Option(
      names = "--random",
      paramLabel = "SHAPE",
      description =
          "Random weights instead: stories110m, llama1b, llama3.2-1b, or"
              + " vocab=V,hidden=H,intermediate=I,layers=L,heads=A[,kv-heads=K][,context=C]")
  String random;

  @Option(
      names = "--types",
      split = ",",
      description = "With --random: weight types (default F32,F16,Q8_0,Q4_0).")
  List<String> types;

  @Option(
      names = "--prompt",
      defaultValue = "128",
      description = "Prompt tokens for prefill (default ${DEFAULT-VALUE}).")
  int prompt;

  @Option(
      names = "--decode",
      defaultValue = "64",
      description = "Decode steps timed (default ${DEFAULT-VALUE}).")
  int decode;

  @Option(names = "--batches", split = ",", description = "Decode batch sizes (default 1,4).")
  List<Integer> batches;

  @Option(
      names = "--repeats",
      defaultValue = "3",
      description =
          "Timed passes of prefill and of each decode; the"
              + " fastest counts (default ${DEFAULT-VALUE}).")
  int repeats;

  @Option(
      names = "--interpreter-steps",
      defaultValue = "2",
      description = "Interpreter steps timed (0 skips).")
  int interpreterSteps;

  @Option(names = "--markdown", description = "Also write the report as markdown here.")
  Path markdown;

  @Option(
      names = "--profile",
      description =
          "Also time each kernel of the specialized decoder, per prefill and per" + " decode step.")
  boolean profile;

  @Option(
      names = "--backend",
      defaultValue = "java",
      description =
          "java (specialized) or tornado (the TornadoVM"
              + " decoder on --device; the Java one, with a warning, where TornadoVM cannot run).")
  String backend;

  @Mixin Kiln.Common common = new Kiln.Common();

  @Mixin Kiln.SpecOverrides overrides = new Kiln.SpecOverrides();

  @Spec CommandSpec command;

  @Override
  public Integer call() throws Exception {
    common.apply();
    PrintWriter out = command.commandLine().getOut();
    PrintWriter err = command.commandLine().getErr();
    if ((file == null) == (random == null)) {
      throw new InvalidInputException("give a model FILE or --random SHAPE");
    }
    if (random != null && overrides.given()) {
      throw new InvalidInputException(
          "--rope-theta and --rms-eps are for a llama2.c model FILE, not --random");
    }
    List<String> args =
        new ArrayList<>(
            List.of(
                "--prompt=" + prompt,
                "--decode=" + decode,
                "--repeats=" + repeats,
                "--interpreter-steps=" + interpreterSteps));
    if (types != null) {
      args.add("--types=" + String.join(",", types));
    }
    if (batches != null) {
      args.add("--batches=" + String.join(",", batches.stream().map(String::valueOf).toList()));
    }
    if (common.threads != null) {
      args.add("--threads=" + common.threads);
    }
    if (profile) {
      args.add("--profile=true");
    }
    BenchOptions options;
    try {
      options = BenchOptions.parse(args.toArray(String[]::new));
    } catch (IllegalArgumentException e) {
      throw new InvalidInputException(e.getMessage());
    }
    int maxBatch =
        options.batches.isEmpty()
            ? 4
            : options.batches.stream().mapToInt(Integer::intValue).max().orElse(1);
    PrintStream log =
        new PrintStream(
            new java.io.OutputStream() {
              @Override
              public void write(int b) {
                err.write(b);
              }

              @Override
              public void write(byte[] b, int off, int len) {
                err.write(new String(b, off, len, StandardCharsets.UTF_8));
                err.flush();
              }
            },
            true,
            StandardCharsets.UTF_8);
    BenchRunner.Report report;
    Specializer specializer = new Specializer(common.cacheRoot(), err::println);
    if (!backend.equals("java") && !backend.equals("tornado")) {
      throw new InvalidInputException("--backend " + backend + ": bench runs java or tornado");
    }
    boolean tornado = LoadedModel.backendOrFallback(backend, err::println).equals("tornado");
    if (file != null) {
      int context = Math.max(options.prompt + options.decode + 8, 16);
      LoadedModel loaded =
          LoadedModel.open(
              file,
              overrides,
              context,
              maxBatch,
              null,
              common.cacheRoot(),
              err::println,
              err::println);
      var specialized = specializer.specialize(loaded.spec(), tornado);
      report =
          BenchRunner.run(
              new BenchRunner.Model(
                  file.getFileName().toString(),
                  loaded.spec(),
                  w -> described(specialized.create(w), err)),
              loaded.weights(),
              options,
              log);
    } else {
      ResolvedSpec spec = shape(random, maxBatch);
      var specialized = specializer.specialize(spec, tornado);
      report =
          BenchRunner.run(
              new BenchRunner.Model(random, spec, w -> described(specialized.create(w), err)),
              options,
              log);
    }
    out.println();
    out.print(report.text());
    out.flush();
    if (markdown != null) {
      Files.writeString(markdown, report.markdown());
      err.println("markdown written to " + markdown);
    }
    return 0;
  }

  /**
   * The decoder, after printing which TornadoVM device and layout it runs on (if it is a TornadoVM
   * one).
   */
  private static dev.kiln.Decoder described(dev.kiln.Decoder decoder, PrintWriter err) {
    TornadoBridge.describe(decoder).ifPresent(err::println);
    err.flush();
    return decoder;
  }

  /** A preset or {@code key=value} list as a spec with {@code batch} sequences. */
  static ResolvedSpec shape(String text, int batch) {
    ResolvedSpec.Builder builder =
        switch (text.toLowerCase(Locale.ROOT)) {
          case "stories110m" ->
              ResolvedSpec.builder()
                  .vocabSize(32000)
                  .hiddenSize(768)
                  .intermediateSize(2048)
                  .numHiddenLayers(12)
                  .numAttentionHeads(12)
                  .maxPositionEmbeddings(1024)
                  .rmsNormEps(1e-5);
          case "llama1b" ->
              ResolvedSpec.builder()
                  .vocabSize(32000)
                  .hiddenSize(2048)
                  .intermediateSize(5632)
                  .numHiddenLayers(22)
                  .numAttentionHeads(32)
                  .numKeyValueHeads(4)
                  .maxPositionEmbeddings(2048)
                  .rmsNormEps(1e-5);
          // Llama-3.2-1B's shape (GPULlama3.java's reference model): tied embeddings, 128256
          // tokens, its RoPE scaling
          case "llama3.2-1b" ->
              ResolvedSpec.builder()
                  .vocabSize(128256)
                  .hiddenSize(2048)
                  .intermediateSize(8192)
                  .numHiddenLayers(16)
                  .numAttentionHeads(32)
                  .numKeyValueHeads(8)
                  .maxPositionEmbeddings(2048)
                  .rmsNormEps(1e-5)
                  .ropeTheta(500000)
                  .tieWordEmbeddings(true)
                  .ropeScaling(dev.kiln.RopeScaling.LLAMA3)
                  .ropeScalingFactor(32)
                  .ropeScalingLowFreqFactor(1)
                  .ropeScalingHighFreqFactor(4)
                  .ropeScalingOriginalMaxPositionEmbeddings(8192);
          default -> custom(text);
        };
    try {
      return builder.maxBatchSize(batch).build();
    } catch (RuntimeException e) {
      throw new InvalidInputException("--random " + text + ": " + e.getMessage());
    }
  }

  private static ResolvedSpec.Builder custom(String text) {
    ResolvedSpec.Builder builder =
        ResolvedSpec.builder().maxPositionEmbeddings(1024).rmsNormEps(1e-5);
    List<String> required =
        new ArrayList<>(List.of("vocab", "hidden", "intermediate", "layers", "heads"));
    for (String part : text.split(",")) {
      String[] kv = part.split("=", 2);
      if (kv.length != 2) {
        throw new InvalidInputException(
            "--random: expected stories110m, llama1b, llama3.2-1b or key=value pairs, got '"
                + part
                + "'");
      }
      int value;
      try {
        value = Integer.parseInt(kv[1].trim());
      } catch (NumberFormatException e) {
        throw new InvalidInputException(
            "--random: " + kv[0] + " needs a whole number, got '" + kv[1] + "'");
      }
      String key = kv[0].trim().toLowerCase(Locale.ROOT);
      required.remove(key);
      switch (key) {
        case "vocab" -> builder.vocabSize(value);
        case "hidden" -> builder.hiddenSize(value);
        case "intermediate" -> builder.intermediateSize(value);
        case "layers" -> builder.numHiddenLayers(value);
        case "heads" -> builder.numAttentionHeads(value);
        case "kv-heads" -> builder.numKeyValueHeads(value);
        case "head-dim" -> builder.headDim(value);
        case "context" -> builder.maxPositionEmbeddings(value);
        default ->
            throw new InvalidInputException(
                "--random: unknown key "
                    + key
                    + " (vocab, hidden, intermediate, layers, heads, kv-heads, head-dim, context)");
      }
    }
    if (!required.isEmpty()) {
      throw new InvalidInputException("--random: missing " + String.join(", ", required));
    }
    return builder;
  }
}
