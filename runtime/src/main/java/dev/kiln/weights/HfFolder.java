package dev.kiln.weights;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.kiln.spec.SpecElement;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face model folder: {@code config.json} plus the weights in {@code model.safetensors} or
 * in shards named by {@code model.safetensors.index.json} ({@code {"metadata": {...}, "weight_map":
 * {"tensor name": "shard file name"}}}). When both a single file and an index are present, the
 * single file is read, as {@code transformers} does.
 *
 * <p>The index and the shards must agree exactly: every shard it names exists in the folder, every
 * tensor it lists is in the shard it names, and every tensor of a shard is listed for that shard
 * (so no tensor is in two shards). The tensors are the union of the shards', each read from its
 * memory-mapped shard.
 *
 * <p>The spec comes from {@code config.json} ({@link #readConfig}). The families Kiln models are
 * read ({@code model_type} {@code llama}, {@code mistral}, {@code qwen2}, {@code qwen3}, {@code
 * gemma2}); others, and options of these that Kiln does not model, are refused rather than misread.
 */
public final class HfFolder implements Checkpoint {
  static final String CONFIG = "config.json";
  static final String SINGLE = "model.safetensors";
  static final String INDEX = "model.safetensors.index.json";

  private final Path directory;
  private final Map<SpecElement, Object> spec;
  private final List<SafetensorsFile> shards;
  private final Map<String, SafetensorsFile> byName;

  private HfFolder(
      Path directory,
      Map<SpecElement, Object> spec,
      List<SafetensorsFile> shards,
      Map<String, SafetensorsFile> byName) {
    this.directory = directory;
    this.spec = spec;
    this.shards = shards;
    this.byName = byName;
  }

  /**
   * Reads the folder's config and index and maps its safetensors files; throws {@link
   * WeightLoadException} on any problem.
   */
  public static HfFolder open(Path directory) {
    if (!Files.isDirectory(directory)) {
      throw new WeightLoadException(
          directory
              + ": not a directory (a Hugging Face model folder holds "
              + CONFIG
              + " and safetensors files)");
    }
    Map<SpecElement, Object> spec = readConfig(directory.resolve(CONFIG));
    Path single = directory.resolve(SINGLE);
    Path index = directory.resolve(INDEX);
    for (Path file : List.of(single, index)) {
      if (Files.exists(file)) {
        RegularFiles.require(file);
      }
    }
    if (Files.isRegularFile(single)) {
      SafetensorsFile file = SafetensorsFile.open(single);
      Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
      for (String name : file.names()) {
        byName.put(name, file);
      }
      return new HfFolder(directory, spec, List.of(file), Collections.unmodifiableMap(byName));
    }
    if (Files.isRegularFile(index)) {
      return openSharded(directory, spec, index);
    }
    String hint =
        Files.exists(directory.resolve("pytorch_model.bin"))
                || Files.exists(directory.resolve("pytorch_model.bin.index.json"))
            ? " (it has PyTorch pickle weights; Kiln reads only safetensors: convert them)"
            : "";
    throw new WeightLoadException(
        directory + ": neither " + SINGLE + " nor " + INDEX + " is there" + hint);
  }

  private static HfFolder openSharded(Path directory, Map<SpecElement, Object> spec, Path index) {
    JsonObject root = StrictJson.readObject(index, "safetensors index");
    JsonElement metadata = root.get("metadata");
    if (metadata != null && !metadata.isJsonNull() && !metadata.isJsonObject()) {
      throw new WeightLoadException(
          index + ": \"metadata\" must be an object, was " + describe(metadata));
    }
    JsonElement weightMap = root.get("weight_map");
    if (weightMap == null || !weightMap.isJsonObject()) {
      throw new WeightLoadException(
          index
              + ": \"weight_map\" must be an object of tensor name to shard file name, was "
              + describe(weightMap));
    }
    // Tensor -> shard file name, and each shard's tensors, in the index's order.
    Map<String, String> shardOf = new LinkedHashMap<>();
    Map<String, List<String>> listed = new LinkedHashMap<>();
    for (var entry : weightMap.getAsJsonObject().entrySet()) {
      String tensor = entry.getKey();
      JsonElement value = entry.getValue();
      if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString()) {
        throw new WeightLoadException(
            index
                + ": \"weight_map\" entry for tensor "
                + tensor
                + " must be a shard file name (a string), was "
                + describe(value));
      }
      String shard = value.getAsString();
      checkShardName(index, tensor, shard);
      shardOf.put(tensor, shard);
      listed.computeIfAbsent(shard, s -> new ArrayList<>()).add(tensor);
    }
    if (shardOf.isEmpty()) {
      throw new WeightLoadException(index + ": \"weight_map\" lists no tensors");
    }

    List<SafetensorsFile> shards = new ArrayList<>();
    Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
    for (var entry : listed.entrySet()) {
      Path shardPath = directory.resolve(entry.getKey());
      if (Files.exists(shardPath)) {
        RegularFiles.require(shardPath);
      } else {
        throw new WeightLoadException(
            shardPath
                + ": shard file missing; "
                + index.getFileName()
                + " lists "
                + entry.getValue().size()
                + " tensors in it, e.g. "
                + entry.getValue().getFirst());
      }
      SafetensorsFile shard = SafetensorsFile.open(shardPath);
      for (String tensor : shard.names()) {
        SafetensorsFile earlier = byName.get(tensor);
        if (earlier != null) {
          throw new WeightLoadException(
              shardPath
                  + ": tensor "
                  + tensor
                  + " is also in shard "
                  + earlier.path()
                  + " (a tensor must be in one shard only)");
        }
        String expected = shardOf.get(tensor);
        if (expected == null) {
          throw new WeightLoadException(
              shardPath
                  + ": tensor "
                  + tensor
                  + " is in this shard but not in "
                  + index.getFileName()
                  + "'s weight_map");
        }
        if (!expected.equals(entry.getKey())) {
          throw new WeightLoadException(
              shardPath
                  + ": tensor "
                  + tensor
                  + " is in this shard but "
                  + index.getFileName()
                  + " maps it to shard "
                  + expected);
        }
        byName.put(tensor, shard);
      }
      for (String tensor : entry.getValue()) {
        if (!shard.names().contains(tensor)) {
          throw new WeightLoadException(
              shardPath
                  + ": tensor "
                  + tensor
                  + " is missing; "
                  + index.getFileName()
                  + " maps it to this shard");
        }
      }
      shards.add(shard);
    }
    return new HfFolder(directory, spec, List.copyOf(shards), Collections.unmodifiableMap(byName));
  }

  /** A shard must be a plain file name in the folder: no directories, no way out of it. */
  private static void checkShardName(Path index, String tensor, String shard) {
    boolean plain;
    try {
      plain =
          !shard.isEmpty()
              && !shard.equals(".")
              && !shard.equals("..")
              && shard.indexOf('/') < 0
              && shard.indexOf('\\') < 0
              && shard.indexOf('\0') < 0
              && Path.of(shard).getNameCount() == 1
              && !Path.of(shard).isAbsolute();
    } catch (InvalidPathException e) {
      plain = false;
    }
    if (!plain) {
      throw new WeightLoadException(
          index
              + ": \"weight_map\" maps tensor "
              + tensor
              + " to \""
              + shard
              + "\", which is not a plain file name in the folder");
    }
  }

  /** The {@code model_type}s Kiln reads, with the architecture class each names. */
  static final Map<String, String> MODEL_TYPES =
      Map.of(
          "llama", "LlamaForCausalLM",
          "mistral", "MistralForCausalLM",
          "qwen2", "Qwen2ForCausalLM",
          "qwen3", "Qwen3ForCausalLM",
          "gemma2", "Gemma2ForCausalLM");

  /**
   * The spec values a Hugging Face {@code config.json} states: vocabSize, hiddenSize,
   * intermediateSize, numHiddenLayers, numAttentionHeads (all required), numKeyValueHeads ({@code
   * num_key_value_heads}, default the number of heads), headDim (only when {@code head_dim} is
   * given; Gemma 2's default 256 otherwise), maxPositionEmbeddings, ropeTheta and rmsNormEps (only
   * when given: Kiln does not guess them), tieWordEmbeddings, attentionBias and mlpBias (defaults
   * as in each family's config class), and RoPE scaling ({@code rope_scaling} or transformers 5's
   * {@code rope_parameters}: {@code "default"}, {@code "linear"}, {@code "llama3"}).
   *
   * <p>Per {@code model_type}: {@code llama}; {@code mistral} (a sliding window on every layer when
   * {@code sliding_window} is set); {@code qwen2} (biases on q, k and v); {@code qwen3} (per-head
   * q/k norms); {@code gemma2} (norm gains 1 + w, embeddings times sqrt(hidden), sandwich norms,
   * GELU-tanh, {@code query_pre_attn_scalar}, both soft-cappings, a sliding window on even layers).
   *
   * <p>Refused with a {@link WeightLoadException}: another {@code model_type}, {@code
   * architectures} other than that type's, an activation the family does not use, RoPE scaling of
   * another type, Qwen's {@code use_sliding_window: true}, a {@code quantization_config}, and any
   * key of the wrong JSON type (the message names the key and the type it must have).
   */
  public static Map<SpecElement, Object> readConfig(Path configJson) {
    JsonObject config = StrictJson.readObject(configJson, "config");
    var reader = new ConfigReader(configJson, config);

    String modelType = reader.string("model_type", null);
    String supported =
        String.join(
            ", ", MODEL_TYPES.keySet().stream().sorted().map(t -> "\"" + t + "\"").toList());
    if (modelType == null) {
      throw reader.error("\"model_type\" is missing; Kiln reads the model types " + supported);
    }
    String architectureClass = MODEL_TYPES.get(modelType);
    if (architectureClass == null) {
      throw reader.error(
          "model_type is \"" + modelType + "\"; Kiln reads the model types " + supported);
    }
    JsonElement architectures = config.get("architectures");
    if (architectures != null && !architectures.isJsonNull()) {
      if (!architectures.isJsonArray()
          || architectures.getAsJsonArray().isEmpty()
          || !architectures.getAsJsonArray().asList().stream().allMatch(ConfigReader::isString)) {
        throw reader.error(
            "\"architectures\" must be a non-empty array of strings, was "
                + describe(architectures));
      }
      for (JsonElement architecture : architectures.getAsJsonArray()) {
        if (!architecture.getAsString().equals(architectureClass)) {
          throw reader.error(
              "architecture is \""
                  + architecture.getAsString()
                  + "\"; Kiln reads "
                  + modelType
                  + " models as "
                  + architectureClass);
        }
      }
    }
    boolean gemma = modelType.equals("gemma2");
    String actKey =
        SpecElement.HIDDEN_ACT
            .hfKey(); // Gemma 2 names it hidden_activation, and reads hidden_act too
    String act =
        gemma
            ? reader.string("hidden_activation", reader.string(actKey, "gelu_pytorch_tanh"))
            : reader.string(actKey, "silu");
    String expectedAct = gemma ? "gelu_pytorch_tanh" : "silu";
    if (!act.equals(expectedAct)) {
      throw reader.error(
          (gemma ? "hidden_activation" : actKey)
              + " is \""
              + act
              + "\"; Kiln's "
              + modelType
              + " MLP needs \""
              + expectedAct
              + "\"");
    }
    JsonElement quantization = config.get("quantization_config");
    if (quantization != null && !quantization.isJsonNull()) {
      throw reader.error(
          "quantization_config "
              + describe(quantization)
              + " is not supported (Kiln reads F32, F16 and BF16 safetensors)");
    }

    Map<SpecElement, Object> spec = new EnumMap<>(SpecElement.class);
    for (SpecElement element :
        List.of(
            SpecElement.VOCAB_SIZE,
            SpecElement.HIDDEN_SIZE,
            SpecElement.INTERMEDIATE_SIZE,
            SpecElement.NUM_HIDDEN_LAYERS,
            SpecElement.NUM_ATTENTION_HEADS)) {
      spec.put(element, reader.requiredInt(element.hfKey()));
    }
    int heads = (Integer) spec.get(SpecElement.NUM_ATTENTION_HEADS);
    Integer kvHeads = reader.optionalInt(SpecElement.NUM_KEY_VALUE_HEADS.hfKey());
    spec.put(SpecElement.NUM_KEY_VALUE_HEADS, kvHeads == null ? heads : kvHeads);
    Integer headDim = reader.optionalInt(SpecElement.HEAD_DIM.hfKey());
    if (headDim == null && gemma) {
      headDim = 256; // Gemma2Config's default
    }
    if (headDim != null) {
      spec.put(SpecElement.HEAD_DIM, headDim);
    }
    Integer maxPositions = reader.optionalInt(SpecElement.MAX_POSITION_EMBEDDINGS.hfKey());
    if (maxPositions != null) {
      spec.put(SpecElement.MAX_POSITION_EMBEDDINGS, maxPositions);
    }
    Double eps = reader.optionalDouble(SpecElement.RMS_NORM_EPS.hfKey());
    if (eps != null) {
      spec.put(SpecElement.RMS_NORM_EPS, eps);
    }
    ropeParameters(reader, config, spec);
    reader.putBool(spec, SpecElement.TIE_WORD_EMBEDDINGS, gemma);
    switch (modelType) {
      case "llama" -> {
        reader.putBool(spec, SpecElement.ATTENTION_BIAS, false);
        reader.putBool(spec, SpecElement.MLP_BIAS, false);
      }
      case "mistral" -> {
        Integer window = reader.optionalInt(SpecElement.SLIDING_WINDOW.hfKey());
        if (window != null) {
          spec.put(SpecElement.SLIDING_WINDOW, window);
        }
      }
      case "qwen2", "qwen3" -> {
        if (reader.bool("use_sliding_window", false)) {
          throw reader.error(
              "use_sliding_window is true; Kiln does not model Qwen's sliding window (layers from"
                  + " max_window_layers on)");
        }
        if (modelType.equals("qwen2")) {
          spec.put(SpecElement.QKV_BIAS, true);
        } else {
          reader.putBool(spec, SpecElement.ATTENTION_BIAS, false);
          spec.put(SpecElement.QK_NORM, true);
        }
      }
      case "gemma2" -> {
        reader.putBool(spec, SpecElement.ATTENTION_BIAS, false);
        spec.put(SpecElement.RMS_NORM_UNIT_OFFSET, true);
        spec.put(SpecElement.SCALE_EMBEDDINGS, true);
        spec.put(SpecElement.SANDWICH_NORMS, true);
        spec.put(SpecElement.HIDDEN_ACT, dev.kiln.Activation.GELU_TANH);
        Double scalar = reader.optionalDouble(SpecElement.QUERY_PRE_ATTN_SCALAR.hfKey());
        spec.put(SpecElement.QUERY_PRE_ATTN_SCALAR, scalar != null ? scalar : 256.0);
        Double attnCap = reader.optionalDouble(SpecElement.ATTN_LOGIT_SOFTCAPPING.hfKey());
        spec.put(SpecElement.ATTN_LOGIT_SOFTCAPPING, attnCap != null ? attnCap : 0.0);
        Double finalCap = reader.optionalDouble(SpecElement.FINAL_LOGIT_SOFTCAPPING.hfKey());
        spec.put(SpecElement.FINAL_LOGIT_SOFTCAPPING, finalCap != null ? finalCap : 0.0);
        Integer window = reader.optionalInt(SpecElement.SLIDING_WINDOW.hfKey());
        spec.put(SpecElement.SLIDING_WINDOW, window != null ? window : 4096);
        spec.put(SpecElement.SLIDING_WINDOW_LAYERS, dev.kiln.SlidingWindowLayers.EVEN);
      }
      default -> throw new IllegalStateException(modelType);
    }
    return Collections.unmodifiableMap(spec);
  }

  /**
   * RoPE theta and scaling: {@code rope_theta} and {@code rope_scaling}, or transformers 5's {@code
   * rope_parameters} (which holds both); values given in both places must agree. Scaling types
   * read: {@code "default"} (none), {@code "linear"} ({@code factor}) and {@code "llama3"} ({@code
   * factor}, {@code low_freq_factor}, {@code high_freq_factor}, {@code
   * original_max_position_embeddings}).
   */
  private static void ropeParameters(
      ConfigReader reader, JsonObject config, Map<SpecElement, Object> spec) {
    Double top = reader.optionalDouble(SpecElement.ROPE_THETA.hfKey());
    JsonElement scaling = config.get("rope_scaling");
    JsonElement parameters = config.get("rope_parameters");
    Double theta = top;
    if (parameters != null && !parameters.isJsonNull()) {
      if (!parameters.isJsonObject()) {
        throw reader.error("\"rope_parameters\" must be an object, was " + describe(parameters));
      }
      var nested =
          new ConfigReader(reader.file(), parameters.getAsJsonObject(), "rope_parameters.");
      Double inner = nested.optionalDouble(SpecElement.ROPE_THETA.hfKey());
      if (top != null && inner != null && !top.equals(inner)) {
        throw reader.error(
            "rope_theta " + top + " and rope_parameters.rope_theta " + inner + " disagree");
      }
      theta = inner != null ? inner : top;
      if (scaling == null || scaling.isJsonNull()) {
        scaling = parameters;
      }
    }
    if (theta != null) {
      spec.put(SpecElement.ROPE_THETA, theta);
    }
    if (scaling == null || scaling.isJsonNull()) {
      return;
    }
    if (!scaling.isJsonObject()) {
      throw reader.error("\"rope_scaling\" must be an object or null, was " + describe(scaling));
    }
    String prefix = scaling == parameters ? "rope_parameters." : "rope_scaling.";
    var nested = new ConfigReader(reader.file(), scaling.getAsJsonObject(), prefix);
    String type = nested.string(leaf(SpecElement.ROPE_SCALING), nested.string("type", "default"));
    switch (type) {
      case "default" -> {}
      case "linear" -> {
        spec.put(SpecElement.ROPE_SCALING, dev.kiln.RopeScaling.LINEAR);
        spec.put(
            SpecElement.ROPE_SCALING_FACTOR,
            nested.requiredDouble(leaf(SpecElement.ROPE_SCALING_FACTOR)));
      }
      case "llama3" -> {
        spec.put(SpecElement.ROPE_SCALING, dev.kiln.RopeScaling.LLAMA3);
        for (SpecElement element :
            List.of(
                SpecElement.ROPE_SCALING_FACTOR,
                SpecElement.ROPE_SCALING_LOW_FREQ_FACTOR,
                SpecElement.ROPE_SCALING_HIGH_FREQ_FACTOR)) {
          spec.put(element, nested.requiredDouble(leaf(element)));
        }
        spec.put(
            SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS,
            nested.requiredInt(leaf(SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS)));
      }
      default ->
          throw reader.error(
              prefix.substring(0, prefix.length() - 1)
                  + " "
                  + describe(scaling)
                  + " is not supported (rope_type \""
                  + type
                  + "\"; Kiln reads \"default\", \"linear\" and \"llama3\")");
    }
  }

  /**
   * An element's key inside {@code rope_scaling} (or {@code rope_parameters}): its config.json
   * key's last part.
   */
  private static String leaf(SpecElement element) {
    String key = element.hfKey();
    return key.substring(key.lastIndexOf('.') + 1);
  }

  /** Typed access to a config object's keys; every error names the file and the key. */
  private record ConfigReader(Path file, JsonObject object, String prefix) {
    ConfigReader(Path file, JsonObject object) {
      this(file, object, "");
    }

    static boolean isString(JsonElement element) {
      return element.isJsonPrimitive() && element.getAsJsonPrimitive().isString();
    }

    WeightLoadException error(String message) {
      return new WeightLoadException(file + ": " + message);
    }

    private WeightLoadException wrongType(String key, String expected, JsonElement value) {
      return error("\"" + prefix + key + "\" must be " + expected + ", was " + describe(value));
    }

    /** The value, or null when the key is missing or JSON null. */
    private JsonElement get(String key) {
      JsonElement value = object.get(key);
      return value == null || value.isJsonNull() ? null : value;
    }

    String string(String key, String fallback) {
      JsonElement value = get(key);
      if (value == null) {
        return fallback;
      }
      if (!isString(value)) {
        throw wrongType(key, "a string", value);
      }
      return value.getAsString();
    }

    boolean bool(String key, boolean fallback) {
      JsonElement value = get(key);
      if (value == null) {
        return fallback;
      }
      if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isBoolean()) {
        throw wrongType(key, "true or false", value);
      }
      return value.getAsBoolean();
    }

    /**
     * Puts boolean {@code element}'s value from its config.json key, {@code fallback} when the key
     * is absent.
     */
    void putBool(Map<SpecElement, Object> spec, SpecElement element, boolean fallback) {
      spec.put(element, bool(element.hfKey(), fallback));
    }

    int requiredInt(String key) {
      Integer value = optionalInt(key);
      if (value == null) {
        throw error("\"" + prefix + key + "\" is missing (an integer)");
      }
      return value;
    }

    double requiredDouble(String key) {
      Double value = optionalDouble(key);
      if (value == null) {
        throw error("\"" + prefix + key + "\" is missing (a number)");
      }
      return value;
    }

    Integer optionalInt(String key) {
      JsonElement value = get(key);
      if (value == null) {
        return null;
      }
      BigDecimal number = number(value);
      if (number == null) {
        throw wrongType(key, "an integer", value);
      }
      try {
        return number.intValueExact();
      } catch (ArithmeticException e) {
        throw wrongType(key, "an integer in 32-bit range", value);
      }
    }

    Double optionalDouble(String key) {
      JsonElement value = get(key);
      if (value == null) {
        return null;
      }
      BigDecimal number = number(value);
      double result = number == null ? Double.NaN : number.doubleValue();
      if (!Double.isFinite(result)) {
        throw wrongType(key, "a finite number", value);
      }
      return result;
    }

    private static BigDecimal number(JsonElement value) {
      if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isNumber()) {
        return null;
      }
      JsonPrimitive primitive = value.getAsJsonPrimitive();
      return primitive.getAsNumber() instanceof BigDecimal exact
          ? exact
          : primitive.getAsBigDecimal();
    }
  }

  /** A JSON value for messages, shortened. */
  static String describe(JsonElement value) {
    if (value == null) {
      return "missing";
    }
    String text = value.toString();
    return text.length() > 80 ? text.substring(0, 77) + "..." : text;
  }

  public Path directory() {
    return directory;
  }

  /**
   * The safetensors files, in the order the index first names them (one for a single-file folder).
   */
  public List<SafetensorsFile> shards() {
    return shards;
  }

  @Override
  public String format() {
    return shards.size() == 1 && shards.getFirst().path().getFileName().toString().equals(SINGLE)
        ? "Hugging Face folder (safetensors)"
        : "Hugging Face folder (" + shards.size() + " safetensors shards)";
  }

  /** The values of {@code config.json}, see {@link #readConfig}. */
  @Override
  public Map<SpecElement, Object> statedSpec() {
    return spec;
  }

  @Override
  public String description() {
    return directory.toString();
  }

  /** All tensors: shard by shard, each shard's in file order. */
  @Override
  public Set<String> names() {
    return byName.keySet();
  }

  private SafetensorsFile shardOf(String name) {
    SafetensorsFile shard = byName.get(name);
    if (shard == null) {
      throw new WeightLoadException(directory + ": no tensor named " + name);
    }
    return shard;
  }

  @Override
  public long[] shape(String name) {
    return shardOf(name).shape(name);
  }

  @Override
  public String dtypeName(String name) {
    return shardOf(name).dtypeName(name);
  }

  @Override
  public WeightTensor read(String name) {
    return shardOf(name).read(name);
  }
}
