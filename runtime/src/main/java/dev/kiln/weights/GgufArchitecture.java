package dev.kiln.weights;

import dev.kiln.spec.SpecElement;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the GGUF files of the architectures Kiln reads ({@code llama}, {@code qwen2}, {@code qwen3},
 * {@code gemma2}) map onto Hugging Face's model: their tensors under Hugging Face names (e.g.
 * {@code blk.0.attn_q.weight} is {@code model.layers.0.self_attn.q_proj.weight}; names Kiln does
 * not know keep their GGUF name) and shapes (the GGML dimensions reversed), with the q and k rows
 * that llama.cpp's converter permutes put back in Hugging Face order and Gemma 2's stored norm
 * gains {@code 1 + w} turned back into {@code w}; and the spec their metadata states, read from the
 * keys of the {@link SpecElement} table. The bytes themselves are {@link GgufContainer}'s.
 */
final class GgufArchitecture {
  /** The architectures ({@code general.architecture}) whose tensors Kiln reads. */
  static final List<String> ARCHITECTURES = List.of("llama", "qwen2", "qwen3", "gemma2");

  /**
   * The tensor llama.cpp writes for Llama 3 RoPE scaling: each frequency's divisor (read into the
   * spec).
   */
  static final String ROPE_FREQS = "rope_freqs.weight";

  /** Gemma 2's GGUF norm tensors, which store the gain 1 + w where Hugging Face stores w. */
  private static final Pattern GEMMA_NORM =
      Pattern.compile(
          "(blk\\.[0-9]+\\.(attn_norm|post_attention_norm|ffn_norm|post_ffw_norm)|output_norm)\\.weight");

  private static final Pattern LAYER_NAME =
      Pattern.compile("blk\\.(0|[1-9][0-9]{0,8})\\.([a-z_]+)\\.(weight|bias)");
  private static final Map<String, String> LAYER_PARTS =
      Map.of(
          "attn_q", "self_attn.q_proj",
          "attn_k", "self_attn.k_proj",
          "attn_v", "self_attn.v_proj",
          "attn_output", "self_attn.o_proj",
          "attn_norm", "input_layernorm",
          "attn_q_norm", "self_attn.q_norm",
          "attn_k_norm", "self_attn.k_norm",
          "ffn_gate", "mlp.gate_proj",
          "ffn_up", "mlp.up_proj",
          "ffn_down", "mlp.down_proj");

  /**
   * Llama's, Qwen's: the norm before the MLP is {@code ffn_norm}, Hugging Face's
   * post_attention_layernorm.
   */
  private static final Map<String, String> LLAMA_NORM_PARTS =
      Map.of("ffn_norm", "post_attention_layernorm");

  /** Gemma 2's sandwich norms: Hugging Face's post_attention_layernorm is after attention. */
  private static final Map<String, String> GEMMA2_NORM_PARTS =
      Map.of(
          "post_attention_norm", "post_attention_layernorm",
          "ffn_norm", "pre_feedforward_layernorm",
          "post_ffw_norm", "post_feedforward_layernorm");

  private static final Map<String, String> GLOBAL_PARTS =
      Map.of(
          "token_embd", "model.embed_tokens",
          "output_norm", "model.norm",
          "output", "lm_head");

  /** Which permuted rows a tensor has. */
  private enum Permutation {
    NONE,
    QUERY,
    KEY
  }

  /** A tensor under its Hugging Face name. */
  private record Mapped(GgufTensorInfo info, Permutation permutation) {}

  private final GgufContainer container;
  private final Path path;
  private final GgufMetadata metadata;
  private final Map<String, GgufTensorInfo> tensors;
  private final Map<String, Mapped> byHfName;

  private GgufArchitecture(GgufContainer container, Map<String, Mapped> byHfName) {
    this.container = container;
    this.path = container.path();
    this.metadata = container.metadata();
    this.tensors = container.tensorInfos();
    this.byHfName = Collections.unmodifiableMap(byHfName);
  }

  /**
   * The Hugging Face view of {@code container}'s tensors; a {@link WeightLoadException} when two
   * tensors stand for the same Hugging Face tensor. The architecture itself is checked when a
   * tensor or the spec is read.
   */
  static GgufArchitecture of(GgufContainer container) {
    String architecture = container.metadata().getString("general.architecture").orElse("");
    return new GgufArchitecture(
        container, hfNames(container, container.tensorInfos(), architecture));
  }

  /**
   * Hugging Face names of the tensors. The names of the norms depend on the architecture, and only
   * {@code llama} files have permuted q/k rows (llama.cpp's converter interleaves them for its
   * RoPE; for qwen2, qwen3 and gemma2 it keeps Hugging Face's order). {@link #ROPE_FREQS} is part
   * of the spec, not a weight, and has no Hugging Face name.
   */
  private static Map<String, Mapped> hfNames(
      GgufContainer in, Map<String, GgufTensorInfo> tensors, String architecture) {
    Map<String, Mapped> byHfName = new LinkedHashMap<>();
    Map<String, String> normParts =
        architecture.equals("gemma2") ? GEMMA2_NORM_PARTS : LLAMA_NORM_PARTS;
    for (GgufTensorInfo info : tensors.values()) {
      if (info.name().equals(ROPE_FREQS)) {
        continue;
      }
      Permutation permutation = Permutation.NONE;
      String hfName = info.name();
      Matcher layer = LAYER_NAME.matcher(info.name());
      int dot = info.name().lastIndexOf('.');
      String part =
          layer.matches()
              ? LAYER_PARTS.getOrDefault(layer.group(2), normParts.get(layer.group(2)))
              : null;
      if (part != null) {
        hfName = "model.layers." + layer.group(1) + "." + part + "." + layer.group(3);
        permutation =
            !architecture.equals("llama")
                ? Permutation.NONE
                : switch (layer.group(2)) {
                  case "attn_q" -> Permutation.QUERY;
                  case "attn_k" -> Permutation.KEY;
                  default -> Permutation.NONE;
                };
      } else if (dot > 0
          && GLOBAL_PARTS.containsKey(info.name().substring(0, dot))
          && (info.name().endsWith(".weight") || info.name().endsWith(".bias"))) {
        hfName = GLOBAL_PARTS.get(info.name().substring(0, dot)) + info.name().substring(dot);
      }
      Mapped previous = byHfName.putIfAbsent(hfName, new Mapped(info, permutation));
      if (previous != null) {
        throw in.error(
            info.infoOffset(),
            "tensors "
                + previous.info().name()
                + " and "
                + info.name()
                + " both stand for the Hugging Face tensor "
                + hfName);
      }
    }
    return byHfName;
  }

  /** The architecture named by {@code general.architecture}. */
  Optional<String> architecture() {
    return metadata.getString("general.architecture");
  }

  /**
   * Hugging Face names of the tensors in file order (tensors Kiln has no name for keep their GGUF
   * name).
   */
  Set<String> names() {
    return byHfName.keySet();
  }

  long[] shape(String name) {
    return mapped(name).info().shape();
  }

  String dtypeName(String name) {
    return mapped(name).info().dtype().name();
  }

  /** The GGUF tensor that Hugging Face tensor {@code name} is read from. */
  GgufTensorInfo tensorInfoOf(String name) {
    return mapped(name).info();
  }

  private Mapped mapped(String name) {
    Mapped mapped = byHfName.get(name);
    if (mapped == null) {
      throw new WeightLoadException(
          path
              + ": no tensor named "
              + dev.kiln.ProblemList.shorten(name, 200)
              + " (GGUF tensors are named "
              + String.join(
                  ", ",
                  byHfName.keySet().stream()
                      .limit(4)
                      .map(n -> dev.kiln.ProblemList.shorten(n, 100))
                      .toList())
              + (byHfName.size() > 4 ? ", ..." : "")
              + ")");
    }
    return mapped;
  }

  /**
   * The tensor under its Hugging Face name and shape, in its stored type; the permuted rows of q
   * and k projections are put back in Hugging Face order (a view for matrices, a float32 copy for
   * biases). Only for {@code llama} files.
   */
  WeightTensor read(String name) {
    Mapped mapped = mapped(name);
    String architecture = requireSupported();
    WeightTensor stored = view(mapped.info(), name);
    if (architecture.equals("gemma2") && GEMMA_NORM.matcher(mapped.info().name()).matches()) {
      // The file stores 1 + w; Hugging Face's w is stored - 1 (exact in float32 for gains near 1).
      float[] values = stored.toArray();
      for (int i = 0; i < values.length; i++) {
        values[i] -= 1f;
      }
      return FloatTensor.of(name, mapped.info().shape(), values);
    }
    if (mapped.permutation() == Permutation.NONE) {
      return stored;
    }
    GgufTensorInfo info = mapped.info();
    int heads = mapped.permutation() == Permutation.QUERY ? headCount() : keyValueHeadCount();
    long[] shape = info.shape();
    long rows = shape[0];
    if (shape.length > 2
        || rows > Integer.MAX_VALUE
        || rows % heads != 0
        || rows / heads % 2 != 0
        || (shape.length == 2 && stored.rows() != rows)) {
      throw new WeightLoadException(
          where(info.infoOffset())
              + "tensor "
              + info.name()
              + " "
              + Arrays.toString(shape)
              + ": cannot put its rows back in Hugging Face order for "
              + heads
              + " heads (expected one or two dimensions and "
              + "a first dimension that is "
              + heads
              + " times an even head dimension, and some elements)");
    }
    if (rows == 0) {
      return stored;
    }
    int[] order = hfRowOrder((int) rows, (int) (rows / heads));
    if (shape.length == 2) {
      return stored.withRowOrder(order);
    }
    // A bias: one row of `rows` elements, permuted like the weight's rows.
    float[] values = stored.toArray();
    float[] reordered = new float[values.length];
    for (int i = 0; i < order.length; i++) {
      reordered[i] = values[order[i]];
    }
    return FloatTensor.of(name, shape, reordered);
  }

  /**
   * Where each Hugging Face row is stored: llama.cpp's converter interleaves the two halves of
   * every head, so Hugging Face row {@code h*hd + j*(hd/2) + i} is GGUF row {@code h*hd + 2*i + j}.
   */
  static int[] hfRowOrder(int rows, int headDim) {
    int[] order = new int[rows];
    int half = headDim / 2;
    for (int h = 0; h < rows / headDim; h++) {
      for (int j = 0; j < 2; j++) {
        for (int i = 0; i < half; i++) {
          order[h * headDim + j * half + i] = h * headDim + 2 * i + j;
        }
      }
    }
    return order;
  }

  private int headCount() {
    String key = requireSupported() + "." + SpecElement.NUM_ATTENTION_HEADS.ggufKey();
    Integer heads = count(key);
    if (heads == null || heads == 0) {
      throw new WeightLoadException(
          path
              + ": metadata "
              + key
              + " is "
              + (heads == null ? "missing" : "0")
              + "; it is needed to put the q projection's rows in Hugging Face order");
    }
    return heads;
  }

  private int keyValueHeadCount() {
    String key = requireSupported() + "." + SpecElement.NUM_KEY_VALUE_HEADS.ggufKey();
    Integer heads = count(key);
    if (heads == null) {
      return headCount();
    }
    if (heads == 0) {
      throw new WeightLoadException(
          where(metadata.offset(key))
              + "metadata "
              + key
              + " is 0; it is needed to put the k projection's rows in Hugging Face order");
    }
    return heads;
  }

  /**
   * The file's architecture, one of {@link #ARCHITECTURES}; anything else is a {@link
   * WeightLoadException} naming it.
   */
  private String requireSupported() {
    String key = "general.architecture";
    String architecture =
        architecture()
            .orElseThrow(
                () ->
                    new WeightLoadException(
                        path
                            + ": GGUF file has no "
                            + key
                            + " metadata; Kiln reads "
                            + String.join(", ", ARCHITECTURES)
                            + " files"));
    if (!ARCHITECTURES.contains(architecture)) {
      throw new WeightLoadException(
          where(metadata.offset(key))
              + key
              + " is \""
              + architecture
              + "\"; Kiln reads "
              + "GGUF files of the architectures "
              + String.join(", ", ARCHITECTURES.stream().map(a -> "\"" + a + "\"").toList()));
    }
    return architecture;
  }

  /**
   * The spec values the metadata states, under the keys of the {@link SpecElement#ggufKey() table}
   * prefixed with the architecture ({@code llama.}, {@code qwen2.}...): vocab size ({@code
   * llama.vocab_size}, else the length of {@code tokenizer.ggml.tokens}, else the rows of {@code
   * token_embd.weight}), hidden size ({@code embedding_length}), intermediate size ({@code
   * feed_forward_length}), layers ({@code block_count}), heads ({@code attention.head_count}),
   * key-value heads ({@code attention.head_count_kv}, else the heads), head dimension ({@code
   * attention.key_length}, else {@code rope.dimension_count}, else hidden size / heads), context
   * ({@code context_length}), rope theta ({@code rope.freq_base}), RMS norm epsilon ({@code
   * attention.layer_norm_rms_epsilon}) and tied embeddings (no {@code output.weight}). Doubles are
   * the stored floats widened exactly: an epsilon stored as float32 {@code 1e-5} is {@code
   * 9.999999747378752E-6}. Keys the file lacks leave their elements out.
   */
  Map<SpecElement, Object> statedSpec() {
    String architecture = requireSupported();
    String p = architecture + ".";
    Map<SpecElement, Object> spec = new EnumMap<>(SpecElement.class);
    Integer vocab = count(p + SpecElement.VOCAB_SIZE.ggufKey());
    if (vocab == null && metadata.contains("tokenizer.ggml.tokens")) {
      vocab = metadata.getArray("tokenizer.ggml.tokens").orElseThrow().size();
    }
    GgufTensorInfo embeddings = tensors.get("token_embd.weight");
    if (vocab == null
        && embeddings != null
        && embeddings.dims().length == 2
        && embeddings.dims()[1] <= Integer.MAX_VALUE) {
      vocab = (int) embeddings.dims()[1];
    }
    putIfPresent(spec, SpecElement.VOCAB_SIZE, vocab);
    Integer hidden = count(p + SpecElement.HIDDEN_SIZE.ggufKey());
    putIfPresent(spec, SpecElement.HIDDEN_SIZE, hidden);
    putIfPresent(
        spec, SpecElement.INTERMEDIATE_SIZE, count(p + SpecElement.INTERMEDIATE_SIZE.ggufKey()));
    putIfPresent(
        spec, SpecElement.NUM_HIDDEN_LAYERS, count(p + SpecElement.NUM_HIDDEN_LAYERS.ggufKey()));
    Integer heads = count(p + SpecElement.NUM_ATTENTION_HEADS.ggufKey());
    putIfPresent(spec, SpecElement.NUM_ATTENTION_HEADS, heads);
    Integer kvHeads = count(p + SpecElement.NUM_KEY_VALUE_HEADS.ggufKey());
    putIfPresent(spec, SpecElement.NUM_KEY_VALUE_HEADS, kvHeads != null ? kvHeads : heads);
    Integer headDim = count(p + SpecElement.HEAD_DIM.ggufKey());
    if (headDim == null) {
      headDim = count(p + "rope.dimension_count");
    }
    if (headDim == null && hidden != null && heads != null && heads > 0 && hidden % heads == 0) {
      headDim = hidden / heads;
    }
    putIfPresent(spec, SpecElement.HEAD_DIM, headDim);
    putIfPresent(
        spec,
        SpecElement.MAX_POSITION_EMBEDDINGS,
        count(p + SpecElement.MAX_POSITION_EMBEDDINGS.ggufKey()));
    putIfPresent(spec, SpecElement.ROPE_THETA, number(p + SpecElement.ROPE_THETA.ggufKey()));
    putIfPresent(spec, SpecElement.RMS_NORM_EPS, number(p + SpecElement.RMS_NORM_EPS.ggufKey()));
    spec.put(SpecElement.TIE_WORD_EMBEDDINGS, !tensors.containsKey("output.weight"));
    switch (architecture) {
      case "llama" -> ropeScaling(spec, p);
      case "qwen2" -> spec.put(SpecElement.QKV_BIAS, tensors.containsKey("blk.0.attn_q.bias"));
      case "qwen3" ->
          spec.put(SpecElement.QK_NORM, tensors.containsKey("blk.0.attn_q_norm.weight"));
      case "gemma2" -> {
        spec.put(SpecElement.RMS_NORM_UNIT_OFFSET, true);
        spec.put(SpecElement.SCALE_EMBEDDINGS, true);
        spec.put(SpecElement.SANDWICH_NORMS, true);
        spec.put(SpecElement.HIDDEN_ACT, dev.kiln.Activation.GELU_TANH);
        putIfPresent(
            spec,
            SpecElement.ATTN_LOGIT_SOFTCAPPING,
            number(p + SpecElement.ATTN_LOGIT_SOFTCAPPING.ggufKey()));
        putIfPresent(
            spec,
            SpecElement.FINAL_LOGIT_SOFTCAPPING,
            number(p + SpecElement.FINAL_LOGIT_SOFTCAPPING.ggufKey()));
        Integer window = count(p + SpecElement.SLIDING_WINDOW.ggufKey());
        if (window != null && window > 0) {
          spec.put(SpecElement.SLIDING_WINDOW, window);
          spec.put(SpecElement.SLIDING_WINDOW_LAYERS, dev.kiln.SlidingWindowLayers.EVEN);
        }
      }
      default -> throw new IllegalStateException(architecture);
    }
    return Collections.unmodifiableMap(spec);
  }

  /**
   * Llama RoPE scaling: {@code rope.scaling.type} {@code "linear"} with its factor, or (Llama 3.1
   * and later, which llama.cpp writes without keys) the {@link #ROPE_FREQS} tensor of per-frequency
   * divisors, matched to llama3 parameters by {@link RopeFreqsFit}.
   */
  private void ropeScaling(Map<SpecElement, Object> spec, String p) {
    String typeKey = p + SpecElement.ROPE_SCALING.ggufKey();
    Optional<String> type = metadata.getString(typeKey);
    if (type.isPresent() && !type.get().equals("none")) {
      if (!type.get().equals("linear")) {
        throw new WeightLoadException(
            where(metadata.offset(typeKey))
                + "metadata "
                + typeKey
                + " is \""
                + type.get()
                + "\"; Kiln reads RoPE scaling \"linear\" and Llama 3's (rope_freqs)");
      }
      String factorKey = p + SpecElement.ROPE_SCALING_FACTOR.ggufKey();
      Double factor = number(factorKey);
      if (factor == null) {
        throw new WeightLoadException(
            path + ": metadata " + factorKey + " is missing (linear RoPE scaling)");
      }
      spec.put(SpecElement.ROPE_SCALING, dev.kiln.RopeScaling.LINEAR);
      spec.put(SpecElement.ROPE_SCALING_FACTOR, factor);
      return;
    }
    GgufTensorInfo freqs = tensors.get(ROPE_FREQS);
    if (freqs == null) {
      return;
    }
    Double theta = number(p + SpecElement.ROPE_THETA.ggufKey());
    Integer headDim = (Integer) spec.get(SpecElement.HEAD_DIM);
    if (headDim == null
        || freqs.dims().length != 1
        || freqs.dims()[0] != headDim / 2
        || freqs.dtype() != Dtype.F32) {
      throw new WeightLoadException(
          where(freqs.infoOffset())
              + "tensor "
              + ROPE_FREQS
              + " "
              + Arrays.toString(freqs.dims())
              + " "
              + freqs.dtype()
              + ": expected F32 ["
              + (headDim == null ? "head_dim / 2" : headDim / 2 + "")
              + "]");
    }
    float[] divisors = view(freqs, ROPE_FREQS).toArray();
    try {
      spec.putAll(RopeFreqsFit.fit(divisors, theta != null ? theta : 10000.0, headDim));
    } catch (IllegalArgumentException e) {
      throw new WeightLoadException(
          where(freqs.infoOffset()) + "tensor " + ROPE_FREQS + ": " + e.getMessage());
    }
  }

  private static void putIfPresent(
      Map<SpecElement, Object> spec, SpecElement element, Object value) {
    if (value != null) {
      spec.put(element, value);
    }
  }

  /** A non-negative int-sized integer of any integer type, or null when absent. */
  private Integer count(String key) {
    OptionalLong value = metadata.getInteger(key);
    if (value.isEmpty()) {
      return null;
    }
    long v = value.getAsLong();
    if (v < 0 || v > Integer.MAX_VALUE) {
      throw new WeightLoadException(
          where(metadata.offset(key))
              + "metadata "
              + key
              + " is "
              + v
              + ", expected a count from 0 to "
              + Integer.MAX_VALUE);
    }
    return (int) v;
  }

  /** A float32 (widened exactly), float64 or integer value as a Double, or null when absent. */
  private Double number(String key) {
    OptionalDouble value = metadata.getFloat(key);
    return value.isPresent() ? value.getAsDouble() : null;
  }

  private WeightTensor view(GgufTensorInfo info, String name) {
    return container.view(info, name);
  }

  private String where(long offset) {
    return container.where(offset);
  }
}
