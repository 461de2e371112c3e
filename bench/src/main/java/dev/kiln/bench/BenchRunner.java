package dev.kiln.bench;

import dev.kiln.Decoder;
import dev.kiln.Greedy;
import dev.kiln.interpreter.Interpreter;
import dev.kiln.kernel.GeneratedDecoder;
import dev.kiln.kernel.KernelProfile;
import dev.kiln.kernel.VectorKernels;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.Dtype;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.TensorKind;
import dev.kiln.weights.WeightTensor;
import dev.kiln.weights.Weights;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import jdk.incubator.vector.FloatVector;

/**
 * What the benchmark ({@code Bench} in the examples, {@code kiln bench}) measures, for one model
 * and each weight type:
 *
 * <ul>
 *   <li>prefill: tokens/s of one prompt of {@code --prompt} tokens through {@link Decoder#prefill};
 *   <li>decode at each batch size B: after a prefill of B prompts, {@code --decode} steps feeding
 *       each sequence its argmax; tokens/s counts all B sequences;
 *   <li>each of these timed {@code --repeats} times, the fastest pass counting (other load on the
 *       machine only slows a pass down); the first timed pass (after the {@code --warmup} rounds)
 *       is reported too, in its own columns, since it is often several times slower (the JIT still
 *       compiling the kernels of a path the warm-up did not take, such as batch 4);
 *   <li>bytes read per token: the weight matrices (every 2-D tensor's stored bytes; the embedding
 *       table only when it is tied to the LM head, since a token reads one row of it), shared by
 *       the B sequences of a step, plus each sequence's KV cache at the mean attended length of the
 *       timed steps ({@code 2 x layers x positions x kv_dim x 4});
 *   <li>achieved bandwidth: bytes per token x tokens/s, and its ratio to the machine's read
 *       bandwidth, which {@link ReadBandwidth} measures in the same run with the same threads (at
 *       the start and at the end, taking the better: other load on the machine only lowers it);
 *   <li>the reference interpreter's decode tokens/s on the same weights (a few steps after a
 *       one-token prompt: it is slow) and the generated decoder's speedup over it at batch 1;
 *   <li>with {@code --profile=true}: each kernel's wall time per prefill and per decode step,
 *       summed over the timed passes ({@link KernelProfile}).
 * </ul>
 *
 * Sizes are decimal: MB = 10^6 bytes, GB/s = 10^9 bytes/s. {@link BenchRenderer} writes the
 * report's tables.
 */
public final class BenchRunner {
  /** Steps of each untimed warm-up round, after its prefill. */
  static final int WARMUP_STEPS = 8;

  private BenchRunner() {}

  /** A model the benchmark can build: its spec and its generated decoder over some weights. */
  public record Model(String name, ResolvedSpec spec, Function<Weights, Decoder> decoder) {}

  /** Decode at one batch size. */
  public record DecodeResult(
      int batch,
      int steps,
      double seconds,
      double tokensPerSecond,
      double meanAttended,
      long kvBytesPerToken,
      double bytesPerToken,
      double gbps,
      double ofBandwidth,
      double firstTokensPerSecond) {

    DecodeResult relativeTo(double bandwidthGBps) {
      return new DecodeResult(
          batch,
          steps,
          seconds,
          tokensPerSecond,
          meanAttended,
          kvBytesPerToken,
          bytesPerToken,
          gbps,
          gbps / bandwidthGBps,
          firstTokensPerSecond);
    }
  }

  /** Everything measured for one weight type. */
  public record TypeResult(
      Dtype type,
      double convertSeconds,
      long weightBytesPerStep,
      int promptTokens,
      double prefillSeconds,
      double prefillTokensPerSecond,
      List<DecodeResult> decode,
      int interpreterSteps,
      double interpreterTokensPerSecond,
      List<String> profile,
      double prefillFirstTokensPerSecond) {

    TypeResult relativeTo(double bandwidthGBps) {
      return new TypeResult(
          type,
          convertSeconds,
          weightBytesPerStep,
          promptTokens,
          prefillSeconds,
          prefillTokensPerSecond,
          decode.stream().map(d -> d.relativeTo(bandwidthGBps)).toList(),
          interpreterSteps,
          interpreterTokensPerSecond,
          profile,
          prefillFirstTokensPerSecond);
    }

    public DecodeResult batch(int size) {
      return decode.stream().filter(d -> d.batch() == size).findFirst().orElse(null);
    }

    /**
     * Generated decode tokens/s at batch 1 over the interpreter's, or NaN when either is missing.
     */
    public double speedup() {
      DecodeResult single = batch(1);
      return single == null || interpreterSteps == 0
          ? Double.NaN
          : single.tokensPerSecond() / interpreterTokensPerSecond;
    }
  }

  /** The whole run: context lines, one result per type, and the report as text and markdown. */
  public record Report(
      List<String> context,
      List<TypeResult> results,
      List<Integer> batches,
      String text,
      String markdown) {}

  /** Runs the benchmark for {@code options}, logging progress to {@code log}. */
  public static Report run(Model model, BenchOptions options, PrintStream log) {
    return run(model, null, options, log);
  }

  /**
   * Runs the benchmark on {@code given} weights (a model file's, in its own types) instead of
   * random ones; {@code --types} is ignored then.
   */
  public static Report run(Model model, Weights given, BenchOptions options, PrintStream log) {
    ResolvedSpec spec = model.spec();
    List<Dtype> types =
        given != null
            ? List.of(matrixType(given))
            : options.types.stream().map(BenchRunner::dtype).toList();
    List<Integer> batches = batches(options, spec);
    if (options.prompt + Math.max(options.decode, WARMUP_STEPS) > spec.maxPositionEmbeddings()
        || 1 + options.interpreterSteps > spec.maxPositionEmbeddings()) {
      throw new IllegalArgumentException(
          "--prompt="
              + options.prompt
              + " plus --decode="
              + options.decode
              + " (at least "
              + WARMUP_STEPS
              + " warm-up steps) exceed the model's "
              + spec.maxPositionEmbeddings()
              + " positions");
    }
    String threadsProperty = System.getProperty("kiln.threads");
    int threads =
        threadsProperty != null
            ? Integer.parseInt(threadsProperty.trim())
            : Runtime.getRuntime().availableProcessors();

    List<String> context = new ArrayList<>();
    context.add(
        String.format(
            Locale.ROOT,
            "model %s: vocab %d, hidden %d, intermediate %d, %d layers, %d heads, %d kv heads,"
                + " context %d, %s LM head, maxBatchSize %d; %,d parameters",
            model.name(),
            spec.vocabSize(),
            spec.hiddenSize(),
            spec.intermediateSize(),
            spec.numHiddenLayers(),
            spec.numAttentionHeads(),
            spec.numKeyValueHeads(),
            spec.maxPositionEmbeddings(),
            spec.tieWordEmbeddings() ? "tied" : "untied",
            spec.maxBatchSize(),
            spec.parameterCount()));
    context.add(
        String.format(
            Locale.ROOT,
            "machine: %s, %d cores; Java %s; Vector API %s (%d-bit); kiln.threads=%s",
            cpuName(),
            Runtime.getRuntime().availableProcessors(),
            Runtime.version(),
            VectorKernels.VECTORIZED ? "on" : "off",
            FloatVector.SPECIES_PREFERRED.vectorBitSize(),
            threadsProperty == null ? "(unset)" : threadsProperty));
    context.add(
        String.format(
            Locale.ROOT,
            "prompt %d tokens, decode %d steps per batch size %s, best of %d pass(es),"
                + " warm-up %d round(s), interpreter %d step(s); %s",
            options.prompt,
            options.decode,
            batches,
            options.repeats,
            options.warmup,
            options.interpreterSteps,
            given != null ? "weights of the model file" : "random weights, seed " + options.seed));
    context.forEach(log::println);

    log.printf(
        Locale.ROOT,
        "measuring read bandwidth: %d MiB, %d thread(s), best of %d ...%n",
        options.bandwidthMib,
        threads,
        options.bandwidthPasses);
    double[] before = readBandwidth(options, threads);
    log.printf(
        Locale.ROOT,
        "read bandwidth: %d thread(s) %.1f GB/s%s%n",
        threads,
        before[0],
        threads > 1 ? String.format(Locale.ROOT, ", 1 thread %.1f GB/s", before[1]) : "");

    long start = System.nanoTime();
    Weights base = given != null ? given : Weights.random(spec, options.seed);
    if (given == null) {
      context.add(String.format(Locale.ROOT, "random F32 weights made in %.1f s", seconds(start)));
      log.println(context.getLast());
    }

    List<TypeResult> results = new ArrayList<>();
    for (Dtype type : types) {
      start = System.nanoTime();
      Weights weights = given != null || type == Dtype.F32 ? base : base.withMatrices(type);
      double convertSeconds = seconds(start);
      log.printf(
          Locale.ROOT,
          "%s: weights %.1f MB per step (converted in %.1f s); measuring ...%n",
          type,
          weightBytesPerStep(weights) / 1e6,
          convertSeconds);
      TypeResult result =
          measure(model, weights, type, convertSeconds, batches, options, before[0], log);
      results.add(result);
    }
    base = null; // let the weights go before the second bandwidth measurement
    // Again at the end, since other load on the machine may have held the first figure down; the
    // better of the two is the machine's bandwidth.
    double[] after = readBandwidth(options, threads);
    double bandwidth = Math.max(before[0], after[0]);
    context.add(
        String.format(
            Locale.ROOT,
            "read bandwidth (Vector API sum of a %d MiB off-heap buffer, best of %d passes"
                + " at the start and at the end of the run): %d thread(s) %.1f GB/s (start %.1f, end %.1f)%s; \"of BW\" is"
                + " relative to the %d-thread figure",
            options.bandwidthMib,
            options.bandwidthPasses,
            threads,
            bandwidth,
            before[0],
            after[0],
            threads == 1
                ? ""
                : String.format(
                    Locale.ROOT,
                    ", 1 thread %.1f GB/s (start %.1f, end %.1f)",
                    Math.max(before[1], after[1]),
                    before[1],
                    after[1]),
            threads));
    log.println(context.getLast());
    results = results.stream().map(r -> r.relativeTo(bandwidth)).toList();
    String text = BenchRenderer.text(context, results, batches);
    String markdown = BenchRenderer.markdown(model, context, results, batches);
    return new Report(context, results, batches, text, markdown);
  }

  /**
   * The most common stored type of a model's matrices (what a file's row in the report is called).
   */
  private static Dtype matrixType(Weights weights) {
    var counts = new java.util.EnumMap<Dtype, Long>(Dtype.class);
    weights.tensors().values().stream()
        .filter(t -> t.shape().length == 2)
        .forEach(t -> counts.merge(t.dtype(), t.data().byteSize(), Long::sum));
    return counts.entrySet().stream()
        .max(java.util.Map.Entry.comparingByValue())
        .orElseThrow()
        .getKey();
  }

  /** Best GB/s with {@code threads} threads, then (only when threads > 1, else NaN) with one. */
  private static double[] readBandwidth(BenchOptions options, int threads) {
    long bytes = options.bandwidthMib << 20;
    double all = ReadBandwidth.measure(bytes, threads, options.bandwidthPasses).bestGBps();
    // For reference: what one core streams (a single-threaded kernel's ceiling).
    double one =
        threads > 1
            ? ReadBandwidth.measure(bytes, 1, options.bandwidthPasses).bestGBps()
            : Double.NaN;
    return new double[] {all, one};
  }

  private static Dtype dtype(String name) {
    try {
      return Dtype.valueOf(name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown weight type " + name + ": " + Arrays.toString(Dtype.values()));
    }
  }

  private static List<Integer> batches(BenchOptions options, ResolvedSpec spec) {
    if (options.batches.isEmpty()) {
      return spec.maxBatchSize() >= 4 ? List.of(1, 4) : List.of(1);
    }
    for (int batch : options.batches) {
      if (batch > spec.maxBatchSize()) {
        throw new IllegalArgumentException(
            "--batches: "
                + batch
                + " sequences exceed the model's maxBatchSize "
                + spec.maxBatchSize());
      }
    }
    return options.batches.stream().distinct().toList();
  }

  /**
   * Bytes of weights one decode step reads: every matrix, except the embedding table when the LM
   * head has its own matrix (a token reads one row of the table).
   */
  public static long weightBytesPerStep(Weights weights) {
    long bytes = 0;
    String embedding = GlobalTensor.EMBED_TOKENS.hfName();
    for (var entry : weights.tensors().entrySet()) {
      WeightTensor tensor = entry.getValue();
      boolean untiedEmbedding =
          entry.getKey().equals(embedding) && !weights.spec().tieWordEmbeddings();
      if (tensor.shape().length == 2 && !untiedEmbedding) {
        bytes += tensor.data().byteSize();
      }
    }
    return bytes;
  }

  /** Measures one weight type (see the class comment). */
  static TypeResult measure(
      Model model,
      Weights weights,
      Dtype type,
      double convertSeconds,
      List<Integer> batches,
      BenchOptions options,
      double bandwidthGBps,
      PrintStream log) {
    ResolvedSpec spec = model.spec();
    Decoder decoder = model.decoder().apply(weights);
    long weightBytes = weightBytesPerStep(weights);
    var random = new SplittableRandom(options.seed);
    int maxBatch = batches.stream().mapToInt(Integer::intValue).max().orElse(1);
    int[][] prompts = new int[Math.max(maxBatch, 1)][];
    for (int s = 0; s < prompts.length; s++) {
      prompts[s] = random.ints(options.prompt, 0, spec.vocabSize()).toArray();
    }

    if (options.warmup > 0 && decoder instanceof GeneratedDecoder generated) {
      // Every shape the passes below use (prefill of 1 and maxBatch prompts, decode at 1 and
      // maxBatch),
      // and more rounds while the JIT is still compiling.
      long warmStart = System.nanoTime();
      int rounds = generated.warmUp(options.prompt, maxBatch, options.warmup);
      log.printf(
          Locale.ROOT,
          "  warm-up: %d round(s) (prefill of 1 and %d prompts of %d tokens, decode at batch 1 and %d),"
              + " %.2f s%n",
          rounds,
          maxBatch,
          options.prompt,
          maxBatch,
          seconds(warmStart));
    }
    for (int round = 0; round < options.warmup && !(decoder instanceof GeneratedDecoder); round++) {
      long roundStart = System.nanoTime();
      decode(decoder, decoder.prefill(new int[][] {prompts[0]}), WARMUP_STEPS);
      if (round == 0) {
        log.printf(
            Locale.ROOT,
            "  first warm-up round (prefill %d tokens + %d steps, compilation included): %.2f s%n",
            options.prompt,
            WARMUP_STEPS,
            seconds(roundStart));
      }
    }

    // Each measurement is the fastest of --repeats passes: other load on the shared machine only
    // slows a pass down (the same rule as the bandwidth probe's best pass).
    KernelProfile profile = null;
    Map<String, Long> kernelBytes = Map.of();
    if (options.profile && decoder instanceof GeneratedDecoder generated) {
      profile = generated.kernelProfile();
      profile.enable(true);
      kernelBytes = kernelBytes(generated.kernelMatrices(), weights);
    }
    List<String> profileLines = new ArrayList<>();
    KernelProfile prefillProfile = new KernelProfile(false);
    double prefillSeconds = Double.POSITIVE_INFINITY;
    double prefillFirstSeconds = Double.NaN;
    for (int pass = 0; pass < options.repeats; pass++) {
      startLaps(profile);
      long start = System.nanoTime();
      decoder.prefill(new int[][] {prompts[0]});
      double seconds = seconds(start);
      prefillSeconds = Math.min(prefillSeconds, seconds);
      if (pass == 0) {
        prefillFirstSeconds = seconds;
      }
      addLaps(profile, prefillProfile);
    }
    double prefillRate = options.prompt / prefillSeconds;
    double prefillFirstRate = options.prompt / prefillFirstSeconds;
    log.printf(
        Locale.ROOT,
        "  prefill %d tokens: %.2f s, %.1f tokens/s (best of %d; first pass %.1f tokens/s)%n",
        options.prompt,
        prefillSeconds,
        prefillRate,
        options.repeats,
        prefillFirstRate);
    if (profile != null) {
      profileLines.addAll(
          profileTable(
              type + " prefill of " + options.prompt + " tokens, ms per prefill",
              prefillProfile,
              options.repeats,
              kernelBytes));
    }

    List<DecodeResult> decode = new ArrayList<>();
    for (int batch : batches) {
      double decodeSeconds = Double.POSITIVE_INFINITY;
      double firstSeconds = Double.NaN;
      List<String> passes = new ArrayList<>();
      KernelProfile decodeProfile = new KernelProfile(false);
      for (int pass = 0; pass < options.repeats; pass++) {
        float[][] logits = decoder.prefill(Arrays.copyOf(prompts, batch));
        startLaps(profile);
        long start = System.nanoTime();
        decode(decoder, logits, options.decode);
        double seconds = seconds(start);
        addLaps(profile, decodeProfile);
        decodeSeconds = Math.min(decodeSeconds, seconds);
        if (pass == 0) {
          firstSeconds = seconds;
        }
        passes.add(String.format(Locale.ROOT, "%.2f", (double) batch * options.decode / seconds));
      }
      double rate = (double) batch * options.decode / decodeSeconds;
      // Step i (from 0) attends to prompt + i + 1 positions.
      double meanAttended = options.prompt + (options.decode + 1) / 2.0;
      long kvBytes =
          Math.round(
              2.0
                  * spec.numHiddenLayers()
                  * meanAttended
                  * spec.kvDim()
                  * ResolvedSpec.KV_CACHE_ELEMENT_BYTES);
      double bytesPerToken = (double) weightBytes / batch + kvBytes;
      double gbps = bytesPerToken * rate / 1e9;
      decode.add(
          new DecodeResult(
              batch,
              options.decode,
              decodeSeconds,
              rate,
              meanAttended,
              kvBytes,
              bytesPerToken,
              gbps,
              gbps / bandwidthGBps,
              (double) batch * options.decode / firstSeconds));
      log.printf(
          Locale.ROOT,
          "  decode batch %d, %d steps: %.2f s, %.2f tokens/s (passes: %s), %.1f MB/token, %.2f GB/s"
              + " (%.1f%% of the first read bandwidth)%n",
          batch,
          options.decode,
          decodeSeconds,
          rate,
          String.join(", ", passes),
          bytesPerToken / 1e6,
          gbps,
          100 * gbps / bandwidthGBps);
      if (profile != null) {
        profileLines.addAll(
            profileTable(
                type + " decode batch " + batch + ", ms per step",
                decodeProfile,
                (long) options.repeats * options.decode,
                kernelBytes));
      }
    }
    profileLines.forEach(line -> log.println("  " + line));
    decoder.reset();
    if (decoder instanceof AutoCloseable closeable) {
      try {
        closeable.close(); // a device decoder's memory, before the next type's
      } catch (Exception e) {
        throw new IllegalStateException(
            "cannot close " + model.name() + "'s decoder: " + e.getMessage(), e);
      }
    }

    double interpreterRate = Double.NaN;
    if (options.interpreterSteps > 0) {
      Decoder interpreter = new Interpreter(weights);
      // A one-token prompt (which also warms the interpreter up), then the timed steps.
      float[][] interpreterLogits = interpreter.prefill(new int[][] {{prompts[0][0]}});
      long start = System.nanoTime();
      decode(interpreter, interpreterLogits, options.interpreterSteps);
      double interpreterSeconds = seconds(start);
      interpreterRate = options.interpreterSteps / interpreterSeconds;
      log.printf(
          Locale.ROOT,
          "  interpreter decode, %d steps: %.2f s, %.3f tokens/s%n",
          options.interpreterSteps,
          interpreterSeconds,
          interpreterRate);
    }
    return new TypeResult(
        type,
        convertSeconds,
        weightBytes,
        options.prompt,
        prefillSeconds,
        prefillRate,
        List.copyOf(decode),
        options.interpreterSteps,
        interpreterRate,
        List.copyOf(profileLines),
        prefillFirstRate);
  }

  /** Clears the profile's laps (when profiling) so the next timed pass starts from zero. */
  private static void startLaps(KernelProfile profile) {
    if (profile != null) {
      profile.reset();
    }
  }

  /** Adds the profile's laps since {@link #startLaps} to {@code totals}. */
  private static void addLaps(KernelProfile profile, KernelProfile totals) {
    if (profile != null) {
      totals.add(profile.entries());
    }
  }

  /**
   * A title line, then the totals per {@code units} (passes or steps), indented, with each kernel's
   * weight bytes per call read as GB/s.
   */
  static List<String> profileTable(
      String title, KernelProfile totals, long units, Map<String, Long> kernelBytes) {
    List<String> lines = new ArrayList<>();
    lines.add(title + ":");
    totals.table(units, kernelBytes).forEach(line -> lines.add("  " + line));
    return lines;
  }

  /**
   * Stored bytes of the weight matrices one call of each kernel multiplies by: a per-layer kernel's
   * matrices averaged over the layers (a call runs one layer), a global one's as they are.
   */
  public static Map<String, Long> kernelBytes(
      Map<String, List<TensorKind>> matrices, Weights weights) {
    Map<String, Long> bytes = new HashMap<>();
    int layers = weights.spec().numHiddenLayers();
    matrices.forEach(
        (kernel, kinds) -> {
          long total = 0;
          for (TensorKind kind : kinds) {
            if (kind instanceof LayerTensor layerTensor) {
              long sum = 0;
              for (int layer = 0; layer < layers; layer++) {
                sum += weights.get(layerTensor, layer).data().byteSize();
              }
              total += sum / Math.max(layers, 1);
            } else {
              total += weights.get((GlobalTensor) kind).data().byteSize();
            }
          }
          bytes.put(kernel, total);
        });
    return Map.copyOf(bytes);
  }

  /** {@code steps} greedy steps from {@code logits}; returns the last step's logits. */
  private static float[][] decode(Decoder decoder, float[][] logits, int steps) {
    for (int i = 0; i < steps; i++) {
      logits = decoder.step(Greedy.argmax(logits));
    }
    return logits;
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private static String cpuName() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (Exception e) {
      // not Linux: fall through
    }
    return System.getProperty("os.arch");
  }
}
