package dev.kiln.cli;

import dev.kiln.spec.ModelSpec;
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
@Command(name = "info", mixinStandardHelpOptions = true,
    description = "Prints a model file's format, metadata, tensor table and memory needs (weights + KV cache).")
final class InfoCommand implements Callable<Integer> {
  @Parameters(paramLabel = "FILE", description = "A GGUF file, Hugging Face folder or .safetensors file, or llama2.c .bin.")
  Path file;

  @Option(names = "--context", description = "Positions to size the KV cache for (default: the model's).")
  Integer context;

  @Option(names = "--metadata", description = "Print every metadata entry (GGUF), not just a summary.")
  boolean allMetadata;

  @Mixin Kiln.SpecOverrides overrides = new Kiln.SpecOverrides();

  @Spec CommandSpec command;

  @Override
  public Integer call() {
    PrintWriter out = command.commandLine().getOut();
    Checkpoint checkpoint = ModelFiles.open(file);
    // A wrong --rope-theta or --rms-eps is an error before any output.
    ModelFiles.DerivedSpec checked = overrides.given() ? overrides.derive(checkpoint) : null;
    out.printf(Locale.ROOT, "%s: %s, %d tensors%n", checkpoint.description(), checkpoint.format(), checkpoint.names().size());
    if (checkpoint instanceof GgufFile gguf) {
      var metadata = gguf.metadata();
      out.printf(Locale.ROOT, "metadata: %d entries; architecture %s%s%n", metadata.keys().size(),
          gguf.architecture().orElse("(none)"),
          metadata.getString("general.name").map(name -> "; name " + name).orElse(""));
      for (String key : metadata.keys()) {
        Object value = metadata.get(key);
        if (allMetadata || !(value instanceof java.util.List<?>)) {
          out.printf(Locale.ROOT, "  %s = %s%n", key, abbreviate(value));
        } else {
          out.printf(Locale.ROOT, "  %s = [%d entries]%n", key, ((java.util.List<?>) value).size());
        }
      }
    }
    out.println("tensors (shapes as (out, in)):");
    long total = 0;
    if (checkpoint instanceof GgufFile gguf) {
      for (var info : gguf.tensorInfos().values()) {
        total += info.byteSize();
        out.printf(Locale.ROOT, "  %-32s %-5s %-16s %,14d bytes%n", info.name(), info.dtype(),
            Arrays.toString(info.shape()), info.byteSize());
      }
    } else {
      for (String name : checkpoint.names()) {
        long bytes = checkpoint.read(name).data().byteSize();
        total += bytes;
        out.printf(Locale.ROOT, "  %-48s %-5s %-16s %,14d bytes%n", name, checkpoint.dtypeName(name),
            Arrays.toString(checkpoint.shape(name)), bytes);
      }
    }
    var derived = checked != null ? checked : overrides.derive(checkpoint);
    ModelSpec spec = derived.spec();
    derived.assumptions().forEach((element, why) -> out.printf(Locale.ROOT, "%s: %s%n", element.elementName(), why));
    int positions = context != null ? context : spec.maxPositionEmbeddings();
    long cache = spec.kvCacheBytes(1, positions);
    out.printf(Locale.ROOT, "weights: %,d bytes (%.2f GiB), %,d parameters%n", total, total / (double) (1L << 30),
        spec.parameterCount());
    out.printf(Locale.ROOT, "KV cache (float32) for %,d positions, one sequence: %,d bytes (%.2f GiB) = 2 x %d layers x"
            + " %d positions x %d kv_dim x 4%n", positions, cache, cache / (double) (1L << 30), spec.numHiddenLayers(),
        positions, spec.kvDim());
    out.printf(Locale.ROOT, "total: %.2f GiB%n", (total + cache) / (double) (1L << 30));
    out.flush();
    return 0;
  }

  private static String abbreviate(Object value) {
    String text = String.valueOf(value);
    return text.length() > 120 ? text.substring(0, 117) + "..." : text;
  }
}
