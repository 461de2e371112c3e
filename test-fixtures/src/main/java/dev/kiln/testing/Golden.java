package dev.kiln.testing;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One conformance model's {@code golden.json}: its config, the prompt, the greedy tokens, and the
 * logits per position for both cache modes.
 */
public record Golden(
    String name,
    JsonObject config,
    int[] prompt,
    int[] greedyTokens,
    double[][] kvPromptLogits,
    double[][] kvDecodeLogits,
    double[][] noCachePromptLogits,
    double[][] noCacheDecodeLogits) {

  /** The {@code golden.json} of the model folder {@code modelDir}, as it stands. */
  public static JsonObject json(Path modelDir) {
    Path file = modelDir.resolve("golden.json");
    try {
      return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    } catch (IOException e) {
      throw new AssertionError("cannot read " + file, e);
    }
  }

  public static Golden read(Path modelDir) {
    JsonObject root = json(modelDir);
    JsonObject results = root.getAsJsonObject("results");
    JsonObject kv = results.getAsJsonObject("kvcache");
    JsonObject nocache = results.getAsJsonObject("nocache");
    return new Golden(
        root.get("config_name").getAsString(),
        root.getAsJsonObject("config"),
        ints(root.getAsJsonArray("prompt")),
        ints(root.getAsJsonArray("greedy_tokens")),
        matrix(kv.getAsJsonArray("prompt_logits")),
        matrix(kv.getAsJsonArray("decode_logits")),
        matrix(nocache.getAsJsonArray("prompt_logits")),
        matrix(nocache.getAsJsonArray("decode_logits")));
  }

  private static int[] ints(JsonArray array) {
    int[] values = new int[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = array.get(i).getAsInt();
    }
    return values;
  }

  private static double[][] matrix(JsonArray rows) {
    List<double[]> result = new ArrayList<>();
    for (var row : rows) {
      JsonArray values = row.getAsJsonArray();
      double[] out = new double[values.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = values.get(i).getAsDouble();
      }
      result.add(out);
    }
    return result.toArray(double[][]::new);
  }
}
