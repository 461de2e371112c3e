package dev.kiln.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.bench.BenchRunner;
import dev.kiln.generate.GenerationResult;
import dev.kiln.kernel.GeneratedDecoder;
import dev.kiln.kernel.KernelProfile;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * What {@code kiln run} reports after a generation: with {@code --json} a JSON object on standard
 * output, else a summary line on standard error; with {@code --logits-out} the logits file, with
 * {@code --profile} the kernel profile.
 */
final class RunReport {
  private final PrintWriter out;
  private final PrintWriter err;
  private final boolean json;
  private final Path model;
  private final String backend;

  /** With --logits-out: the file the run's logits go to (null otherwise). */
  private final LogitsFile logitsFile;

  /**
   * The decoder's kernel profile with --profile (null otherwise, or for a backend that takes no
   * laps).
   */
  private KernelProfile kernelProfile;

  /** With --profile: the bytes of each kernel's weight matrices, read once per call. */
  private Map<String, Long> kernelBytes = Map.of();

  RunReport(
      PrintWriter out,
      PrintWriter err,
      boolean json,
      Path model,
      String backend,
      LogitsFile logitsFile) {
    this.out = out;
    this.err = err;
    this.json = json;
    this.model = model;
    this.backend = backend;
    this.logitsFile = logitsFile;
  }

  /**
   * With --profile: starts timing the kernels of {@code loaded}'s decoder, or says why it cannot.
   */
  void startProfile(LoadedModel loaded) {
    if (loaded.decoder() instanceof GeneratedDecoder generated && backend.equals("java")) {
      kernelProfile = generated.kernelProfile();
      kernelProfile.reset();
      kernelProfile.enable(true);
      kernelBytes = BenchRunner.kernelBytes(generated.kernelMatrices(), loaded.weights());
    } else {
      err.println(
          "--profile: the "
              + backend
              + " backend does not time its kernels; running without a profile");
    }
  }

  /** With --logits-out: moves the complete file into place. */
  void commitLogits() {
    if (logitsFile != null) {
      logitsFile.commit();
    }
  }

  /** A generation from text (one-shot or a chat turn): its ids, text, stop reason and timings. */
  void generation(GenerationResult result, int[] promptTokens) {
    if (json) {
      JsonObject object = new JsonObject();
      object.addProperty("model", model.toString());
      object.addProperty("backend", backend);
      object.add("prompt_ids", ids(promptTokens));
      object.add("generated_ids", ids(result.tokens()));
      if (result.text() != null) {
        object.addProperty("text", result.text());
      }
      object.addProperty("stop", result.stopReason().name().toLowerCase(Locale.ROOT));
      object.add(
          "timings", timings(result.promptTokensPerSecond(), result.decodeTokensPerSecond()));
      addLogits(object);
      addProfile(object);
      out.println(
          new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(object));
      out.flush();
    } else {
      err.printf(
          Locale.ROOT,
          "%n[prompt %d tokens, %.1f tokens/s; generated %d tokens, %.1f tokens/s; stop: %s]%n",
          promptTokens.length,
          result.promptTokensPerSecond(),
          result.generatedTokens(),
          result.decodeTokensPerSecond(),
          result.stopReason().name().toLowerCase(Locale.ROOT).replace('_', ' '));
      printLogits(err);
      printProfile(err);
      err.flush();
    }
  }

  /**
   * A generation from token ids: the prompt, the generated ids, the stop reason ({@code max_tokens}
   * or {@code context_full}), the {@code topLogits} largest of the last {@code logits}, and the
   * rates.
   */
  void ids(
      int[] promptIds,
      int[] generated,
      String stop,
      float[] logits,
      int topLogits,
      double promptRate,
      double decodeRate) {
    if (json) {
      JsonObject result = new JsonObject();
      result.addProperty("model", model.toString());
      result.addProperty("backend", backend);
      result.add("prompt_ids", ids(promptIds));
      result.add("generated_ids", ids(generated));
      result.addProperty("stop", stop);
      result.add("top_logits", top(logits, topLogits));
      result.add("timings", timings(promptRate, decodeRate));
      addLogits(result);
      addProfile(result);
      out.println(new GsonBuilder().setPrettyPrinting().create().toJson(result));
    } else {
      out.println();
      err.printf(
          Locale.ROOT,
          "[prompt %d tokens, %.1f tokens/s; generated %d tokens, %.1f tokens/s; stop: %s]%n",
          promptIds.length,
          promptRate,
          generated.length,
          decodeRate,
          stop.replace('_', ' '));
      printLogits(err);
      printProfile(err);
    }
    out.flush();
  }

  /** With --logits-out: the file, its rows and their length, as JSON. */
  private void addLogits(JsonObject object) {
    if (logitsFile != null) {
      JsonObject logits = new JsonObject();
      logits.addProperty("path", logitsFile.target().toString());
      logits.addProperty("rows", logitsFile.rows());
      logits.addProperty("vocab", logitsFile.vocab());
      object.add("logits_out", logits);
    }
  }

  /** With --logits-out: what was written, on standard error. */
  private void printLogits(PrintWriter err) {
    if (logitsFile != null) {
      err.printf(
          Locale.ROOT,
          "[logits: %d rows of %d float32 written to %s]%n",
          logitsFile.rows(),
          logitsFile.vocab(),
          logitsFile.target());
    }
  }

  /**
   * With --profile: each kernel's calls and milliseconds since the last report, as JSON; then
   * starts over.
   */
  private void addProfile(JsonObject object) {
    if (kernelProfile == null) {
      return;
    }
    JsonArray kernels = new JsonArray();
    for (KernelProfile.Entry entry : kernelProfile.entries()) {
      JsonObject kernel = new JsonObject();
      kernel.addProperty("kernel", entry.kernel());
      kernel.addProperty("calls", entry.calls());
      kernel.addProperty("milliseconds", entry.nanos() / 1e6);
      kernels.add(kernel);
    }
    object.add("kernel_profile", kernels);
    kernelProfile.reset();
  }

  /**
   * With --profile: each kernel's calls and milliseconds since the last report, as a table; then
   * starts over.
   */
  private void printProfile(PrintWriter err) {
    if (kernelProfile == null) {
      return;
    }
    err.println(
        "[kernel profile, prompt and generation: calls, milliseconds in all, share, weight matrices read per"
            + " call over the time]");
    kernelProfile.table(1, kernelBytes).forEach(line -> err.println("  " + line));
    kernelProfile.reset();
  }

  private static JsonObject timings(double promptRate, double decodeRate) {
    JsonObject timings = new JsonObject();
    timings.addProperty("prompt_tokens_per_second", promptRate);
    timings.addProperty("decode_tokens_per_second", decodeRate);
    return timings;
  }

  private static JsonArray ids(int[] values) {
    JsonArray array = new JsonArray();
    for (int value : values) {
      array.add(value);
    }
    return array;
  }

  /** The {@code k} largest logits, largest first (lowest id first on ties). */
  private static JsonArray top(float[] logits, int k) {
    Integer[] order = IntStream.range(0, logits.length).boxed().toArray(Integer[]::new);
    Arrays.sort(
        order,
        (a, b) ->
            logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
    JsonArray array = new JsonArray();
    for (int i = 0; i < Math.min(k, order.length); i++) {
      JsonObject entry = new JsonObject();
      entry.addProperty("id", order[i]);
      entry.addProperty("logit", logits[order[i]]);
      array.add(entry);
    }
    return array;
  }
}
