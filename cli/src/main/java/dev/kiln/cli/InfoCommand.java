package dev.kiln.cli;

import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.Checkpoint;
import dev.kiln.weights.GgufFile;
import dev.kiln.weights.ModelFiles;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln info FILE}: format, metadata, tensors and memory needs. */
@Command(
    name = "info",
    mixinStandardHelpOptions = true,
    description =
        "Prints a model file's format, metadata, tensor table and memory needs (weights + KV cache).")
final class InfoCommand implements Callable<Integer> {
  @Parameters(
      paramLabel = "FILE",
      description = "A GGUF file, Hugging Face folder or .safetensors file, or llama2.c .bin.")
  Path file;

  @Option(
      names = "--context",
      description = "Positions to size the KV cache for (default: the model's).")
  Integer context;

  @Option(
      names = "--metadata",
      description = "Print every metadata entry (GGUF), not just a summary.")
  boolean allMetadata;

  @Mixin Kiln.SpecOverrides overrides = new Kiln.SpecOverrides();

  @Spec CommandSpec command;

  @Override
  public Integer call() {
    PrintWriter out = command.commandLine().getOut();
    Checkpoint checkpoint = ModelFiles.open(file);
    // A wrong --rope-theta or --rms-eps is an error before any output.
    ModelFiles.DerivedSpec checked = overrides.given() ? overrides.derive(checkpoint) : null;
    out.printf(
        Locale.ROOT,
        "%s: %s, %d tensors%n",
        Sanitize.text(checkpoint.description()),
        checkpoint.format(),
        checkpoint.names().size());
    if (checkpoint instanceof GgufFile gguf) {
      var metadata = gguf.metadata();
      out.printf(
          Locale.ROOT,
          "metadata: %d entries; architecture %s%s%n",
          metadata.keys().size(),
          Sanitize.text(gguf.architecture().orElse("(none)")),
          metadata.getString("general.name").map(name -> "; name " + abbreviate(name)).orElse(""));
      for (String key : metadata.keys()) {
        out.printf(
            Locale.ROOT, "  %s = %s%n", abbreviate(key), describe(metadata.get(key), allMetadata));
      }
    }
    out.println("tensors (shapes as (out, in)):");
    long total = 0;
    if (checkpoint instanceof GgufFile gguf) {
      for (var info : gguf.tensorInfos().values()) {
        total += info.byteSize();
        out.printf(
            Locale.ROOT,
            "  %-32s %-5s %-16s %,14d bytes%n",
            abbreviate(info.name()),
            info.dtype(),
            Arrays.toString(info.shape()),
            info.byteSize());
      }
    } else {
      for (String name : checkpoint.names()) {
        long bytes = checkpoint.read(name).data().byteSize();
        total += bytes;
        out.printf(
            Locale.ROOT,
            "  %-48s %-5s %-16s %,14d bytes%n",
            abbreviate(name),
            checkpoint.dtypeName(name),
            Arrays.toString(checkpoint.shape(name)),
            bytes);
      }
    }
    var derived = checked != null ? checked : overrides.derive(checkpoint);
    ResolvedSpec spec = derived.spec();
    derived
        .assumptions()
        .forEach((element, why) -> out.printf(Locale.ROOT, "%s: %s%n", element.elementName(), why));
    int positions = context != null ? context : spec.maxPositionEmbeddings();
    long cache = spec.kvCacheBytes(1, positions);
    out.printf(
        Locale.ROOT,
        "weights: %,d bytes (%.2f GiB), %,d parameters%n",
        total,
        total / (double) (1L << 30),
        spec.parameterCount());
    out.printf(
        Locale.ROOT,
        "KV cache (float32) for %,d positions, one sequence: %,d bytes (%.2f GiB) = 2 x %d layers x"
            + " %d positions x %d kv_dim x 4%n",
        positions,
        cache,
        cache / (double) (1L << 30),
        spec.numHiddenLayers(),
        positions,
        spec.kvDim());
    out.printf(Locale.ROOT, "total: %.2f GiB%n", (total + cache) / (double) (1L << 30));
    out.flush();
    return 0;
  }

  /**
   * Arrays shown in full (with --metadata) up to this many entries; larger ones as their first
   * entries and a count.
   */
  static final int ARRAY_ENTRIES_SHOWN = 8;

  /**
   * A metadata value on one line, safe for a terminal: an array as its size, or with {@code all}
   * its first {@value #ARRAY_ENTRIES_SHOWN} entries and its size (never the whole of a large
   * array), a string cut at 120 characters, control characters escaped.
   */
  static String describe(Object value, boolean all) {
    if (!(value instanceof java.util.List<?> list)) {
      return abbreviate(value);
    }
    if (!all) {
      return "[" + list.size() + " entries]";
    }
    StringBuilder text = new StringBuilder("[");
    int shown = Math.min(list.size(), ARRAY_ENTRIES_SHOWN);
    for (int i = 0; i < shown; i++) {
      text.append(i == 0 ? "" : ", ")
          .append(
              abbreviate(
                  list.get(i) instanceof java.util.List<?> nested
                      ? "[" + nested.size() + " entries]"
                      : list.get(i)));
    }
    if (shown < list.size()) {
      text.append(", ... ")
          .append(list.size() - shown)
          .append(" more; ")
          .append(list.size())
          .append(" entries");
    }
    return text.append("]").toString();
  }

  /** At most 120 characters of {@code value}, control characters escaped. */
  static String abbreviate(Object value) {
    String text = String.valueOf(value);
    boolean cut = text.length() > 120;
    String safe = Sanitize.text(cut ? text.substring(0, 117) : text);
    if (safe.length() > 120) { // escapes are longer than what they stand for
      safe = safe.substring(0, 117);
      cut = true;
    }
    return cut ? safe + "..." : safe;
  }
}
