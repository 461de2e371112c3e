package dev.kiln.weights;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes small checkpoints for tests: llama2.c v0 files, safetensors files and Hugging Face
 * folders.
 */
final class Fixtures {
  private Fixtures() {}

  /** A small Llama's sizes, as a llama2.c header states them. */
  record Dims(
      int dim,
      int hidden,
      int layers,
      int heads,
      int kvHeads,
      int vocab,
      int seqLen,
      boolean shared) {
    int headSize() {
      return dim / heads;
    }

    static Dims small(boolean shared) {
      return new Dims(16, 24, 2, 4, 2, 12, 6, shared);
    }
  }

  /** One tensor's shape and values, row-major in Hugging Face layout. */
  record Tensor(long[] shape, float[] values) {}

  /**
   * Seeded tensors of a Llama with these sizes under Hugging Face names and shapes, in layer order.
   */
  static Map<String, Tensor> hfTensors(Dims d, long seed) {
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    var random = new SplittableRandom(seed);
    int q = d.heads() * d.headSize();
    int kv = d.kvHeads() * d.headSize();
    put(tensors, random, "model.embed_tokens.weight", d.vocab(), d.dim());
    for (int layer = 0; layer < d.layers(); layer++) {
      String p = "model.layers." + layer + ".";
      put(tensors, random, p + "input_layernorm.weight", d.dim());
      put(tensors, random, p + "self_attn.q_proj.weight", q, d.dim());
      put(tensors, random, p + "self_attn.k_proj.weight", kv, d.dim());
      put(tensors, random, p + "self_attn.v_proj.weight", kv, d.dim());
      put(tensors, random, p + "self_attn.o_proj.weight", d.dim(), q);
      put(tensors, random, p + "post_attention_layernorm.weight", d.dim());
      put(tensors, random, p + "mlp.gate_proj.weight", d.hidden(), d.dim());
      put(tensors, random, p + "mlp.up_proj.weight", d.hidden(), d.dim());
      put(tensors, random, p + "mlp.down_proj.weight", d.dim(), d.hidden());
    }
    put(tensors, random, "model.norm.weight", d.dim());
    if (!d.shared()) {
      put(tensors, random, "lm_head.weight", d.vocab(), d.dim());
    }
    return tensors;
  }

  private static void put(
      Map<String, Tensor> tensors, SplittableRandom random, String name, long... shape) {
    long count = 1;
    for (long s : shape) {
      count *= s;
    }
    float[] values = new float[(int) count];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    tensors.put(name, new Tensor(shape, values));
  }

  // ---- llama2.c ----

  /**
   * The bytes of a llama2.c v0 file holding {@code hf} (from {@link #hfTensors}), q/k rows permuted
   * as llama2.c stores them.
   */
  static byte[] llama2cBytes(Dims d, Map<String, Tensor> hf) {
    List<float[]> arrays = new ArrayList<>();
    arrays.add(hf.get("model.embed_tokens.weight").values());
    stacked(arrays, d, hf, "input_layernorm.weight", 0);
    stacked(arrays, d, hf, "self_attn.q_proj.weight", d.heads());
    stacked(arrays, d, hf, "self_attn.k_proj.weight", d.kvHeads());
    stacked(arrays, d, hf, "self_attn.v_proj.weight", 0);
    stacked(arrays, d, hf, "self_attn.o_proj.weight", 0);
    stacked(arrays, d, hf, "post_attention_layernorm.weight", 0);
    stacked(arrays, d, hf, "mlp.gate_proj.weight", 0); // w1
    stacked(arrays, d, hf, "mlp.down_proj.weight", 0); // w2
    stacked(arrays, d, hf, "mlp.up_proj.weight", 0); // w3
    arrays.add(hf.get("model.norm.weight").values());
    int half = d.headSize() / 2;
    float[] real = new float[d.seqLen() * half];
    float[] imag = new float[d.seqLen() * half];
    for (int pos = 0; pos < d.seqLen(); pos++) {
      for (int i = 0; i < half; i++) {
        double angle = pos / Math.pow(10000.0, 2.0 * i / d.headSize());
        real[pos * half + i] = (float) Math.cos(angle);
        imag[pos * half + i] = (float) Math.sin(angle);
      }
    }
    arrays.add(real);
    arrays.add(imag);
    if (!d.shared()) {
      arrays.add(hf.get("lm_head.weight").values());
    }
    int floats = arrays.stream().mapToInt(a -> a.length).sum();
    ByteBuffer buffer = ByteBuffer.allocate(28 + 4 * floats).order(ByteOrder.LITTLE_ENDIAN);
    buffer
        .putInt(d.dim())
        .putInt(d.hidden())
        .putInt(d.layers())
        .putInt(d.heads())
        .putInt(d.kvHeads())
        .putInt(d.shared() ? d.vocab() : -d.vocab())
        .putInt(d.seqLen());
    for (float[] array : arrays) {
      for (float v : array) {
        buffer.putFloat(v);
      }
    }
    return buffer.array();
  }

  /**
   * Appends a per-layer tensor for every layer; with {@code heads > 0}, rows in llama2.c's
   * interleaved RoPE order.
   */
  private static void stacked(
      List<float[]> arrays, Dims d, Map<String, Tensor> hf, String suffix, int heads) {
    for (int layer = 0; layer < d.layers(); layer++) {
      Tensor tensor = hf.get("model.layers." + layer + "." + suffix);
      if (heads == 0) {
        arrays.add(tensor.values());
        continue;
      }
      int hs = d.headSize();
      int columns = (int) tensor.shape()[1];
      float[] stored = new float[tensor.values().length];
      for (int storedRow = 0; storedRow < heads * hs; storedRow++) {
        // Stored row h*hs + 2i + j holds the pair element j of rotary pair i: HF row h*hs + j*hs/2
        // + i.
        int head = storedRow / hs;
        int within = storedRow % hs;
        int hfRow = head * hs + (within % 2) * (hs / 2) + within / 2;
        System.arraycopy(tensor.values(), hfRow * columns, stored, storedRow * columns, columns);
      }
      arrays.add(stored);
    }
  }

  static Path writeLlama2c(Path file, Dims d, Map<String, Tensor> hf) {
    return write(file, llama2cBytes(d, hf));
  }

  // ---- safetensors and Hugging Face folders ----

  /** A float32 safetensors file holding {@code tensors} in order. */
  static byte[] safetensorsBytes(Map<String, Tensor> tensors) {
    JsonObject header = new JsonObject();
    JsonObject metadata = new JsonObject();
    metadata.addProperty("format", "pt");
    header.add("__metadata__", metadata);
    long offset = 0;
    for (var entry : tensors.entrySet()) {
      JsonObject info = new JsonObject();
      info.addProperty("dtype", "F32");
      JsonArray shape = new JsonArray();
      for (long s : entry.getValue().shape()) {
        shape.add(s);
      }
      info.add("shape", shape);
      JsonArray offsets = new JsonArray();
      offsets.add(offset);
      offset += 4L * entry.getValue().values().length;
      offsets.add(offset);
      info.add("data_offsets", offsets);
      header.add(entry.getKey(), info);
    }
    byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
    ByteBuffer buffer =
        ByteBuffer.allocate(8 + json.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
    buffer.putLong(json.length).put(json);
    for (Tensor tensor : tensors.values()) {
      for (float v : tensor.values()) {
        buffer.putFloat(v);
      }
    }
    return buffer.array();
  }

  /**
   * A Llama {@code config.json} for these sizes (rope theta 1e4, eps 1e-5), as transformers writes
   * one.
   */
  static JsonObject config(Dims d) {
    JsonObject config = new JsonObject();
    JsonArray architectures = new JsonArray();
    architectures.add("LlamaForCausalLM");
    config.add("architectures", architectures);
    config.addProperty("model_type", "llama");
    config.addProperty("vocab_size", d.vocab());
    config.addProperty("hidden_size", d.dim());
    config.addProperty("intermediate_size", d.hidden());
    config.addProperty("num_hidden_layers", d.layers());
    config.addProperty("num_attention_heads", d.heads());
    config.addProperty("num_key_value_heads", d.kvHeads());
    config.addProperty("head_dim", d.headSize());
    config.addProperty("max_position_embeddings", d.seqLen());
    config.addProperty("rms_norm_eps", 1e-5);
    config.addProperty("rope_theta", 10000.0);
    config.add("rope_scaling", com.google.gson.JsonNull.INSTANCE);
    config.addProperty("hidden_act", "silu");
    config.addProperty("attention_bias", false);
    config.addProperty("mlp_bias", false);
    config.addProperty("tie_word_embeddings", d.shared());
    config.addProperty("torch_dtype", "float32");
    return config;
  }

  /** The shard file names transformers uses: {@code model-00001-of-00003.safetensors}. */
  static String shardName(int index, int count) {
    return String.format("model-%05d-of-%05d.safetensors", index + 1, count);
  }

  /**
   * A Hugging Face folder: {@code config.json} and either {@code model.safetensors} ({@code shards
   * == 1}) or {@code shards} shard files (tensors split into consecutive runs) plus the index.
   */
  static Path writeHfFolder(Path dir, JsonObject config, Map<String, Tensor> tensors, int shards) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    write(dir.resolve("config.json"), config.toString().getBytes(StandardCharsets.UTF_8));
    if (shards == 1) {
      write(dir.resolve("model.safetensors"), safetensorsBytes(tensors));
      return dir;
    }
    List<String> names = new ArrayList<>(tensors.keySet());
    JsonObject weightMap = new JsonObject();
    long totalSize = 0;
    for (int s = 0; s < shards; s++) {
      Map<String, Tensor> part = new LinkedHashMap<>();
      for (int i = s * names.size() / shards; i < (s + 1) * names.size() / shards; i++) {
        part.put(names.get(i), tensors.get(names.get(i)));
        weightMap.addProperty(names.get(i), shardName(s, shards));
        totalSize += 4L * tensors.get(names.get(i)).values().length;
      }
      write(dir.resolve(shardName(s, shards)), safetensorsBytes(part));
    }
    JsonObject index = new JsonObject();
    JsonObject metadata = new JsonObject();
    metadata.addProperty("total_size", totalSize);
    index.add("metadata", metadata);
    index.add("weight_map", weightMap);
    write(
        dir.resolve("model.safetensors.index.json"),
        index.toString().getBytes(StandardCharsets.UTF_8));
    return dir;
  }

  static Path write(Path file, byte[] bytes) {
    try {
      return Files.write(file, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Reads everything a checkpoint offers (names, shapes, dtypes, every tensor's values, the spec);
   * returns the element count.
   */
  static long readEverything(Checkpoint checkpoint) {
    long elements = 0;
    checkpoint.format();
    checkpoint.statedSpec().size();
    for (String name : checkpoint.names()) {
      checkpoint.shape(name);
      checkpoint.dtypeName(name);
      WeightTensor tensor = checkpoint.read(name);
      elements += tensor.toArray().length;
      checkpoint.readFloat(name);
    }
    return elements;
  }
}
