package dev.kiln.weights;

import dev.kiln.spec.SpecElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A llama2.c legacy (version 0) float32 checkpoint, memory-mapped, read under Hugging Face names.
 *
 * <p>Layout: a header of seven little-endian int32 ({@code dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len}; a negative {@code vocab_size} means the classifier is not
 * shared with the embedding), then little-endian float32 arrays, each matrix stored as PyTorch's
 * {@code (out, in)}: {@code token_embedding_table (vocab, dim)}, {@code rms_att_weight (layers,
 * dim)}, {@code wq (layers, n_heads*hs, dim)}, {@code wk} and {@code wv (layers, n_kv_heads*hs,
 * dim)}, {@code wo (layers, dim, n_heads*hs)}, {@code rms_ffn_weight (layers, dim)}, {@code w1
 * (layers, hidden_dim, dim)}, {@code w2 (layers, dim, hidden_dim)}, {@code w3 (layers, hidden_dim,
 * dim)}, {@code rms_final_weight (dim)}, {@code freq_cis_real} and {@code freq_cis_imag (seq_len,
 * hs/2)}, and, when not shared, {@code wcls (vocab, dim)}; {@code hs = dim / n_heads}.
 *
 * <p>Each layer's tensors are slices of the stacked arrays (no copy): {@code w1} is {@code
 * gate_proj}, {@code w2} {@code down_proj}, {@code w3} {@code up_proj}. The rows of {@code wq} and
 * {@code wk} are permuted (llama2.c's RoPE rotates adjacent pairs): Hugging Face row {@code h*hs +
 * j*hs/2 + i} is stored at row {@code h*hs + 2*i + j}; {@link #read} undoes this with {@link
 * WeightTensor#withRowOrder}. The RoPE tables are not exposed (Kiln computes its own), and a shared
 * classifier means there is no {@code lm_head.weight}.
 *
 * <p>The format has no magic number and no checksum, so the file's size must be exactly what the
 * header implies: a shorter file is cut (the message names the first tensor it cuts), and a longer
 * one is rejected too, since trailing bytes mean the header does not describe the file (for example
 * a newer llama2.c export, or a different file altogether). Files that start with the magic of
 * llama2.c's versioned exports ({@code "ak42"}) are recognized and rejected with a message saying
 * so. The header states no rope theta or rms epsilon, so {@link #statedSpec} leaves them out.
 */
public final class Llama2cFile implements Checkpoint {
  static final int HEADER_BYTES = 7 * Integer.BYTES;

  /**
   * {@code "ak42"} read as a little-endian int32: the magic of llama2.c's version 1 and 2 exports.
   */
  static final int VERSIONED_MAGIC = 0x616b3432;

  private static final ValueLayout.OfInt INT =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /**
   * The header's values. {@code vocabSize} is positive; {@code shared} says whether it was stored
   * positive.
   */
  record Header(
      int dim,
      int hiddenDim,
      int layers,
      int heads,
      int kvHeads,
      int vocabSize,
      boolean shared,
      int seqLen) {
    int headSize() {
      return dim / heads;
    }
  }

  /**
   * One array of the file: its llama2.c name, its HF name (for a stacked array the part after
   * {@code model.layers.{i}.}; null for the RoPE tables, which Kiln does not expose), the shape of
   * one tensor, where it starts, the bytes of one tensor, how many layers it stacks (0: not
   * stacked), and how many heads its rows are permuted in (0: stored in HF order).
   */
  private record Array(
      String array,
      String name,
      long[] shape,
      long offset,
      long tensorBytes,
      int layers,
      int permutedHeads) {
    long end() {
      return offset + tensorBytes * Math.max(layers, 1);
    }

    /** The llama2.c name and HF name of the tensor holding byte {@code position}, for messages. */
    String describe(long position) {
      if (layers == 0) {
        return array + (name == null ? "" : " (tensor " + name + ")");
      }
      long layer = Math.min(Math.max(position - offset, 0) / tensorBytes, layers - 1);
      return array + "[" + layer + "] (tensor model.layers." + layer + "." + name + ")";
    }
  }

  /**
   * One HF tensor: a slice of the file, and how many heads its rows are permuted in (0: stored in
   * HF order).
   */
  private record Slice(long[] shape, long offset, long bytes, int permutedHeads) {}

  private final Path path;
  private final MemorySegment file;
  private final Header header;
  private final Map<String, Slice> slices;

  private Llama2cFile(Path path, MemorySegment file, Header header, Map<String, Slice> slices) {
    this.path = path;
    this.file = file;
    this.header = header;
    this.slices = slices;
  }

  /**
   * Maps and checks a file; throws {@link WeightLoadException} naming the file, offset and tensor
   * of any problem.
   */
  public static Llama2cFile open(Path path) {
    return parse(path, MappedFile.map(path));
  }

  static Llama2cFile parse(Path path, MemorySegment file) {
    long size = file.byteSize();
    if (size >= Integer.BYTES && file.get(INT, 0) == VERSIONED_MAGIC) {
      String version = size >= 8 ? " version " + file.get(INT, 4) : "";
      throw error(
          path,
          0,
          "starts with the magic \"ak42\" of a versioned llama2.c export"
              + version
              + "; Kiln reads only the legacy (version 0) float32 format, which has no magic");
    }
    if (size < HEADER_BYTES) {
      throw error(
          path, 0, "file is " + size + " bytes, shorter than the " + HEADER_BYTES + "-byte header");
    }
    Header header = readHeader(path, file);
    // Sizes come first: a damaged header may claim billions of layers, which must not be expanded.
    List<Array> layout = layout(path, header);
    long expected = layout.getLast().end();
    if (size < expected) {
      Array cut = layout.stream().filter(a -> a.end() > size).findFirst().orElseThrow();
      long cutStart =
          cut.layers() == 0
              ? cut.offset()
              : cut.offset()
                  + Math.min(Math.max(size - cut.offset(), 0) / cut.tensorBytes(), cut.layers() - 1)
                      * cut.tensorBytes();
      throw error(
          path,
          cutStart,
          "file is "
              + size
              + " bytes but the header implies "
              + expected
              + " bytes: truncated in array "
              + cut.describe(size)
              + ", which takes bytes "
              + cutStart
              + " to "
              + (cutStart + cut.tensorBytes()));
    }
    if (size > expected) {
      throw error(
          path,
          expected,
          "file is "
              + size
              + " bytes but the header implies "
              + expected
              + " bytes: "
              + (size - expected)
              + " trailing bytes after the last array (the header does not describe this file)");
    }
    Map<String, Slice> slices = new LinkedHashMap<>();
    for (Array array : layout) {
      if (array.name() == null) {
        continue;
      }
      if (array.layers() == 0) {
        slices.put(array.name(), new Slice(array.shape(), array.offset(), array.tensorBytes(), 0));
        continue;
      }
      for (int layer = 0; layer < array.layers(); layer++) {
        slices.put(
            "model.layers." + layer + "." + array.name(),
            new Slice(
                array.shape(),
                array.offset() + layer * array.tensorBytes(),
                array.tensorBytes(),
                array.permutedHeads()));
      }
    }
    return new Llama2cFile(path, file, header, Collections.unmodifiableMap(slices));
  }

  private static Header readHeader(Path path, MemorySegment file) {
    String[] fields = {
      "dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"
    };
    int[] values = new int[fields.length];
    for (int i = 0; i < fields.length; i++) {
      values[i] = file.get(INT, (long) i * Integer.BYTES);
      boolean vocab = i == 5;
      boolean valid = vocab ? values[i] != 0 && values[i] != Integer.MIN_VALUE : values[i] > 0;
      if (!valid) {
        throw error(
            path,
            (long) i * Integer.BYTES,
            "header field "
                + fields[i]
                + " is "
                + values[i]
                + (vocab
                    ? ", must be non-zero (negative: unshared classifier)"
                    : ", must be positive"));
      }
    }
    int dim = values[0];
    int heads = values[3];
    if (dim % heads != 0) {
      throw error(path, 12, "dim " + dim + " is not a multiple of n_heads " + heads);
    }
    if ((dim / heads) % 2 != 0) {
      throw error(
          path,
          12,
          "head size dim / n_heads = "
              + dim
              + " / "
              + heads
              + " = "
              + dim / heads
              + " is odd (rotary embedding rotates pairs)");
    }
    int vocab = values[5];
    return new Header(
        dim, values[1], values[2], heads, values[4], Math.abs(vocab), vocab > 0, values[6]);
  }

  /** Every array of the file in order, with its size; nothing is allocated per layer or row. */
  private static List<Array> layout(Path path, Header h) {
    long dim = h.dim();
    long hidden = h.hiddenDim();
    long hs = h.headSize();
    long qDim = h.heads() * hs;
    long kvDim = h.kvHeads() * hs;

    var builder =
        new Object() {
          final List<Array> arrays = new ArrayList<>();
          long offset = HEADER_BYTES;

          void global(String name, String array, long... shape) {
            add(new Array(array, name, shape, offset, bytes(path, array, shape), 0, 0));
          }

          void stacked(String suffix, String array, int permutedHeads, long... shape) {
            add(
                new Array(
                    array,
                    suffix,
                    shape,
                    offset,
                    bytes(path, array, shape),
                    h.layers(),
                    permutedHeads));
          }

          private void add(Array array) {
            try {
              offset =
                  Math.addExact(
                      offset,
                      Math.multiplyExact(array.tensorBytes(), (long) Math.max(array.layers(), 1)));
            } catch (ArithmeticException e) {
              throw error(path, 0, "the header's sizes overflow at array " + array.array());
            }
            arrays.add(array);
          }
        };
    builder.global("model.embed_tokens.weight", "token_embedding_table", h.vocabSize(), dim);
    builder.stacked("input_layernorm.weight", "rms_att_weight", 0, dim);
    builder.stacked("self_attn.q_proj.weight", "wq", h.heads(), qDim, dim);
    builder.stacked("self_attn.k_proj.weight", "wk", h.kvHeads(), kvDim, dim);
    builder.stacked("self_attn.v_proj.weight", "wv", 0, kvDim, dim);
    builder.stacked("self_attn.o_proj.weight", "wo", 0, dim, qDim);
    builder.stacked("post_attention_layernorm.weight", "rms_ffn_weight", 0, dim);
    builder.stacked("mlp.gate_proj.weight", "w1", 0, hidden, dim);
    builder.stacked("mlp.down_proj.weight", "w2", 0, dim, hidden);
    builder.stacked("mlp.up_proj.weight", "w3", 0, hidden, dim);
    builder.global("model.norm.weight", "rms_final_weight", dim);
    builder.global(null, "freq_cis_real", h.seqLen(), hs / 2);
    builder.global(null, "freq_cis_imag", h.seqLen(), hs / 2);
    if (!h.shared()) {
      builder.global("lm_head.weight", "wcls", h.vocabSize(), dim);
    }
    return builder.arrays;
  }

  private static long bytes(Path path, String array, long... shape) {
    try {
      long count = Float.BYTES;
      for (long d : shape) {
        count = Math.multiplyExact(count, d);
      }
      return count;
    } catch (ArithmeticException e) {
      throw error(
          path,
          0,
          "array " + array + " of the header's shape " + Arrays.toString(shape) + " overflows");
    }
  }

  /**
   * {@code order[hfRow] = storedRow} for the q or k rows of {@code heads} heads of {@code
   * headSize}.
   */
  static int[] hfRowOrder(int heads, int headSize) {
    int half = headSize / 2;
    int[] order = new int[Math.multiplyExact(heads, headSize)];
    for (int h = 0; h < heads; h++) {
      for (int j = 0; j < 2; j++) {
        for (int i = 0; i < half; i++) {
          order[h * headSize + j * half + i] = h * headSize + 2 * i + j;
        }
      }
    }
    return order;
  }

  private static WeightLoadException error(Path path, long offset, String message) {
    return new WeightLoadException(path + " (llama2.c v0, offset " + offset + "): " + message);
  }

  public Path path() {
    return path;
  }

  /**
   * Whether the classifier is the token embedding (the header's {@code vocab_size} was positive).
   */
  public boolean sharedClassifier() {
    return header.shared();
  }

  @Override
  public String format() {
    return "llama2.c v0";
  }

  /**
   * vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
   * maxPositionEmbeddings (seq_len) and tieWordEmbeddings; no rope theta or rms epsilon (the format
   * has no fields for them).
   */
  @Override
  public Map<SpecElement, Object> statedSpec() {
    Map<SpecElement, Object> spec = new EnumMap<>(SpecElement.class);
    spec.put(SpecElement.VOCAB_SIZE, header.vocabSize());
    spec.put(SpecElement.HIDDEN_SIZE, header.dim());
    spec.put(SpecElement.INTERMEDIATE_SIZE, header.hiddenDim());
    spec.put(SpecElement.NUM_HIDDEN_LAYERS, header.layers());
    spec.put(SpecElement.NUM_ATTENTION_HEADS, header.heads());
    spec.put(SpecElement.NUM_KEY_VALUE_HEADS, header.kvHeads());
    spec.put(SpecElement.MAX_POSITION_EMBEDDINGS, header.seqLen());
    spec.put(SpecElement.TIE_WORD_EMBEDDINGS, header.shared());
    return Collections.unmodifiableMap(spec);
  }

  @Override
  public String description() {
    return path.toString();
  }

  /**
   * HF names in file order: embeddings, each stacked array layer by layer, final norm, then {@code
   * lm_head.weight} if unshared.
   */
  @Override
  public Set<String> names() {
    return slices.keySet();
  }

  @Override
  public long[] shape(String name) {
    return slice(name).shape().clone();
  }

  @Override
  public String dtypeName(String name) {
    slice(name);
    return Dtype.F32.name();
  }

  private Slice slice(String name) {
    Slice slice = slices.get(name);
    if (slice == null) {
      throw new WeightLoadException(path + ": no tensor named " + name);
    }
    return slice;
  }

  /**
   * A float32 view of the tensor's bytes in the file (no copy); q/k projections in Hugging Face row
   * order.
   */
  @Override
  public WeightTensor read(String name) {
    Slice slice = slice(name);
    WeightTensor tensor =
        WeightTensor.of(
            name, slice.shape(), Dtype.F32, file.asSlice(slice.offset(), slice.bytes()));
    if (slice.permutedHeads() == 0) {
      return tensor;
    }
    return tensor.withRowOrder(hfRowOrder(slice.permutedHeads(), header.headSize()));
  }
}
