package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.spec.SpecElement;
import dev.kiln.testing.SharedConformance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The shared conformance models ({@code -Dkiln.conformance=DIR}, relative paths against the
 * repository root) read through every checkpoint class: the llama2.c file's tensors equal the
 * Hugging Face safetensors ones exactly (so the q/k row permutation is undone right), the F16
 * folder holds the same values, and each format's stated spec agrees with {@code hf/config.json}.
 * Without the property the tests are skipped; with a property that names no conformance folder they
 * fail.
 */
class CheckpointConformanceTest {
  /** config.json key of each element a checkpoint may state. */
  static final Map<SpecElement, String> CONFIG_KEYS =
      new EnumMap<>(
          Map.ofEntries(
              Map.entry(SpecElement.VOCAB_SIZE, "vocab_size"),
              Map.entry(SpecElement.HIDDEN_SIZE, "hidden_size"),
              Map.entry(SpecElement.INTERMEDIATE_SIZE, "intermediate_size"),
              Map.entry(SpecElement.NUM_HIDDEN_LAYERS, "num_hidden_layers"),
              Map.entry(SpecElement.NUM_ATTENTION_HEADS, "num_attention_heads"),
              Map.entry(SpecElement.NUM_KEY_VALUE_HEADS, "num_key_value_heads"),
              Map.entry(SpecElement.HEAD_DIM, "head_dim"),
              Map.entry(SpecElement.MAX_POSITION_EMBEDDINGS, "max_position_embeddings"),
              Map.entry(SpecElement.ROPE_THETA, "rope_theta"),
              Map.entry(SpecElement.RMS_NORM_EPS, "rms_norm_eps"),
              Map.entry(SpecElement.TIE_WORD_EMBEDDINGS, "tie_word_embeddings"),
              Map.entry(SpecElement.ATTENTION_BIAS, "attention_bias"),
              Map.entry(SpecElement.MLP_BIAS, "mlp_bias")));

  @TestFactory
  Stream<DynamicTest> sharedModels() {
    Optional<Path> root = SharedConformance.LLAMA_CHECKPOINTS.root();
    if (root.isEmpty()) {
      return Stream.of(
          dynamicTest(
              "shared conformance models (pass -Dkiln.conformance=DIR to run)",
              () -> Assumptions.abort("-Dkiln.conformance not given")));
    }
    List<DynamicTest> tests = new ArrayList<>();
    for (String model : SharedConformance.LLAMA_CHECKPOINTS.models()) {
      Path dir = root.get().resolve(model);
      tests.add(
          dynamicTest(
              model + ": llama2.c tensors equal the Hugging Face ones",
              () -> llama2cEqualsHf(dir)));
      tests.add(
          dynamicTest(
              model + ": llama2.c stated spec agrees with config.json", () -> llama2cSpec(dir)));
      tests.add(
          dynamicTest(model + ": Hugging Face folder (F32)", () -> hfFolder(dir, "hf", "F32")));
      tests.add(
          dynamicTest(
              model + ": Hugging Face folder (F16) holds the same values",
              () -> hfFolder(dir, "hf_f16", "F16")));
    }
    return tests.stream();
  }

  private static void llama2cEqualsHf(Path dir) {
    Llama2cFile llama2c = Llama2cFile.open(dir.resolve("llama2c/model.bin"));
    SafetensorsFile hf = SafetensorsFile.open(dir.resolve("hf/model.safetensors"));

    assertThat(llama2c.names()).containsExactlyElementsIn(hf.names());
    for (String name : hf.names()) {
      assertWithMessage("shape of %s", name).that(llama2c.shape(name)).isEqualTo(hf.shape(name));
      assertWithMessage("values of %s", name)
          .that(llama2c.read(name).toArray())
          .isEqualTo(hf.read(name).toArray());
    }
    assertThat(llama2c.sharedClassifier()).isEqualTo(!hf.names().contains("lm_head.weight"));
  }

  private static void llama2cSpec(Path dir) {
    Llama2cFile llama2c = Llama2cFile.open(dir.resolve("llama2c/model.bin"));
    JsonObject config = config(dir.resolve("hf/config.json"));

    assertThat(llama2c.statedSpec().keySet())
        .containsExactly(
            SpecElement.VOCAB_SIZE,
            SpecElement.HIDDEN_SIZE,
            SpecElement.INTERMEDIATE_SIZE,
            SpecElement.NUM_HIDDEN_LAYERS,
            SpecElement.NUM_ATTENTION_HEADS,
            SpecElement.NUM_KEY_VALUE_HEADS,
            SpecElement.MAX_POSITION_EMBEDDINGS,
            SpecElement.TIE_WORD_EMBEDDINGS);
    assertAgrees(llama2c.statedSpec(), config);

    // With theta and eps from config.json (the llama2.c file has neither), the file loads as the
    // model.
    var builder = ResolvedSpec.builder();
    HfFolder.readConfig(dir.resolve("hf/config.json")).forEach(builder::set);
    llama2c.statedSpec().forEach(builder::set);
    assertThat(Weights.from(builder.build(), llama2c).tensors().keySet())
        .containsExactlyElementsIn(llama2c.names());
  }

  private static void hfFolder(Path dir, String folderName, String dtype) {
    HfFolder folder = HfFolder.open(dir.resolve(folderName));
    SafetensorsFile reference = SafetensorsFile.open(dir.resolve("hf/model.safetensors"));

    assertThat(folder.names()).containsExactlyElementsIn(reference.names()).inOrder();
    for (String name : reference.names()) {
      assertWithMessage("dtype of %s", name).that(folder.dtypeName(name)).isEqualTo(dtype);
      assertWithMessage("values of %s", name)
          .that(folder.read(name).toArray())
          .isEqualTo(reference.read(name).toArray());
    }
    JsonObject config = config(dir.resolve(folderName).resolve("config.json"));
    assertThat(folder.statedSpec().keySet()).containsExactlyElementsIn(CONFIG_KEYS.keySet());
    assertAgrees(folder.statedSpec(), config);
    var builder = ResolvedSpec.builder();
    folder.statedSpec().forEach(builder::set);
    assertThat(Weights.from(builder.build(), folder).tensors()).hasSize(folder.names().size());
  }

  /** Each stated value equals config.json's value for its key. */
  private static void assertAgrees(Map<SpecElement, Object> stated, JsonObject config) {
    for (var entry : stated.entrySet()) {
      String key = CONFIG_KEYS.get(entry.getKey());
      var value = config.get(key);
      Object expected =
          switch (entry.getValue()) {
            case Integer i -> value.getAsInt();
            case Double d -> value.getAsDouble();
            case Boolean b -> value.getAsBoolean();
            default -> throw new AssertionError("unexpected value type " + entry.getValue());
          };
      assertWithMessage("stated %s vs config.json %s", entry.getKey().elementName(), key)
          .that(entry.getValue())
          .isEqualTo(expected);
    }
  }

  private static JsonObject config(Path file) {
    try {
      return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    } catch (IOException e) {
      throw new AssertionError("cannot read " + file, e);
    }
  }
}
