package dev.kiln.examples;

import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where the conformance models are: the {@code tiny} copy bundled in test resources, and the shared
 * folder given by the build as {@code -Dkiln.conformance=DIR} (relative paths resolve against the
 * repository root). When the property is given, a missing or incomplete folder is an error.
 */
final class Conformance {
  static final List<String> MODELS = List.of("tiny", "seed", "gqa", "llama3rope", "qwen2", "qwen3", "gemma2");

  private Conformance() {}

  /** The bundled copy of {@code tiny}. */
  static Path bundledTiny() {
    try {
      return Path.of(Conformance.class.getResource("/conformance/tiny/golden.json").toURI()).getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The shared folder if the build names one; fails if it names one that is not there. */
  static Optional<Path> sharedRoot() {
    String property = System.getProperty("kiln.conformance", "").trim();
    if (property.isEmpty()) {
      return Optional.empty();
    }
    Path root = Path.of(property);
    if (!root.isAbsolute()) {
      root = Path.of(System.getProperty("kiln.repositoryRoot", ".")).resolve(root);
    }
    root = root.normalize();
    for (String model : MODELS) {
      Path golden = root.resolve(model).resolve("golden.json");
      assertWithMessage("-Dkiln.conformance=%s: expected %s (is the path right?)", property, golden)
          .that(Files.isRegularFile(golden)).isTrue();
    }
    return Optional.of(root);
  }

  /** One model's golden file: prompt, greedy tokens, and logits per position for both cache modes. */
  record Golden(String name, JsonObject config, int[] prompt, int[] greedyTokens, double[][] kvPromptLogits,
      double[][] kvDecodeLogits, double[][] noCachePromptLogits, double[][] noCacheDecodeLogits) {

    static Golden read(Path modelDir) {
      JsonObject root;
      try {
        root = JsonParser.parseString(Files.readString(modelDir.resolve("golden.json"))).getAsJsonObject();
      } catch (IOException e) {
        throw new AssertionError("cannot read " + modelDir.resolve("golden.json"), e);
      }
      JsonObject results = root.getAsJsonObject("results");
      JsonObject kv = results.getAsJsonObject("kvcache");
      JsonObject nocache = results.getAsJsonObject("nocache");
      return new Golden(root.get("config_name").getAsString(), root.getAsJsonObject("config"), ints(root.getAsJsonArray("prompt")),
          ints(root.getAsJsonArray("greedy_tokens")), matrix(kv.getAsJsonArray("prompt_logits")),
          matrix(kv.getAsJsonArray("decode_logits")), matrix(nocache.getAsJsonArray("prompt_logits")),
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
}
