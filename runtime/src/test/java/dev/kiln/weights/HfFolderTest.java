package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.spec.SpecElement;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfFolderTest {
  @TempDir Path dir;

  private static final Fixtures.Dims DIMS = Fixtures.Dims.small(false);

  private Path folder(int shards) {
    return Fixtures.writeHfFolder(
        dir.resolve("model"), Fixtures.config(DIMS), Fixtures.hfTensors(DIMS, 1), shards);
  }

  @Test
  void singleFile() {
    var hf = Fixtures.hfTensors(DIMS, 1);
    HfFolder folder = HfFolder.open(folder(1));

    assertThat(folder.format()).isEqualTo("Hugging Face folder (safetensors)");
    assertThat(folder.shards()).hasSize(1);
    assertThat(folder.names()).containsExactlyElementsIn(hf.keySet()).inOrder();
    Llama2cFileTest.assertEqualTensors(folder, hf);
    assertThat(folder.description()).isEqualTo(dir.resolve("model").toString());
  }

  @Test
  void shardedFolder_unionOfShards() {
    var hf = Fixtures.hfTensors(DIMS, 1);
    HfFolder folder = HfFolder.open(folder(3));

    assertThat(folder.format()).isEqualTo("Hugging Face folder (3 safetensors shards)");
    assertThat(folder.shards()).hasSize(3);
    assertThat(folder.shards().get(2).path().getFileName().toString())
        .isEqualTo("model-00003-of-00003.safetensors");
    assertThat(folder.names()).containsExactlyElementsIn(hf.keySet()).inOrder();
    Llama2cFileTest.assertEqualTensors(folder, hf);
    assertThat(folder.read("lm_head.weight").data().isMapped()).isTrue();
  }

  @Test
  void statedSpec_fromConfig() {
    HfFolder folder = HfFolder.open(folder(2));

    assertThat(folder.statedSpec())
        .containsExactly(
            SpecElement.VOCAB_SIZE, 12,
            SpecElement.HIDDEN_SIZE, 16,
            SpecElement.INTERMEDIATE_SIZE, 24,
            SpecElement.NUM_HIDDEN_LAYERS, 2,
            SpecElement.NUM_ATTENTION_HEADS, 4,
            SpecElement.NUM_KEY_VALUE_HEADS, 2,
            SpecElement.HEAD_DIM, 4,
            SpecElement.MAX_POSITION_EMBEDDINGS, 6,
            SpecElement.ROPE_THETA, 10000.0,
            SpecElement.RMS_NORM_EPS, 1e-5,
            SpecElement.TIE_WORD_EMBEDDINGS, false,
            SpecElement.ATTENTION_BIAS, false,
            SpecElement.MLP_BIAS, false);
  }

  @Test
  void loadsIntoWeightsForTheStatedSpec() {
    HfFolder folder = HfFolder.open(folder(3));
    var builder = ResolvedSpec.builder();
    folder.statedSpec().forEach(builder::set);

    var weights = Weights.from(builder.build(), folder);

    assertThat(weights.tensors().keySet()).containsExactlyElementsIn(folder.names());
  }

  @Test
  void singleFileWinsOverIndex() throws IOException {
    Path model = folder(2);
    Fixtures.write(
        model.resolve("model.safetensors"), Fixtures.safetensorsBytes(Fixtures.hfTensors(DIMS, 1)));
    Files.delete(model.resolve(Fixtures.shardName(1, 2)));

    HfFolder folder = HfFolder.open(model);

    assertThat(folder.shards()).hasSize(1);
    assertThat(folder.names()).hasSize(Fixtures.hfTensors(DIMS, 1).size());
  }

  // ---- index and shard problems ----

  @Test
  void missingShard() throws IOException {
    Path model = folder(3);
    Files.delete(model.resolve(Fixtures.shardName(1, 3)));

    var e = assertThrows(WeightLoadException.class, () -> HfFolder.open(model));
    assertThat(e).hasMessageThat().contains(model.resolve(Fixtures.shardName(1, 3)).toString());
    assertThat(e).hasMessageThat().contains("shard file missing");
    assertThat(e).hasMessageThat().contains("model.layers.");
  }

  @Test
  void tensorInIndexMissingFromShard() {
    Path model = folder(2);
    editIndex(
        model,
        map -> map.addProperty("model.layers.9.mlp.up_proj.weight", Fixtures.shardName(0, 2)));

    var e = assertThrows(WeightLoadException.class, () -> HfFolder.open(model));
    assertThat(e).hasMessageThat().contains(Fixtures.shardName(0, 2));
    assertThat(e).hasMessageThat().contains("tensor model.layers.9.mlp.up_proj.weight is missing");
  }

  @Test
  void tensorInShardNotInIndex() {
    Path model = folder(2);
    editIndex(model, map -> map.remove("model.norm.weight"));

    var e = assertThrows(WeightLoadException.class, () -> HfFolder.open(model));
    assertThat(e).hasMessageThat().contains(Fixtures.shardName(1, 2));
    assertThat(e).hasMessageThat().contains("tensor model.norm.weight is in this shard but not in");
  }

  @Test
  void tensorInShardMappedToAnotherShard() {
    Path model = folder(2);
    editIndex(model, map -> map.addProperty("model.norm.weight", Fixtures.shardName(0, 2)));

    var e = assertThrows(WeightLoadException.class, () -> HfFolder.open(model));
    assertThat(e).hasMessageThat().contains("model.norm.weight");
    assertThat(e).hasMessageThat().contains(Fixtures.shardName(0, 2));
  }

  @Test
  void tensorInTwoShards() {
    var hf = Fixtures.hfTensors(DIMS, 1);
    Path model = folder(2);
    // Shard 2 also gets the embeddings, which the index maps to shard 1.
    Map<String, Fixtures.Tensor> second = new LinkedHashMap<>();
    second.put("model.embed_tokens.weight", hf.get("model.embed_tokens.weight"));
    var index = readIndex(model);
    for (var entry : index.getAsJsonObject("weight_map").entrySet()) {
      if (entry.getValue().getAsString().equals(Fixtures.shardName(1, 2))) {
        second.put(entry.getKey(), hf.get(entry.getKey()));
      }
    }
    Fixtures.write(model.resolve(Fixtures.shardName(1, 2)), Fixtures.safetensorsBytes(second));

    var e = assertThrows(WeightLoadException.class, () -> HfFolder.open(model));
    assertThat(e).hasMessageThat().contains(Fixtures.shardName(1, 2));
    assertThat(e).hasMessageThat().contains("tensor model.embed_tokens.weight is also in shard");
    assertThat(e).hasMessageThat().contains(Fixtures.shardName(0, 2));
  }

  @Test
  void shardNameOutsideTheFolder() {
    Path model = folder(2);
    editIndex(
        model, map -> map.addProperty("model.norm.weight", "../model-00002-of-00002.safetensors"));

    var e = assertThrows(WeightLoadException.class, () -> HfFolder.open(model));
    assertThat(e).hasMessageThat().contains("not a plain file name");
    assertThat(e).hasMessageThat().contains("model.norm.weight");
  }

  @Test
  void indexShapeErrors() throws IOException {
    Path model = folder(2);
    Path index = model.resolve("model.safetensors.index.json");

    Files.writeString(index, "{\"metadata\": {}, \"weight_map\": []}");
    assertThat(assertThrows(WeightLoadException.class, () -> HfFolder.open(model)))
        .hasMessageThat()
        .contains("\"weight_map\" must be an object");

    Files.writeString(index, "{\"weight_map\": {\"model.norm.weight\": 3}}");
    assertThat(assertThrows(WeightLoadException.class, () -> HfFolder.open(model)))
        .hasMessageThat()
        .contains("must be a shard file name (a string), was 3");

    Files.writeString(index, "{\"metadata\": 1, \"weight_map\": {}}");
    assertThat(assertThrows(WeightLoadException.class, () -> HfFolder.open(model)))
        .hasMessageThat()
        .contains("\"metadata\" must be an object");

    Files.writeString(index, "{\"weight_map\": {}}");
    assertThat(assertThrows(WeightLoadException.class, () -> HfFolder.open(model)))
        .hasMessageThat()
        .contains("lists no tensors");

    Files.writeString(
        index, "{\"weight_map\": {\"a\": \"x.safetensors\", \"a\": \"y.safetensors\"}}");
    var duplicate = assertThrows(WeightLoadException.class, () -> HfFolder.open(model));
    assertThat(duplicate).hasMessageThat().contains("the key \"a\" twice");
    assertThat(duplicate).hasMessageThat().contains(index.toString());

    Files.writeString(index, "{\"weight_map\": {\"a\": \"x.safetensors\",}}");
    assertThat(assertThrows(WeightLoadException.class, () -> HfFolder.open(model)))
        .hasMessageThat()
        .contains("not valid JSON");
  }

  @Test
  void noWeights() throws IOException {
    Path model = folder(1);
    Files.delete(model.resolve("model.safetensors"));
    var e = assertThrows(WeightLoadException.class, () -> HfFolder.open(model));
    assertThat(e)
        .hasMessageThat()
        .contains("neither model.safetensors nor model.safetensors.index.json");

    Files.write(model.resolve("pytorch_model.bin"), new byte[10]);
    assertThat(assertThrows(WeightLoadException.class, () -> HfFolder.open(model)))
        .hasMessageThat()
        .contains("Kiln reads only safetensors");
  }

  @Test
  void notAFolderOrNoConfig() throws IOException {
    Path model = folder(1);
    assertThat(
            assertThrows(
                WeightLoadException.class, () -> HfFolder.open(model.resolve("config.json"))))
        .hasMessageThat()
        .contains("not a directory");
    Files.delete(model.resolve("config.json"));
    var e = assertThrows(WeightLoadException.class, () -> HfFolder.open(model));
    assertThat(e).hasMessageThat().contains("config.json: no such file");
  }

  @Test
  void brokenShard_errorNamesIt() throws IOException {
    Path model = folder(2);
    Path shard = model.resolve(Fixtures.shardName(1, 2));
    byte[] bytes = Files.readAllBytes(shard);
    Files.write(shard, java.util.Arrays.copyOf(bytes, bytes.length - 3));
    var e = assertThrows(WeightLoadException.class, () -> HfFolder.open(model));
    assertThat(e).hasMessageThat().contains(shard.toString());
  }

  @Test
  void unknownTensor() {
    HfFolder folder = HfFolder.open(folder(2));
    assertThat(
            assertThrows(
                WeightLoadException.class, () -> folder.read("model.layers.7.mlp.up_proj.weight")))
        .hasMessageThat()
        .contains("no tensor named model.layers.7.mlp.up_proj.weight");
  }

  // ---- config.json ----

  private Map<SpecElement, Object> configWith(Consumer<JsonObject> edit) {
    JsonObject config = Fixtures.config(DIMS);
    edit.accept(config);
    Path file =
        Fixtures.write(
            dir.resolve("config.json"), config.toString().getBytes(StandardCharsets.UTF_8));
    return HfFolder.readConfig(file);
  }

  private String configError(Consumer<JsonObject> edit) {
    var e = assertThrows(WeightLoadException.class, () -> configWith(edit));
    assertThat(e).hasMessageThat().contains(dir.resolve("config.json").toString());
    return e.getMessage();
  }

  @Test
  void config_defaults() {
    var spec =
        configWith(
            c -> {
              c.remove("num_key_value_heads");
              c.remove("head_dim");
              c.remove("rope_theta");
              c.remove("rms_norm_eps");
              c.remove("max_position_embeddings");
              c.remove("tie_word_embeddings");
              c.remove("attention_bias");
              c.remove("mlp_bias");
              c.remove("hidden_act");
              c.remove("rope_scaling");
              c.remove("architectures");
            });
    assertThat(spec)
        .containsExactly(
            SpecElement.VOCAB_SIZE, 12,
            SpecElement.HIDDEN_SIZE, 16,
            SpecElement.INTERMEDIATE_SIZE, 24,
            SpecElement.NUM_HIDDEN_LAYERS, 2,
            SpecElement.NUM_ATTENTION_HEADS, 4,
            SpecElement.NUM_KEY_VALUE_HEADS, 4,
            SpecElement.TIE_WORD_EMBEDDINGS, false,
            SpecElement.ATTENTION_BIAS, false,
            SpecElement.MLP_BIAS, false);
  }

  @Test
  void config_nullsMeanDefaults() {
    var spec =
        configWith(
            c -> {
              c.add("num_key_value_heads", JsonNull.INSTANCE);
              c.add("head_dim", JsonNull.INSTANCE);
            });
    assertThat(spec).containsEntry(SpecElement.NUM_KEY_VALUE_HEADS, 4);
    assertThat(spec).doesNotContainKey(SpecElement.HEAD_DIM);
  }

  @Test
  void config_biasesAndTies() {
    var spec =
        configWith(
            c -> {
              c.addProperty("attention_bias", true);
              c.addProperty("mlp_bias", true);
              c.addProperty("tie_word_embeddings", true);
              c.addProperty("rope_theta", 5e5);
              c.addProperty("rms_norm_eps", 1e-6);
              c.addProperty("vocab_size", 32.0);
            });
    assertThat(spec).containsEntry(SpecElement.ATTENTION_BIAS, true);
    assertThat(spec).containsEntry(SpecElement.MLP_BIAS, true);
    assertThat(spec).containsEntry(SpecElement.TIE_WORD_EMBEDDINGS, true);
    assertThat(spec).containsEntry(SpecElement.ROPE_THETA, 500000.0);
    assertThat(spec).containsEntry(SpecElement.RMS_NORM_EPS, 1e-6);
    assertThat(spec).containsEntry(SpecElement.VOCAB_SIZE, 32);
  }

  @Test
  void config_ropeParameters() {
    var spec =
        configWith(
            c -> {
              c.remove("rope_theta");
              JsonObject parameters = new JsonObject();
              parameters.addProperty("rope_type", "default");
              parameters.addProperty("rope_theta", 250000.0);
              c.add("rope_parameters", parameters);
            });
    assertThat(spec).containsEntry(SpecElement.ROPE_THETA, 250000.0);

    assertThat(
            configError(
                c -> {
                  JsonObject parameters = new JsonObject();
                  parameters.addProperty("rope_type", "yarn");
                  parameters.addProperty("factor", 8.0);
                  c.add("rope_parameters", parameters);
                }))
        .contains("rope_type \"yarn\"");
    assertThat(
            configError(
                c -> {
                  JsonObject parameters = new JsonObject();
                  parameters.addProperty("rope_type", "llama3");
                  parameters.addProperty("factor", 8.0);
                  c.add("rope_parameters", parameters);
                }))
        .contains("\"rope_parameters.low_freq_factor\" is missing");
    var llama3 =
        configWith(
            c -> {
              JsonObject parameters = new JsonObject();
              parameters.addProperty("rope_type", "llama3");
              parameters.addProperty("rope_theta", 500000.0);
              parameters.addProperty("factor", 32.0);
              parameters.addProperty("low_freq_factor", 1.0);
              parameters.addProperty("high_freq_factor", 4.0);
              parameters.addProperty("original_max_position_embeddings", 8192);
              c.remove("rope_theta");
              c.add("rope_parameters", parameters);
            });
    assertThat(llama3).containsEntry(SpecElement.ROPE_THETA, 500000.0);
    assertThat(llama3).containsEntry(SpecElement.ROPE_SCALING, dev.kiln.RopeScaling.LLAMA3);
    assertThat(llama3).containsEntry(SpecElement.ROPE_SCALING_FACTOR, 32.0);
    assertThat(llama3)
        .containsEntry(SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS, 8192);
    assertThat(
            configError(
                c -> {
                  JsonObject parameters = new JsonObject();
                  parameters.addProperty("rope_theta", 20000.0);
                  c.add("rope_parameters", parameters);
                }))
        .contains("disagree");
    assertThat(
            configError(
                c -> {
                  JsonObject parameters = new JsonObject();
                  parameters.addProperty("rope_theta", "big");
                  c.add("rope_parameters", parameters);
                }))
        .contains("\"rope_parameters.rope_theta\" must be a finite number, was \"big\"");
  }

  @Test
  void config_refusedModels() {
    assertThat(configError(c -> c.addProperty("model_type", "phi3")))
        .contains("model_type is \"phi3\"");
    assertThat(configError(c -> c.addProperty("model_type", "qwen2")))
        .contains(
            "architecture is \"LlamaForCausalLM\"; Kiln reads qwen2 models as Qwen2ForCausalLM");
    assertThat(configError(c -> c.remove("model_type"))).contains("\"model_type\" is missing");
    assertThat(
            configError(
                c -> {
                  JsonArray architectures = new JsonArray();
                  architectures.add("LlamaForSequenceClassification");
                  c.add("architectures", architectures);
                }))
        .contains("architecture is \"LlamaForSequenceClassification\"");
    assertThat(configError(c -> c.addProperty("architectures", "LlamaForCausalLM")))
        .contains("\"architectures\" must be a non-empty array of strings");
    assertThat(configError(c -> c.addProperty("hidden_act", "gelu")))
        .contains("hidden_act is \"gelu\"");
    assertThat(configError(c -> c.add("quantization_config", new JsonObject())))
        .contains("quantization_config");
  }

  @Test
  void config_ropeScaling() {
    String message =
        configError(
            c -> {
              JsonObject scaling = new JsonObject();
              scaling.addProperty("type", "dynamic");
              scaling.addProperty("factor", 2.0);
              c.add("rope_scaling", scaling);
            });
    assertThat(message)
        .contains("rope_scaling {\"type\":\"dynamic\",\"factor\":2.0} is not supported");
    var linear =
        configWith(
            c -> {
              JsonObject scaling = new JsonObject();
              scaling.addProperty("type", "linear");
              scaling.addProperty("factor", 2.0);
              c.add("rope_scaling", scaling);
            });
    assertThat(linear).containsEntry(SpecElement.ROPE_SCALING, dev.kiln.RopeScaling.LINEAR);
    assertThat(linear).containsEntry(SpecElement.ROPE_SCALING_FACTOR, 2.0);
  }

  @Test
  void config_families() {
    var qwen2 =
        configWith(
            c -> {
              c.addProperty("model_type", "qwen2");
              c.remove("architectures");
            });
    assertThat(qwen2).containsEntry(SpecElement.QKV_BIAS, true);
    assertThat(
            configError(
                c -> {
                  c.addProperty("model_type", "qwen2");
                  c.remove("architectures");
                  c.addProperty("use_sliding_window", true);
                }))
        .contains("use_sliding_window is true");
    var qwen3 =
        configWith(
            c -> {
              c.addProperty("model_type", "qwen3");
              c.remove("architectures");
            });
    assertThat(qwen3).containsEntry(SpecElement.QK_NORM, true);
    var mistral =
        configWith(
            c -> {
              c.addProperty("model_type", "mistral");
              c.remove("architectures");
              c.addProperty("sliding_window", 4096);
            });
    assertThat(mistral).containsEntry(SpecElement.SLIDING_WINDOW, 4096);
    var gemma =
        configWith(
            c -> {
              c.addProperty("model_type", "gemma2");
              c.remove("architectures");
              c.remove("hidden_act");
              c.addProperty("hidden_activation", "gelu_pytorch_tanh");
              c.add("final_logit_softcapping", com.google.gson.JsonNull.INSTANCE);
            });
    assertThat(gemma).containsEntry(SpecElement.SANDWICH_NORMS, true);
    assertThat(gemma).containsEntry(SpecElement.HIDDEN_ACT, dev.kiln.Activation.GELU_TANH);
    assertThat(gemma).containsEntry(SpecElement.FINAL_LOGIT_SOFTCAPPING, 0.0);
    assertThat(gemma)
        .containsEntry(SpecElement.SLIDING_WINDOW_LAYERS, dev.kiln.SlidingWindowLayers.EVEN);
    assertThat(
            configError(
                c -> {
                  c.addProperty("model_type", "gemma2");
                  c.remove("architectures");
                  c.addProperty("hidden_activation", "gelu");
                }))
        .contains("hidden_activation is \"gelu\"; Kiln's gemma2 MLP needs \"gelu_pytorch_tanh\"");
  }

  @Test
  void config_wrongTypesNameKeyAndType() {
    assertThat(configError(c -> c.addProperty("vocab_size", "64")))
        .contains("\"vocab_size\" must be an integer, was \"64\"");
    assertThat(configError(c -> c.addProperty("hidden_size", 16.5)))
        .contains("\"hidden_size\" must be an integer");
    assertThat(configError(c -> c.addProperty("num_hidden_layers", 1e12)))
        .contains("\"num_hidden_layers\" must be an integer in 32-bit range");
    assertThat(configError(c -> c.add("num_attention_heads", new JsonArray())))
        .contains("\"num_attention_heads\" must be an integer, was []");
    assertThat(configError(c -> c.addProperty("num_key_value_heads", true)))
        .contains("\"num_key_value_heads\" must be an integer, was true");
    assertThat(configError(c -> c.addProperty("rope_theta", "1e4")))
        .contains("\"rope_theta\" must be a finite number");
    assertThat(configError(c -> c.addProperty("rms_norm_eps", false)))
        .contains("\"rms_norm_eps\" must be a finite number");
    assertThat(configError(c -> c.addProperty("tie_word_embeddings", 1)))
        .contains("\"tie_word_embeddings\" must be true or false, was 1");
    assertThat(configError(c -> c.addProperty("attention_bias", "false")))
        .contains("\"attention_bias\" must be true or false");
    assertThat(configError(c -> c.addProperty("model_type", 7)))
        .contains("\"model_type\" must be a string, was 7");
    assertThat(configError(c -> c.remove("intermediate_size")))
        .contains("\"intermediate_size\" is missing (an integer)");
    assertThat(configError(c -> c.add("vocab_size", JsonNull.INSTANCE)))
        .contains("\"vocab_size\" is missing");
  }

  @Test
  void config_badJson() throws IOException {
    Path file = dir.resolve("config.json");
    for (String text :
        new String[] {
          "",
          "[]",
          "{\"vocab_size\": 1",
          "{'a': 1}",
          "{\"a\": NaN}",
          "{} {}",
          "{\"a\": 1} x",
          "{\"vocab_size\": 12, \"vocab_size\": 13}",
          "{\"a\": 1e99999999999}"
        }) {
      Files.writeString(file, text);
      var e = assertThrows(WeightLoadException.class, () -> HfFolder.readConfig(file), text);
      assertThat(e).hasMessageThat().contains(file.toString());
    }
    Files.write(file, new byte[] {'{', '"', (byte) 0xC3, '"', ':', '1', '}'});
    assertThat(assertThrows(WeightLoadException.class, () -> HfFolder.readConfig(file)))
        .hasMessageThat()
        .contains("not valid UTF-8");
  }

  @Test
  void config_byteOrderMarkAccepted() throws IOException {
    Path file = dir.resolve("config.json");
    Files.writeString(file, "\uFEFF" + Fixtures.config(DIMS));
    assertThat(HfFolder.readConfig(file)).containsEntry(SpecElement.VOCAB_SIZE, 12);
  }

  private static JsonObject readIndex(Path model) {
    try {
      return JsonParser.parseString(Files.readString(model.resolve("model.safetensors.index.json")))
          .getAsJsonObject();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static void editIndex(Path model, Consumer<JsonObject> edit) {
    JsonObject index = readIndex(model);
    edit.accept(index.getAsJsonObject("weight_map"));
    Fixtures.write(
        model.resolve("model.safetensors.index.json"),
        index.toString().getBytes(StandardCharsets.UTF_8));
  }
}
