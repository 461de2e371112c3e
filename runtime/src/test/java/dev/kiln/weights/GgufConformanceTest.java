package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.spec.SpecElement;
import dev.kiln.testing.SharedConformance;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The GGUF files of the shared conformance models hold the same tensors as their Hugging Face
 * safetensors files (names, shapes, q/k row order, values: the F16 files' values are exact) and
 * state the spec of their config.json.
 */
class GgufConformanceTest {
  static Stream<Arguments> files() {
    return SharedConformance.LLAMA_MODELS.stream()
        .flatMap(
            model ->
                Stream.of(
                    Arguments.of(model, "model-f32.gguf"), Arguments.of(model, "model-f16.gguf")));
  }

  @ParameterizedTest(name = "{0}/{1}")
  @MethodSource("files")
  void holdsTheSafetensorsTensors(String model, String fileName) {
    Path dir = SharedConformance.LLAMA_GGUF.model(model);
    GgufFile gguf = GgufFile.open(dir.resolve("gguf").resolve(fileName));
    SafetensorsFile hf = SafetensorsFile.open(dir.resolve("hf/model.safetensors"));
    assertThat(gguf.format()).isEqualTo("GGUF v3");
    assertThat(gguf.names()).containsExactlyElementsIn(hf.names());
    for (String name : hf.names()) {
      assertWithMessage("%s shape", name).that(gguf.shape(name)).isEqualTo(hf.shape(name));
      WeightTensor tensor = gguf.read(name);
      assertWithMessage("%s shape", name).that(tensor.shape()).isEqualTo(hf.shape(name));
      assertWithMessage("%s dtype", name)
          .that(tensor.dtype())
          .isEqualTo(
              fileName.contains("f16") && tensor.shape().length == 2 ? Dtype.F16 : Dtype.F32);
      assertWithMessage("%s values", name)
          .that(tensor.toArray())
          .isEqualTo(hf.read(name).toArray());
    }
  }

  @Test
  void storedQueryRowsAreNotInHuggingFaceOrder() {
    Path dir = SharedConformance.LLAMA_GGUF.model("tiny");
    GgufFile gguf = GgufFile.open(dir.resolve("gguf/model-f32.gguf"));
    SafetensorsFile hf = SafetensorsFile.open(dir.resolve("hf/model.safetensors"));
    for (String part : new String[] {"q", "k"}) {
      float[] expected = hf.read("model.layers.0.self_attn." + part + "_proj.weight").toArray();
      assertThat(gguf.readStored("blk.0.attn_" + part + ".weight").toArray())
          .isNotEqualTo(expected);
      assertThat(gguf.read("model.layers.0.self_attn." + part + "_proj.weight").toArray())
          .isEqualTo(expected);
    }
  }

  @ParameterizedTest(name = "{0}/{1}")
  @MethodSource("files")
  void statesTheConfigSpec(String model, String fileName) throws Exception {
    Path dir = SharedConformance.LLAMA_GGUF.model(model);
    JsonObject config =
        JsonParser.parseString(Files.readString(dir.resolve("hf/config.json"))).getAsJsonObject();
    Map<SpecElement, Object> spec =
        GgufFile.open(dir.resolve("gguf").resolve(fileName)).statedSpec();
    assertThat(spec.keySet())
        .containsExactly(
            SpecElement.VOCAB_SIZE,
            SpecElement.HIDDEN_SIZE,
            SpecElement.INTERMEDIATE_SIZE,
            SpecElement.NUM_HIDDEN_LAYERS,
            SpecElement.NUM_ATTENTION_HEADS,
            SpecElement.NUM_KEY_VALUE_HEADS,
            SpecElement.HEAD_DIM,
            SpecElement.MAX_POSITION_EMBEDDINGS,
            SpecElement.ROPE_THETA,
            SpecElement.RMS_NORM_EPS,
            SpecElement.TIE_WORD_EMBEDDINGS)
        .inOrder();
    assertThat(spec.get(SpecElement.VOCAB_SIZE)).isEqualTo(config.get("vocab_size").getAsInt());
    assertThat(spec.get(SpecElement.HIDDEN_SIZE)).isEqualTo(config.get("hidden_size").getAsInt());
    assertThat(spec.get(SpecElement.INTERMEDIATE_SIZE))
        .isEqualTo(config.get("intermediate_size").getAsInt());
    assertThat(spec.get(SpecElement.NUM_HIDDEN_LAYERS))
        .isEqualTo(config.get("num_hidden_layers").getAsInt());
    assertThat(spec.get(SpecElement.NUM_ATTENTION_HEADS))
        .isEqualTo(config.get("num_attention_heads").getAsInt());
    assertThat(spec.get(SpecElement.NUM_KEY_VALUE_HEADS))
        .isEqualTo(config.get("num_key_value_heads").getAsInt());
    assertThat(spec.get(SpecElement.HEAD_DIM)).isEqualTo(config.get("head_dim").getAsInt());
    assertThat(spec.get(SpecElement.MAX_POSITION_EMBEDDINGS))
        .isEqualTo(config.get("max_position_embeddings").getAsInt());
    assertThat(spec.get(SpecElement.TIE_WORD_EMBEDDINGS))
        .isEqualTo(config.get("tie_word_embeddings").getAsBoolean());
    // Stored as float32 and widened exactly: equal to the config's value as a float.
    assertThat(((Double) spec.get(SpecElement.ROPE_THETA)).floatValue())
        .isEqualTo(config.get("rope_theta").getAsFloat());
    assertThat(((Double) spec.get(SpecElement.RMS_NORM_EPS)).floatValue())
        .isEqualTo(config.get("rms_norm_eps").getAsFloat());
    assertThat(spec.get(SpecElement.RMS_NORM_EPS)).isEqualTo((double) 1e-5f);
  }
}
