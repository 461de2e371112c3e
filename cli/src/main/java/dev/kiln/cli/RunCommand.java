package dev.kiln.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.Decoder;
import dev.kiln.Greedy;
import dev.kiln.InvalidInputException;
import dev.kiln.KilnException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kiln run}: generation from a model file. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Generates from a model file through a decoder specialized to it.")
final class RunCommand implements Callable<Integer> {
  @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "The model file.")
  Path model;

  @Option(names = "--prompt-ids", split = ",", paramLabel = "ID", description = "The prompt as token ids: 1,2,3.")
  int[] promptIds;

  @Option(names = "--max-tokens", defaultValue = "64", description = "Tokens to generate (default ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--backend", defaultValue = "java", description = "java (specialized), interpreter, or tornado.")
  String backend;

  @Option(names = "--context", description = "Positions the decoder holds (default: the model's, up to 4096).")
  Integer context;

  @Option(names = "--json", description = "Print token ids, top logits of the last position and timings as JSON.")
  boolean json;

  @Option(names = "--top-logits", defaultValue = "5", description = "Top logits of the last position in --json.")
  int topLogits;

  @Mixin Kiln.Common common = new Kiln.Common();

  @Spec CommandSpec command;

  @Override
  public Integer call() {
    common.apply();
    PrintWriter out = command.commandLine().getOut();
    PrintWriter err = command.commandLine().getErr();
    if (promptIds == null || promptIds.length == 0) {
      throw new InvalidInputException("give a prompt: --prompt-ids 1,2,3");
    }
    if (maxTokens < 0) {
      throw new InvalidInputException("--max-tokens must not be negative, was " + maxTokens);
    }
    LoadedModel loaded = LoadedModel.open(model, context, 1, backend, common.cacheRoot(), json ? s -> {} : err::println);
    int contextLength = loaded.spec().maxPositionEmbeddings();
    if (promptIds.length > contextLength) {
      throw new InvalidInputException("the prompt has " + promptIds.length + " tokens, more than the context of "
          + contextLength + " positions (--context)");
    }
    for (int id : promptIds) {
      if (id < 0 || id >= loaded.spec().vocabSize()) {
        throw new InvalidInputException("prompt token id " + id + " is outside the vocabulary [0, "
            + loaded.spec().vocabSize() + ")");
      }
    }
    Decoder decoder = loaded.decoder();
    long start = System.nanoTime();
    float[] logits = decoder.prefill(new int[][] {promptIds})[0];
    long prefilled = System.nanoTime();
    List<Integer> generated = new ArrayList<>();
    String stop = "max_tokens";
    while (generated.size() < maxTokens) {
      int next = Greedy.argmax(logits);
      generated.add(next);
      if (!json) {
        out.print(generated.size() == 1 ? next : "," + next);
        out.flush();
      }
      if (generated.size() == maxTokens) {
        break;
      }
      if (decoder.length(0) >= contextLength) {
        stop = "context_full";
        break;
      }
      logits = decoder.step(new int[] {next})[0];
    }
    long done = System.nanoTime();
    double prefillSeconds = (prefilled - start) / 1e9;
    double decodeSeconds = (done - prefilled) / 1e9;
    int steps = Math.max(0, generated.size() - 1);
    if (json) {
      JsonObject result = new JsonObject();
      result.addProperty("model", model.toString());
      result.addProperty("backend", backend);
      result.add("prompt_ids", ids(Arrays.stream(promptIds).boxed().toList()));
      result.add("generated_ids", ids(generated));
      result.addProperty("stop", stop);
      result.add("top_logits", top(logits, topLogits));
      JsonObject timings = new JsonObject();
      timings.addProperty("prefill_seconds", prefillSeconds);
      timings.addProperty("prompt_tokens_per_second", promptIds.length / prefillSeconds);
      timings.addProperty("decode_seconds", decodeSeconds);
      timings.addProperty("decode_tokens_per_second", steps == 0 ? 0 : steps / decodeSeconds);
      result.add("timings", timings);
      out.println(new GsonBuilder().setPrettyPrinting().create().toJson(result));
    } else {
      out.println();
      err.printf(Locale.ROOT, "prompt: %d tokens, %.1f tokens/s; generated %d tokens, decode %.1f tokens/s (%s)%n",
          promptIds.length, promptIds.length / prefillSeconds, generated.size(), steps == 0 ? 0 : steps / decodeSeconds,
          stop.replace('_', ' '));
    }
    out.flush();
    return 0;
  }

  private static JsonArray ids(List<Integer> values) {
    JsonArray array = new JsonArray();
    values.forEach(array::add);
    return array;
  }

  /** The {@code k} largest logits, largest first (lowest id first on ties). */
  private static JsonArray top(float[] logits, int k) {
    if (k < 0) {
      throw new KilnException("--top-logits must not be negative, was " + k);
    }
    Integer[] order = new Integer[logits.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
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
