package dev.kiln.weights;

import dev.kiln.spec.SpecElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
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
import java.util.stream.Collectors;

/**
 * A GGUF file (v2 or v3, little-endian), memory-mapped. Layout: the magic {@code GGUF}, a u32
 * version, u64 tensor and metadata counts; the metadata (key string, u32 value type, value); the
 * tensor infos (name, u32 dimension count, u64 dimensions innermost first, u32 GGML type, u64
 * offset into the data section); then, padded to {@code general.alignment} (default 32), the data
 * section. Strings are a u64 byte length and UTF-8 bytes. Everything is checked when the file is
 * opened, before any tensor is read; every problem is a {@link WeightLoadException} naming the file,
 * the byte offset and the key or tensor.
 *
 * <p>As a {@link Checkpoint} the file shows its tensors under Hugging Face names (e.g.
 * {@code blk.0.attn_q.weight} is {@code model.layers.0.self_attn.q_proj.weight}; names Kiln does
 * not know keep their GGUF name) and shapes (the GGML dimensions reversed), with the q and k rows
 * that llama.cpp's converter permutes put back in Hugging Face order (a view, no copy). Only
 * {@code llama} files can be read that way; {@link #readStored} reads any tensor as stored.
 */
public final class GgufFile implements Checkpoint {
  /** "GGUF" read as a little-endian u32. */
  static final int MAGIC = 0x46554747;
  static final long DEFAULT_ALIGNMENT = 32;
  /** GGML tensors have at most four dimensions. */
  static final int MAX_DIMS = 4;
  /** How deep arrays of arrays may nest. */
  static final int MAX_ARRAY_DEPTH = 8;
  /** Longest key or tensor name (GGUF limits keys to 65535 bytes). */
  static final long MAX_NAME_BYTES = 65_535;
  /** Longest string value (a Java array's limit). */
  static final long MAX_STRING_BYTES = Integer.MAX_VALUE - 8;
  /** Fewest bytes of one metadata entry: empty key, type, one-byte value. */
  private static final long MIN_KV_BYTES = 8 + 4 + 1;
  /** Fewest bytes of one tensor info: empty name, dimension count, one dimension, type, offset. */
  private static final long MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;
  /** The architectures ({@code general.architecture}) whose tensors Kiln reads. */
  public static final List<String> ARCHITECTURES = List.of("llama", "qwen2", "qwen3", "gemma2");
  /** The tensor llama.cpp writes for Llama 3 RoPE scaling: each frequency's divisor (read into the spec). */
  static final String ROPE_FREQS = "rope_freqs.weight";
  /** Gemma 2's GGUF norm tensors, which store the gain 1 + w where Hugging Face stores w. */
  private static final Pattern GEMMA_NORM = Pattern.compile("(blk\\.[0-9]+\\.(attn_norm|post_attention_norm|ffn_norm|post_ffw_norm)|output_norm)\\.weight");

  /** Names of GGML's tensor types by id, for messages about types Kiln does not read. */
  private static final Map<Integer, String> GGML_TYPE_NAMES = ggmlTypeNames();

  private static final Pattern LAYER_NAME = Pattern.compile("blk\\.(0|[1-9][0-9]{0,8})\\.([a-z_]+)\\.(weight|bias)");
  private static final Map<String, String> LAYER_PARTS = Map.of(
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
  /** Llama's, Qwen's: the norm before the MLP is {@code ffn_norm}, Hugging Face's post_attention_layernorm. */
  private static final Map<String, String> LLAMA_NORM_PARTS = Map.of("ffn_norm", "post_attention_layernorm");
  /** Gemma 2's sandwich norms: Hugging Face's post_attention_layernorm is after attention. */
  private static final Map<String, String> GEMMA2_NORM_PARTS = Map.of(
      "post_attention_norm", "post_attention_layernorm",
      "ffn_norm", "pre_feedforward_layernorm",
      "post_ffw_norm", "post_feedforward_layernorm");
  private static final Map<String, String> GLOBAL_PARTS = Map.of(
      "token_embd", "model.embed_tokens",
      "output_norm", "model.norm",
      "output", "lm_head");

  /** Which permuted rows a tensor has. */
  private enum Permutation { NONE, QUERY, KEY }

  /** A tensor under its Hugging Face name. */
  private record Mapped(GgufTensorInfo info, Permutation permutation) {}

  private final Path path;
  private final MemorySegment file;
  private final int version;
  private final GgufMetadata metadata;
  private final long alignment;
  private final long dataStart;
  private final Map<String, GgufTensorInfo> tensors;
  private final Map<String, Mapped> byHfName;

  private GgufFile(Path path, MemorySegment file, int version, GgufMetadata metadata, long alignment, long dataStart,
      Map<String, GgufTensorInfo> tensors, Map<String, Mapped> byHfName) {
    this.path = path;
    this.file = file;
    this.version = version;
    this.metadata = metadata;
    this.alignment = alignment;
    this.dataStart = dataStart;
    this.tensors = Collections.unmodifiableMap(tensors);
    this.byHfName = Collections.unmodifiableMap(byHfName);
  }

  /** Maps and checks a file; throws {@link WeightLoadException} naming the file, offset and key or tensor of any problem. */
  public static GgufFile open(Path path) {
    return parse(path, MappedFile.map(path));
  }

  /** Checks and indexes the GGUF bytes in {@code file} ({@code path} is for messages). */
  static GgufFile parse(Path path, MemorySegment file) {
    Cursor in = new Cursor(path, file);
    long size = file.byteSize();
    if (size < 4) {
      throw in.error(0, "file is " + size + " bytes, too short for the GGUF magic");
    }
    int magic = in.u32("magic");
    if (magic != MAGIC) {
      throw in.error(0, "not a GGUF file: starts with bytes " + hex(file, 0, 4) + ", expected 47 47 55 46 (\"GGUF\")");
    }
    int version = in.u32("version");
    if (version != 2 && version != 3) {
      int swapped = Integer.reverseBytes(version);
      String why = version == 1
          ? "GGUF v1 (32-bit counts) is not supported"
          : swapped >= 1 && swapped <= 3
              ? "this is a big-endian GGUF v" + swapped + " file, and Kiln reads little-endian files"
              : "unsupported GGUF version " + Integer.toUnsignedString(version);
      throw in.error(4, why + "; Kiln reads GGUF v2 and v3");
    }
    long tensorCount = in.u64("tensor count");
    long kvCount = in.u64("metadata key-value count");
    long left = size - in.pos;
    if (tensorCount < 0 || tensorCount > left / MIN_TENSOR_INFO_BYTES) {
      throw in.error(8, "tensor count " + Long.toUnsignedString(tensorCount) + " cannot fit in the " + left
          + " bytes after the header (each tensor info takes at least " + MIN_TENSOR_INFO_BYTES + ")");
    }
    if (kvCount < 0 || kvCount > left / MIN_KV_BYTES) {
      throw in.error(16, "metadata key-value count " + Long.toUnsignedString(kvCount) + " cannot fit in the " + left
          + " bytes after the header (each entry takes at least " + MIN_KV_BYTES + ")");
    }

    Map<String, GgufMetadata.Entry> entries = new LinkedHashMap<>();
    for (long k = 0; k < kvCount; k++) {
      long keyAt = in.pos;
      String key = in.name("metadata entry #" + k + ": key");
      GgufMetadata.Entry previous = entries.get(key);
      if (previous != null) {
        throw in.error(keyAt, "metadata key " + key + " appears twice (its first value is at offset " + previous.offset() + ")");
      }
      long typeAt = in.pos;
      long typeId = Integer.toUnsignedLong(in.u32("metadata " + key + ": value type"));
      GgufValueType type = GgufValueType.ofId(typeId)
          .orElseThrow(() -> in.error(typeAt, "metadata " + key + ": unknown value type " + typeId + " (GGUF types are 0 to 12)"));
      long valueAt = in.pos;
      entries.put(key, new GgufMetadata.Entry(key, type, in.value(type, key), valueAt));
    }
    GgufMetadata metadata = new GgufMetadata(path.toString(), entries);
    long alignment = alignment(in, metadata);

    Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
    for (long t = 0; t < tensorCount; t++) {
      GgufTensorInfo info = in.tensorInfo(t, alignment);
      GgufTensorInfo previous = tensors.get(info.name());
      if (previous != null) {
        throw in.error(info.infoOffset(), "tensor " + info.name() + " appears twice (first at offset " + previous.infoOffset() + ")");
      }
      tensors.put(info.name(), info);
    }
    long infosEnd = in.pos;
    long dataStart = (infosEnd + alignment - 1) / alignment * alignment;
    long dataSize = Math.max(0, size - dataStart);
    for (GgufTensorInfo info : tensors.values()) {
      if (info.offset() > dataSize || info.byteSize() > dataSize - info.offset()) {
        throw in.error(info.infoOffset(), "tensor " + info.name() + ": its " + info.byteSize() + " bytes at data offset "
            + info.offset() + " (file offset " + (dataStart + info.offset()) + ") run past the end of the file, which has "
            + dataSize + " bytes of data after the tensor infos (file truncated?)");
      }
    }
    checkOverlaps(in, tensors.values(), dataStart);
    String architecture = metadata.getString("general.architecture").orElse("");
    return new GgufFile(path, file, version, metadata, alignment, dataStart, tensors, hfNames(in, tensors, architecture));
  }

  private static long alignment(Cursor in, GgufMetadata metadata) {
    String key = "general.alignment";
    if (!metadata.contains(key)) {
      return DEFAULT_ALIGNMENT;
    }
    long alignment = metadata.getInteger(key).orElseThrow();
    if (alignment <= 0 || alignment > 1L << 31 || Long.bitCount(alignment) != 1) {
      throw in.error(metadata.offset(key), "metadata " + key + " is " + alignment + ", expected a power of two");
    }
    return alignment;
  }

  private static void checkOverlaps(Cursor in, java.util.Collection<GgufTensorInfo> infos, long dataStart) {
    List<GgufTensorInfo> sorted = new ArrayList<>(infos);
    sorted.removeIf(info -> info.byteSize() == 0);
    sorted.sort(Comparator.comparingLong(GgufTensorInfo::offset));
    for (int i = 1; i < sorted.size(); i++) {
      GgufTensorInfo previous = sorted.get(i - 1);
      GgufTensorInfo current = sorted.get(i);
      if (current.offset() < previous.offset() + previous.byteSize()) {
        throw in.error(current.infoOffset(), "tensor " + current.name() + " (data offsets " + current.offset() + " to "
            + (current.offset() + current.byteSize()) + ") overlaps tensor " + previous.name() + " (" + previous.offset()
            + " to " + (previous.offset() + previous.byteSize()) + "); the data section starts at file offset " + dataStart);
      }
    }
  }

  /**
   * Hugging Face names of the tensors. The names of the norms depend on the architecture, and only
   * {@code llama} files have permuted q/k rows (llama.cpp's converter interleaves them for its RoPE;
   * for qwen2, qwen3 and gemma2 it keeps Hugging Face's order). {@link #ROPE_FREQS} is part of the
   * spec, not a weight, and has no Hugging Face name.
   */
  private static Map<String, Mapped> hfNames(Cursor in, Map<String, GgufTensorInfo> tensors, String architecture) {
    Map<String, Mapped> byHfName = new LinkedHashMap<>();
    Map<String, String> normParts = architecture.equals("gemma2") ? GEMMA2_NORM_PARTS : LLAMA_NORM_PARTS;
    for (GgufTensorInfo info : tensors.values()) {
      if (info.name().equals(ROPE_FREQS)) {
        continue;
      }
      Permutation permutation = Permutation.NONE;
      String hfName = info.name();
      Matcher layer = LAYER_NAME.matcher(info.name());
      int dot = info.name().lastIndexOf('.');
      String part = layer.matches() ? LAYER_PARTS.getOrDefault(layer.group(2), normParts.get(layer.group(2))) : null;
      if (part != null) {
        hfName = "model.layers." + layer.group(1) + "." + part + "." + layer.group(3);
        permutation = !architecture.equals("llama") ? Permutation.NONE : switch (layer.group(2)) {
          case "attn_q" -> Permutation.QUERY;
          case "attn_k" -> Permutation.KEY;
          default -> Permutation.NONE;
        };
      } else if (dot > 0 && GLOBAL_PARTS.containsKey(info.name().substring(0, dot))
          && (info.name().endsWith(".weight") || info.name().endsWith(".bias"))) {
        hfName = GLOBAL_PARTS.get(info.name().substring(0, dot)) + info.name().substring(dot);
      }
      Mapped previous = byHfName.putIfAbsent(hfName, new Mapped(info, permutation));
      if (previous != null) {
        throw in.error(info.infoOffset(), "tensors " + previous.info().name() + " and " + info.name()
            + " both stand for the Hugging Face tensor " + hfName);
      }
    }
    return byHfName;
  }

  // ---- The file as stored.

  public Path path() {
    return path;
  }

  /** The GGUF version, 2 or 3. */
  public int version() {
    return version;
  }

  public GgufMetadata metadata() {
    return metadata;
  }

  /** The data section's alignment ({@code general.alignment}, 32 by default). */
  public long alignment() {
    return alignment;
  }

  /** File offset where the data section starts. */
  public long dataStart() {
    return dataStart;
  }

  /** The GGUF names of the tensors, in file order. */
  public List<String> tensorNames() {
    return List.copyOf(tensors.keySet());
  }

  /** The tensor infos by GGUF name, in file order. */
  public Map<String, GgufTensorInfo> tensorInfos() {
    return tensors;
  }

  /** The tensor info of GGUF tensor {@code ggufName}. */
  public GgufTensorInfo tensorInfo(String ggufName) {
    GgufTensorInfo info = tensors.get(ggufName);
    if (info == null) {
      throw new WeightLoadException(path + ": no GGUF tensor named " + ggufName);
    }
    return info;
  }

  /**
   * GGUF tensor {@code ggufName} as stored (rows in file order, not reordered), named and shaped
   * in row-major order (the GGML dimensions reversed); a view of the mapped file.
   */
  public WeightTensor readStored(String ggufName) {
    return view(tensorInfo(ggufName), ggufName);
  }

  private WeightTensor view(GgufTensorInfo info, String name) {
    if (info.dims()[0] > Integer.MAX_VALUE) {
      throw new WeightLoadException(where(info.infoOffset()) + "tensor " + info.name() + ": rows of " + info.dims()[0]
          + " elements are longer than Kiln reads (" + Integer.MAX_VALUE + ")");
    }
    MemorySegment bytes = file.asSlice(dataStart + info.offset(), info.byteSize());
    try {
      return WeightTensor.of(name, info.shape(), info.dtype(), bytes);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new WeightLoadException(where(info.infoOffset()) + "tensor " + info.name() + ": " + e.getMessage(), e);
    }
  }

  /** The architecture named by {@code general.architecture}. */
  public Optional<String> architecture() {
    return metadata.getString("general.architecture");
  }

  // ---- The file as a checkpoint.

  @Override
  public String format() {
    return "GGUF v" + version;
  }

  @Override
  public String description() {
    return path.toString();
  }

  /** Hugging Face names of the tensors in file order (tensors Kiln has no name for keep their GGUF name). */
  @Override
  public Set<String> names() {
    return byHfName.keySet();
  }

  @Override
  public long[] shape(String name) {
    return mapped(name).info().shape();
  }

  @Override
  public String dtypeName(String name) {
    return mapped(name).info().dtype().name();
  }

  /** The GGUF tensor that Hugging Face tensor {@code name} is read from. */
  public GgufTensorInfo tensorInfoOf(String name) {
    return mapped(name).info();
  }

  private Mapped mapped(String name) {
    Mapped mapped = byHfName.get(name);
    if (mapped == null) {
      throw new WeightLoadException(path + ": no tensor named " + dev.kiln.ProblemList.shorten(name, 200)
          + " (GGUF tensors are named " + String.join(", ", byHfName.keySet().stream().limit(4)
              .map(n -> dev.kiln.ProblemList.shorten(n, 100)).toList()) + (byHfName.size() > 4 ? ", ..." : "") + ")");
    }
    return mapped;
  }

  /**
   * The tensor under its Hugging Face name and shape, in its stored type; the permuted rows of q
   * and k projections are put back in Hugging Face order (a view for matrices, a float32 copy for
   * biases). Only for {@code llama} files.
   */
  @Override
  public WeightTensor read(String name) {
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
    if (shape.length > 2 || rows > Integer.MAX_VALUE || rows % heads != 0 || rows / heads % 2 != 0
        || (shape.length == 2 && stored.rows() != rows)) {
      throw new WeightLoadException(where(info.infoOffset()) + "tensor " + info.name() + " " + Arrays.toString(shape)
          + ": cannot put its rows back in Hugging Face order for " + heads + " heads (expected one or two dimensions and "
          + "a first dimension that is " + heads + " times an even head dimension, and some elements)");
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
    String key = requireSupported() + ".attention.head_count";
    Integer heads = count(key);
    if (heads == null || heads == 0) {
      throw new WeightLoadException(path + ": metadata " + key + " is " + (heads == null ? "missing" : "0")
          + "; it is needed to put the q projection's rows in Hugging Face order");
    }
    return heads;
  }

  private int keyValueHeadCount() {
    String key = requireSupported() + ".attention.head_count_kv";
    Integer heads = count(key);
    if (heads == null) {
      return headCount();
    }
    if (heads == 0) {
      throw new WeightLoadException(where(metadata.offset(key)) + "metadata " + key
          + " is 0; it is needed to put the k projection's rows in Hugging Face order");
    }
    return heads;
  }

  /** The file's architecture, one of {@link #ARCHITECTURES}; anything else is a {@link WeightLoadException} naming it. */
  private String requireSupported() {
    String key = "general.architecture";
    String architecture = architecture().orElseThrow(() -> new WeightLoadException(path
        + ": GGUF file has no " + key + " metadata; Kiln reads " + String.join(", ", ARCHITECTURES) + " files"));
    if (!ARCHITECTURES.contains(architecture)) {
      throw new WeightLoadException(where(metadata.offset(key)) + key + " is \"" + architecture + "\"; Kiln reads "
          + "GGUF files of the architectures " + String.join(", ", ARCHITECTURES.stream().map(a -> "\"" + a + "\"").toList()));
    }
    return architecture;
  }

  /**
   * The spec values the metadata states ({@code llama} files only): vocab size
   * ({@code llama.vocab_size}, else the length of {@code tokenizer.ggml.tokens}, else the rows of
   * {@code token_embd.weight}), hidden size ({@code embedding_length}), intermediate size
   * ({@code feed_forward_length}), layers ({@code block_count}), heads ({@code attention.head_count}),
   * key-value heads ({@code attention.head_count_kv}, else the heads), head dimension
   * ({@code attention.key_length}, else {@code rope.dimension_count}, else hidden size / heads),
   * context ({@code context_length}), rope theta ({@code rope.freq_base}), RMS norm epsilon
   * ({@code attention.layer_norm_rms_epsilon}) and tied embeddings (no {@code output.weight}).
   * Doubles are the stored floats widened exactly: an epsilon stored as float32 {@code 1e-5}
   * is {@code 9.999999747378752E-6}. Keys the file lacks leave their elements out.
   */
  @Override
  public Map<SpecElement, Object> statedSpec() {
    String architecture = requireSupported();
    String p = architecture + ".";
    Map<SpecElement, Object> spec = new EnumMap<>(SpecElement.class);
    Integer vocab = count(p + "vocab_size");
    if (vocab == null && metadata.contains("tokenizer.ggml.tokens")) {
      vocab = metadata.getArray("tokenizer.ggml.tokens").orElseThrow().size();
    }
    GgufTensorInfo embeddings = tensors.get("token_embd.weight");
    if (vocab == null && embeddings != null && embeddings.dims().length == 2 && embeddings.dims()[1] <= Integer.MAX_VALUE) {
      vocab = (int) embeddings.dims()[1];
    }
    putIfPresent(spec, SpecElement.VOCAB_SIZE, vocab);
    Integer hidden = count(p + "embedding_length");
    putIfPresent(spec, SpecElement.HIDDEN_SIZE, hidden);
    putIfPresent(spec, SpecElement.INTERMEDIATE_SIZE, count(p + "feed_forward_length"));
    putIfPresent(spec, SpecElement.NUM_HIDDEN_LAYERS, count(p + "block_count"));
    Integer heads = count(p + "attention.head_count");
    putIfPresent(spec, SpecElement.NUM_ATTENTION_HEADS, heads);
    Integer kvHeads = count(p + "attention.head_count_kv");
    putIfPresent(spec, SpecElement.NUM_KEY_VALUE_HEADS, kvHeads != null ? kvHeads : heads);
    Integer headDim = count(p + "attention.key_length");
    if (headDim == null) {
      headDim = count(p + "rope.dimension_count");
    }
    if (headDim == null && hidden != null && heads != null && heads > 0 && hidden % heads == 0) {
      headDim = hidden / heads;
    }
    putIfPresent(spec, SpecElement.HEAD_DIM, headDim);
    putIfPresent(spec, SpecElement.MAX_POSITION_EMBEDDINGS, count(p + "context_length"));
    putIfPresent(spec, SpecElement.ROPE_THETA, number(p + "rope.freq_base"));
    putIfPresent(spec, SpecElement.RMS_NORM_EPS, number(p + "attention.layer_norm_rms_epsilon"));
    spec.put(SpecElement.TIE_WORD_EMBEDDINGS, !tensors.containsKey("output.weight"));
    switch (architecture) {
      case "llama" -> ropeScaling(spec, p);
      case "qwen2" -> spec.put(SpecElement.QKV_BIAS, tensors.containsKey("blk.0.attn_q.bias"));
      case "qwen3" -> spec.put(SpecElement.QK_NORM, tensors.containsKey("blk.0.attn_q_norm.weight"));
      case "gemma2" -> {
        spec.put(SpecElement.RMS_NORM_UNIT_OFFSET, true);
        spec.put(SpecElement.SCALE_EMBEDDINGS, true);
        spec.put(SpecElement.SANDWICH_NORMS, true);
        spec.put(SpecElement.HIDDEN_ACT, dev.kiln.Activation.GELU_TANH);
        putIfPresent(spec, SpecElement.ATTN_LOGIT_SOFTCAPPING, number(p + "attn_logit_softcapping"));
        putIfPresent(spec, SpecElement.FINAL_LOGIT_SOFTCAPPING, number(p + "final_logit_softcapping"));
        Integer window = count(p + "attention.sliding_window");
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
    Optional<String> type = metadata.getString(p + "rope.scaling.type");
    if (type.isPresent() && !type.get().equals("none")) {
      if (!type.get().equals("linear")) {
        throw new WeightLoadException(where(metadata.offset(p + "rope.scaling.type")) + "metadata " + p
            + "rope.scaling.type is \"" + type.get() + "\"; Kiln reads RoPE scaling \"linear\" and Llama 3's (rope_freqs)");
      }
      Double factor = number(p + "rope.scaling.factor");
      if (factor == null) {
        throw new WeightLoadException(path + ": metadata " + p + "rope.scaling.factor is missing (linear RoPE scaling)");
      }
      spec.put(SpecElement.ROPE_SCALING, dev.kiln.RopeScaling.LINEAR);
      spec.put(SpecElement.ROPE_SCALING_FACTOR, factor);
      return;
    }
    GgufTensorInfo freqs = tensors.get(ROPE_FREQS);
    if (freqs == null) {
      return;
    }
    Double theta = number(p + "rope.freq_base");
    Integer headDim = (Integer) spec.get(SpecElement.HEAD_DIM);
    if (headDim == null || freqs.dims().length != 1 || freqs.dims()[0] != headDim / 2 || freqs.dtype() != Dtype.F32) {
      throw new WeightLoadException(where(freqs.infoOffset()) + "tensor " + ROPE_FREQS + " " + Arrays.toString(freqs.dims())
          + " " + freqs.dtype() + ": expected F32 [" + (headDim == null ? "head_dim / 2" : headDim / 2 + "") + "]");
    }
    float[] divisors = view(freqs, ROPE_FREQS).toArray();
    try {
      spec.putAll(RopeFreqsFit.fit(divisors, theta != null ? theta : 10000.0, headDim));
    } catch (IllegalArgumentException e) {
      throw new WeightLoadException(where(freqs.infoOffset()) + "tensor " + ROPE_FREQS + ": " + e.getMessage());
    }
  }

  private static void putIfPresent(Map<SpecElement, Object> spec, SpecElement element, Object value) {
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
      throw new WeightLoadException(where(metadata.offset(key)) + "metadata " + key + " is " + v
          + ", expected a count from 0 to " + Integer.MAX_VALUE);
    }
    return (int) v;
  }

  /** A float32 (widened exactly), float64 or integer value as a Double, or null when absent. */
  private Double number(String key) {
    OptionalDouble value = metadata.getFloat(key);
    return value.isPresent() ? value.getAsDouble() : null;
  }

  private String where(long offset) {
    return path + " (GGUF, offset " + offset + "): ";
  }

  @Override
  public String toString() {
    return path + " (" + format() + ", " + tensors.size() + " tensors)";
  }

  private static String hex(MemorySegment file, long offset, int count) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < count; i++) {
      out.append(i == 0 ? "" : " ").append(String.format("%02x", file.get(ValueLayout.JAVA_BYTE, offset + i) & 0xff));
    }
    return out.toString();
  }

  private static Map<Integer, String> ggmlTypeNames() {
    String[] names = {
      "F32", "F16", "Q4_0", "Q4_1", null, null, "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
      "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64",
      "F64", "IQ1_M", "BF16", null, null, null, "TQ1_0", "TQ2_0", null, null, null, "MXFP4"};
    Map<Integer, String> map = new LinkedHashMap<>();
    for (int id = 0; id < names.length; id++) {
      if (names[id] != null) {
        map.put(id, names[id]);
      }
    }
    return Collections.unmodifiableMap(map);
  }

  /** Reads and checks the header, keeping the offset for messages. */
  private static final class Cursor {
    private final Path path;
    private final MemorySegment file;
    private final long size;
    long pos;

    Cursor(Path path, MemorySegment file) {
      this.path = path;
      this.file = file;
      this.size = file.byteSize();
    }

    WeightLoadException error(long offset, String message) {
      return new WeightLoadException(path + " (GGUF, offset " + offset + "): "
          + dev.kiln.ProblemList.shorten(message, SafetensorsFile.MAX_MESSAGE_CHARS));
    }

    private void need(long bytes, String what) {
      if (bytes > size - pos) {
        throw error(pos, what + ": needs " + bytes + " bytes but the file ends after " + (size - pos) + " (truncated?)");
      }
    }

    int u32(String what) {
      need(4, what);
      int value = file.get(GgufCodec.U32, pos);
      pos += 4;
      return value;
    }

    long u64(String what) {
      need(8, what);
      long value = file.get(GgufCodec.U64, pos);
      pos += 8;
      return value;
    }

    /** A key or tensor name: a checked string of at most {@link #MAX_NAME_BYTES}. */
    String name(String what) {
      long at = pos;
      long length = stringLength(what, MAX_NAME_BYTES, -1);
      checkUtf8(what, at, length, -1);
      String name = GgufCodec.string(file, at);
      pos += length;
      return name;
    }

    /** Checks a string's length field, leaving the cursor at its bytes; returns the length. */
    private long stringLength(String what, long max, long index) {
      long at = pos;
      long length = u64(what + element(index) + ": string length");
      if (length < 0 || length > size - pos) {
        throw error(at, what + element(index) + ": string length " + Long.toUnsignedString(length) + " is more than the "
            + (size - pos) + " bytes left in the file");
      }
      if (length > max) {
        throw error(at, what + element(index) + ": string of " + length + " bytes is longer than the " + max + " allowed");
      }
      return length;
    }

    private void checkUtf8(String what, long at, long length, long index) {
      if (!GgufCodec.isUtf8(file, at + 8, length)) {
        throw error(at, what + element(index) + ": string of " + length + " bytes is not valid UTF-8");
      }
    }

    private static String element(long index) {
      return index < 0 ? "" : "[" + index + "]";
    }

    /** Checks a value of type {@code type} and returns it (arrays as lazy views of the file). */
    Object value(GgufValueType type, String key) {
      long at = pos;
      check(type, "metadata " + key, 0, -1);
      return GgufCodec.value(file, at, type);
    }

    /** Checks the value at the cursor and moves past it. */
    private void check(GgufValueType type, String what, int depth, long index) {
      switch (type) {
        case STRING -> {
          long at = pos;
          long length = stringLength(what, MAX_STRING_BYTES, index);
          checkUtf8(what, at, length, index);
          pos += length;
        }
        case ARRAY -> checkArray(what, depth, index);
        default -> {
          need(type.fixedSize(), what + element(index) + ": " + type + " value");
          checkBool(type, what, index);
          pos += type.fixedSize();
        }
      }
    }

    private void checkBool(GgufValueType type, String what, long index) {
      if (type == GgufValueType.BOOL) {
        byte b = file.get(ValueLayout.JAVA_BYTE, pos);
        if (b != 0 && b != 1) {
          throw error(pos, what + element(index) + ": bool byte is " + (b & 0xff) + ", expected 0 or 1");
        }
      }
    }

    private void checkArray(String what, int depth, long index) {
      long at = pos;
      String name = what + element(index);
      if (depth >= MAX_ARRAY_DEPTH) {
        throw error(at, name + ": arrays nested more than " + MAX_ARRAY_DEPTH + " deep");
      }
      long typeId = Integer.toUnsignedLong(u32(name + ": array element type"));
      GgufValueType elementType = GgufValueType.ofId(typeId)
          .orElseThrow(() -> error(at, name + ": unknown array element type " + typeId + " (GGUF types are 0 to 12)"));
      long count = u64(name + ": array length");
      long left = size - pos;
      if (count < 0 || count > left / elementType.minSize()) {
        throw error(at + 4, name + ": array of " + Long.toUnsignedString(count) + " " + elementType + " values cannot fit in the "
            + left + " bytes left in the file (each takes at least " + elementType.minSize() + ")");
      }
      if (count > Integer.MAX_VALUE) {
        throw error(at + 4, name + ": array of " + count + " values is longer than the " + Integer.MAX_VALUE + " allowed");
      }
      if (elementType.fixedSize() > 0) {
        if (elementType == GgufValueType.BOOL) {
          long start = pos;
          for (long i = 0; i < count; i++) {
            pos = start + i;
            checkBool(elementType, name, i);
          }
          pos = start;
        }
        pos += count * elementType.fixedSize();
        return;
      }
      for (long i = 0; i < count; i++) {
        check(elementType, name, depth + 1, i);
      }
    }

    /** Checks one tensor info and moves past it. */
    GgufTensorInfo tensorInfo(long number, long alignment) {
      long at = pos;
      String name = name("tensor info #" + number + ": name");
      String what = "tensor " + name;
      long dimsAt = pos;
      long dimCount = Integer.toUnsignedLong(u32(what + ": dimension count"));
      if (dimCount == 0 || dimCount > MAX_DIMS) {
        throw error(dimsAt, what + ": " + dimCount + " dimensions, expected 1 to " + MAX_DIMS);
      }
      long[] dims = new long[(int) dimCount];
      long elements = 1;
      for (int d = 0; d < dims.length; d++) {
        long dimAt = pos;
        dims[d] = u64(what + ": dimension " + d);
        if (dims[d] < 0) {
          throw error(dimAt, what + ": dimension " + d + " is " + Long.toUnsignedString(dims[d]) + ", more than 2^63 - 1");
        }
        try {
          elements = Math.multiplyExact(elements, dims[d]);
        } catch (ArithmeticException e) {
          throw error(dimAt, what + ": dimensions " + Arrays.toString(Arrays.copyOf(dims, d + 1))
              + " have more elements than a 64-bit count holds");
        }
      }
      long typeAt = pos;
      long typeId = Integer.toUnsignedLong(u32(what + ": type"));
      Dtype dtype = Dtype.ofGgmlType(typeId).orElseThrow(() -> error(typeAt, what + ": GGML type " + typeId
          + Optional.ofNullable(GGML_TYPE_NAMES.get((int) Math.min(typeId, Integer.MAX_VALUE))).map(n -> " (" + n + ")")
              .orElse(" (unknown)")
          + " is not one Kiln reads; Kiln reads " + Arrays.stream(Dtype.values())
              .map(t -> t.name() + " (" + t.ggmlType() + ")").collect(Collectors.joining(", "))));
      if (dims[0] % dtype.blockSize() != 0) {
        throw error(dimsAt, what + ": rows of " + dims[0] + " " + dtype + " elements do not fill whole blocks of "
            + dtype.blockSize());
      }
      long bytes = dtype.byteSize(elements);
      if (bytes < 0) {
        throw error(dimsAt, what + ": " + dtype + " " + Arrays.toString(dims) + " takes more bytes than a 64-bit size holds");
      }
      long offsetAt = pos;
      long offset = u64(what + ": data offset");
      if (offset < 0) {
        throw error(offsetAt, what + ": data offset " + Long.toUnsignedString(offset) + " is more than 2^63 - 1");
      }
      if (offset % alignment != 0) {
        throw error(offsetAt, what + ": data offset " + offset + " is not a multiple of the alignment " + alignment);
      }
      return new GgufTensorInfo(name, dims, dtype, offset, bytes, at);
    }
  }
}
