package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.spec.SpecElement;
import dev.kiln.weights.GgufWriter.Arr;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GgufFileTest {
  @TempDir Path dir;

  /** A small llama file: 2 layers, hidden 8, 2 heads of 4, 1 kv head, ffn 16, vocab 5. */
  static GgufWriter llama(int version) {
    GgufWriter w =
        new GgufWriter(version)
            .putString("general.architecture", "llama")
            .putU32("llama.vocab_size", 5)
            .putU32("llama.context_length", 32)
            .putU32("llama.embedding_length", 8)
            .putU32("llama.block_count", 2)
            .putU32("llama.feed_forward_length", 16)
            .putU32("llama.rope.dimension_count", 4)
            .putU32("llama.attention.head_count", 2)
            .putU32("llama.attention.head_count_kv", 1)
            .putF32("llama.rope.freq_base", 10000f)
            .putF32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    w.f32Tensor("token_embd.weight", new long[] {8, 5}, ramp(40, 0));
    for (int layer = 0; layer < 2; layer++) {
      String p = "blk." + layer + ".";
      w.f32Tensor(p + "attn_norm.weight", new long[] {8}, ramp(8, 1000));
      w.f32Tensor(p + "attn_q.weight", new long[] {8, 8}, ramp(64, 2000));
      w.f32Tensor(p + "attn_k.weight", new long[] {8, 4}, ramp(32, 3000));
      w.f32Tensor(p + "attn_v.weight", new long[] {8, 4}, ramp(32, 4000));
      w.f32Tensor(p + "attn_output.weight", new long[] {8, 8}, ramp(64, 5000));
      w.f32Tensor(p + "ffn_norm.weight", new long[] {8}, ramp(8, 6000));
      w.f32Tensor(p + "ffn_gate.weight", new long[] {8, 16}, ramp(128, 7000));
      w.f32Tensor(p + "ffn_up.weight", new long[] {8, 16}, ramp(128, 8000));
      w.f32Tensor(p + "ffn_down.weight", new long[] {16, 8}, ramp(128, 9000));
    }
    w.f32Tensor("output_norm.weight", new long[] {8}, ramp(8, 10000));
    return w;
  }

  static float[] ramp(int n, float start) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = start + i;
    }
    return values;
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3})
  void readsEveryMetadataType(int version) {
    List<Object> nested =
        List.of(
            new Arr(GgufValueType.STRING, List.of("a", "bc")),
            new Arr(GgufValueType.STRING, List.of()));
    GgufFile file =
        new GgufWriter(version)
            .put("u8", GgufValueType.UINT8, 255)
            .put("i8", GgufValueType.INT8, -128)
            .put("u16", GgufValueType.UINT16, 65535)
            .put("i16", GgufValueType.INT16, -32768)
            .put("u32", GgufValueType.UINT32, 4_294_967_295L)
            .put("i32", GgufValueType.INT32, Integer.MIN_VALUE)
            .put("f32", GgufValueType.FLOAT32, 1e-5f)
            .put("bool.true", GgufValueType.BOOL, true)
            .put("bool.false", GgufValueType.BOOL, false)
            .put("string", GgufValueType.STRING, "héllo ▁一 \uD83D\uDE00")
            .put("empty", GgufValueType.STRING, "")
            .put("u64", GgufValueType.UINT64, -1L)
            .put("i64", GgufValueType.INT64, Long.MIN_VALUE)
            .put("f64", GgufValueType.FLOAT64, Math.PI)
            .put("a.u8", GgufValueType.ARRAY, new Arr(GgufValueType.UINT8, List.of(0, 7, 255)))
            .put("a.i8", GgufValueType.ARRAY, new Arr(GgufValueType.INT8, List.of(-1, 1)))
            .put("a.u16", GgufValueType.ARRAY, new Arr(GgufValueType.UINT16, List.of(65535)))
            .put("a.i16", GgufValueType.ARRAY, new Arr(GgufValueType.INT16, List.of(-2)))
            .put(
                "a.u32",
                GgufValueType.ARRAY,
                new Arr(GgufValueType.UINT32, List.of(3_000_000_000L)))
            .put("a.i32", GgufValueType.ARRAY, new Arr(GgufValueType.INT32, List.of(2, 3, -3)))
            .put("a.f32", GgufValueType.ARRAY, new Arr(GgufValueType.FLOAT32, List.of(0.5f, -0f)))
            .put("a.bool", GgufValueType.ARRAY, new Arr(GgufValueType.BOOL, List.of(true, false)))
            .put("a.u64", GgufValueType.ARRAY, new Arr(GgufValueType.UINT64, List.of(1L << 40)))
            .put("a.i64", GgufValueType.ARRAY, new Arr(GgufValueType.INT64, List.of(-5L)))
            .put("a.f64", GgufValueType.ARRAY, new Arr(GgufValueType.FLOAT64, List.of(2.5)))
            .put(
                "a.string",
                GgufValueType.ARRAY,
                new Arr(GgufValueType.STRING, List.of("<s>", "", "一")))
            .put("a.empty", GgufValueType.ARRAY, new Arr(GgufValueType.INT32, List.of()))
            .put("a.nested", GgufValueType.ARRAY, new Arr(GgufValueType.ARRAY, nested))
            .put(
                "a.deep",
                GgufValueType.ARRAY,
                new Arr(
                    GgufValueType.ARRAY,
                    List.of(
                        new Arr(
                            GgufValueType.ARRAY,
                            List.of(new Arr(GgufValueType.UINT16, List.of(1, 2)))))))
            .parse();

    assertThat(file.version()).isEqualTo(version);
    assertThat(file.format()).isEqualTo("GGUF v" + version);
    GgufMetadata m = file.metadata();
    assertThat(m.keys())
        .containsExactly(
            "u8",
            "i8",
            "u16",
            "i16",
            "u32",
            "i32",
            "f32",
            "bool.true",
            "bool.false",
            "string",
            "empty",
            "u64",
            "i64",
            "f64",
            "a.u8",
            "a.i8",
            "a.u16",
            "a.i16",
            "a.u32",
            "a.i32",
            "a.f32",
            "a.bool",
            "a.u64",
            "a.i64",
            "a.f64",
            "a.string",
            "a.empty",
            "a.nested",
            "a.deep")
        .inOrder();
    assertThat(m.get("u8")).isEqualTo(255);
    assertThat(m.get("i8")).isEqualTo(-128);
    assertThat(m.get("u16")).isEqualTo(65535);
    assertThat(m.get("i16")).isEqualTo(-32768);
    assertThat(m.get("u32")).isEqualTo(4_294_967_295L);
    assertThat(m.get("i32")).isEqualTo(Integer.MIN_VALUE);
    assertThat(m.get("f32")).isEqualTo(1e-5f);
    assertThat(m.get("bool.true")).isEqualTo(true);
    assertThat(m.get("bool.false")).isEqualTo(false);
    assertThat(m.get("string")).isEqualTo("héllo ▁一 \uD83D\uDE00");
    assertThat(m.get("empty")).isEqualTo("");
    assertThat(m.get("u64")).isEqualTo(-1L);
    assertThat(m.get("i64")).isEqualTo(Long.MIN_VALUE);
    assertThat(m.get("f64")).isEqualTo(Math.PI);
    assertThat(m.get("a.u8")).isEqualTo(List.of(0, 7, 255));
    assertThat(m.get("a.i8")).isEqualTo(List.of(-1, 1));
    assertThat(m.get("a.u16")).isEqualTo(List.of(65535));
    assertThat(m.get("a.i16")).isEqualTo(List.of(-2));
    assertThat(m.get("a.u32")).isEqualTo(List.of(3_000_000_000L));
    assertThat(m.get("a.i32")).isEqualTo(List.of(2, 3, -3));
    assertThat(m.get("a.f32")).isEqualTo(List.of(0.5f, -0f));
    assertThat(m.get("a.bool")).isEqualTo(List.of(true, false));
    assertThat(m.get("a.u64")).isEqualTo(List.of(1L << 40));
    assertThat(m.get("a.i64")).isEqualTo(List.of(-5L));
    assertThat(m.get("a.f64")).isEqualTo(List.of(2.5));
    assertThat(m.get("a.string")).isEqualTo(List.of("<s>", "", "一"));
    assertThat(m.get("a.empty")).isEqualTo(List.of());
    assertThat(m.get("a.nested")).isEqualTo(List.of(List.of("a", "bc"), List.of()));
    assertThat(m.get("a.deep")).isEqualTo(List.of(List.of(List.of(1, 2))));
    assertThat(m.asMap().get("a.string")).isEqualTo(List.of("<s>", "", "一"));

    for (GgufValueType type : GgufValueType.values()) {
      String key =
          switch (type) {
            case UINT8 -> "u8";
            case INT8 -> "i8";
            case UINT16 -> "u16";
            case INT16 -> "i16";
            case UINT32 -> "u32";
            case INT32 -> "i32";
            case FLOAT32 -> "f32";
            case BOOL -> "bool.true";
            case STRING -> "string";
            case ARRAY -> "a.u8";
            case UINT64 -> "u64";
            case INT64 -> "i64";
            case FLOAT64 -> "f64";
          };
      assertThat(m.type(key)).hasValue(type);
    }
    assertThat(m.elementType("a.nested")).hasValue(GgufValueType.ARRAY);
    assertThat(m.elementType("u8")).isEmpty();

    // Typed getters: any integer type as an integer, floats widened exactly.
    assertThat(m.getInteger("u8").getAsLong()).isEqualTo(255);
    assertThat(m.getInteger("i16").getAsLong()).isEqualTo(-32768);
    assertThat(m.getInteger("u32").getAsLong()).isEqualTo(4_294_967_295L);
    assertThat(m.getInteger("i64").getAsLong()).isEqualTo(Long.MIN_VALUE);
    assertThat(m.getInteger("missing")).isEmpty();
    assertThat(m.getFloat("f32").getAsDouble()).isEqualTo((double) 1e-5f);
    assertThat(m.getFloat("f64").getAsDouble()).isEqualTo(Math.PI);
    assertThat(m.getFloat("i8").getAsDouble()).isEqualTo(-128.0);
    assertThat(m.getFloat("u64").getAsDouble()).isEqualTo(1.8446744073709552E19);
    assertThat(m.getString("string")).hasValue("héllo ▁一 \uD83D\uDE00");
    assertThat(m.getBool("bool.true")).hasValue(true);
    assertThat(m.getArray("a.i32").orElseThrow()).containsExactly(2, 3, -3).inOrder();
    assertThat(m.offset("u8")).isGreaterThan(24L);
    assertThat(m.offset("missing")).isEqualTo(-1L);

    WeightLoadException tooBig = assertThrows(WeightLoadException.class, () -> m.getInteger("u64"));
    assertThat(tooBig)
        .hasMessageThat()
        .contains("test.gguf (GGUF, offset " + m.offset("u64") + "): metadata u64");
    assertThat(tooBig).hasMessageThat().contains("18446744073709551615");
    WeightLoadException notInt = assertThrows(WeightLoadException.class, () -> m.getInteger("f32"));
    assertThat(notInt)
        .hasMessageThat()
        .contains("metadata f32: expected an integer, found FLOAT32");
    assertThrows(WeightLoadException.class, () -> m.getString("u8"));
    assertThrows(WeightLoadException.class, () -> m.getBool("u8"));
    assertThrows(WeightLoadException.class, () -> m.getArray("u8"));
    assertThrows(WeightLoadException.class, () -> m.getFloat("string"));
  }

  @Test
  void largeStringArraysReadByIndexAndInOrder() {
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      tokens.add("tok" + "x".repeat(i % 7) + i);
    }
    GgufFile file =
        new GgufWriter()
            .put(
                "tokenizer.ggml.tokens", GgufValueType.ARRAY, new Arr(GgufValueType.STRING, tokens))
            .parse();
    List<Object> read = file.metadata().getArray("tokenizer.ggml.tokens").orElseThrow();
    assertThat(read).hasSize(1000);
    assertThat(read.get(999)).isEqualTo(tokens.get(999));
    assertThat(read.get(64)).isEqualTo(tokens.get(64));
    assertThat(read.get(130)).isEqualTo(tokens.get(130));
    assertThat(read).containsExactlyElementsIn(tokens).inOrder();
    assertThat(new ArrayList<>(read)).isEqualTo(tokens);
    assertThrows(IndexOutOfBoundsException.class, () -> read.get(1000));
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3})
  void readsEveryTensorType(int version) {
    Random random = new Random(version);
    GgufWriter w = new GgufWriter(version).putString("general.architecture", "llama").alignment(64);
    float[] f32 = {1.5f, -2f, 3.25f, 0f, 0x1p-100f, -7f};
    float[] f16 = {0.5f, -1f, 65504f, 0x1p-24f, 2f, 3f};
    w.f32Tensor("f32", new long[] {3, 2}, f32);
    w.tensor("f16", Dtype.F16, new long[] {2, 3}, GgufWriter.f16Bytes(f16));
    byte[] bf16 = new byte[12];
    for (int i = 0; i < 6; i++) {
      int bits = Float.floatToRawIntBits(f32[i]) >>> 16;
      bf16[2 * i] = (byte) bits;
      bf16[2 * i + 1] = (byte) (bits >>> 8);
    }
    w.tensor("bf16", Dtype.BF16, new long[] {6}, bf16);
    // Q8_0: one block per row, d = 0.5, q = -3, -2, ...
    byte[] q8 = new byte[2 * 34];
    for (int row = 0; row < 2; row++) {
      short d = Float.floatToFloat16(0.5f);
      q8[row * 34] = (byte) d;
      q8[row * 34 + 1] = (byte) (d >> 8);
      for (int j = 0; j < 32; j++) {
        q8[row * 34 + 2 + j] = (byte) (j - 3 + row);
      }
    }
    w.tensor("q8_0", Dtype.Q8_0, new long[] {32, 2}, q8);
    Map<Dtype, byte[]> randomBytes = new java.util.EnumMap<>(Dtype.class);
    for (Dtype dtype : List.of(Dtype.Q4_0, Dtype.Q4_K, Dtype.Q6_K)) {
      byte[] bytes = new byte[3 * dtype.blockBytes() * 2];
      random.nextBytes(bytes);
      randomBytes.put(dtype, bytes);
      w.tensor(dtype.name().toLowerCase(), dtype, new long[] {2L * dtype.blockSize(), 3}, bytes);
    }
    GgufFile file = w.parse();

    assertThat(file.alignment()).isEqualTo(64);
    assertThat(file.dataStart() % 64).isEqualTo(0);
    assertThat(file.tensorNames())
        .containsExactly("f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k")
        .inOrder();
    WeightTensor t32 = file.readStored("f32");
    assertThat(t32.dtype()).isEqualTo(Dtype.F32);
    assertThat(t32.shape()).isEqualTo(new long[] {2, 3});
    assertThat(t32.toArray()).isEqualTo(f32);
    WeightTensor t16 = file.read("f16");
    assertThat(t16.dtype()).isEqualTo(Dtype.F16);
    assertThat(t16.shape()).isEqualTo(new long[] {3, 2});
    assertThat(t16.toArray()).isEqualTo(f16);
    WeightTensor tb = file.read("bf16");
    assertThat(tb.dtype()).isEqualTo(Dtype.BF16);
    assertThat(tb.toArray()).isEqualTo(f32);
    WeightTensor t8 = file.read("q8_0");
    assertThat(t8.dtype()).isEqualTo(Dtype.Q8_0);
    assertThat(t8.shape()).isEqualTo(new long[] {2, 32});
    assertThat(t8.get(0)).isEqualTo(-1.5f);
    assertThat(t8.get(32 + 5)).isEqualTo(1.5f);
    for (var e : randomBytes.entrySet()) {
      Dtype dtype = e.getKey();
      String name = dtype.name().toLowerCase();
      WeightTensor t = file.read(name);
      assertThat(t.dtype()).isEqualTo(dtype);
      assertThat(file.dtypeName(name)).isEqualTo(dtype.name());
      assertThat(t.shape()).isEqualTo(new long[] {3, 2L * dtype.blockSize()});
      assertThat(t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(e.getValue());
      GgufTensorInfo info = file.tensorInfo(name);
      assertThat(info.dims()).isEqualTo(new long[] {2L * dtype.blockSize(), 3});
      assertThat(info.dtype().ggmlType()).isEqualTo(dtype.ggmlType());
      assertThat(info.offset() % 64).isEqualTo(0);
      assertThat(info.byteSize()).isEqualTo(e.getValue().length);
      t.toArray();
    }
  }

  @Test
  void opensAFileOnDisk() throws Exception {
    Path path = llama(3).write(dir.resolve("model.gguf"));
    GgufFile file = GgufFile.open(path);
    assertThat(file.path()).isEqualTo(path);
    assertThat(file.description()).isEqualTo(path.toString());
    assertThat(file.read("model.layers.1.mlp.down_proj.weight").toArray())
        .isEqualTo(ramp(128, 9000));
    WeightLoadException missing =
        assertThrows(WeightLoadException.class, () -> GgufFile.open(dir.resolve("none.gguf")));
    assertThat(missing).hasMessageThat().contains("none.gguf: no such file");
  }

  @Test
  void mapsNamesToHuggingFace() {
    GgufWriter w = llama(3);
    w.f32Tensor("output.weight", new long[] {8, 5}, ramp(40, 0));
    w.f32Tensor("blk.0.attn_q.bias", new long[] {8}, ramp(8, 0));
    w.f32Tensor("blk.1.ffn_up.bias", new long[] {16}, ramp(16, 0));
    w.f32Tensor("rope_freqs.weight", new long[] {2}, ramp(2, 0));
    w.f32Tensor("blk.01.attn_q.weight", new long[] {2}, ramp(2, 0));
    GgufFile file = w.parse();
    List<String> expected = new ArrayList<>(List.of("model.embed_tokens.weight"));
    for (int layer = 0; layer < 2; layer++) {
      String p = "model.layers." + layer + ".";
      expected.addAll(
          List.of(
              p + "input_layernorm.weight",
              p + "self_attn.q_proj.weight",
              p + "self_attn.k_proj.weight",
              p + "self_attn.v_proj.weight",
              p + "self_attn.o_proj.weight",
              p + "post_attention_layernorm.weight",
              p + "mlp.gate_proj.weight",
              p + "mlp.up_proj.weight",
              p + "mlp.down_proj.weight"));
    }
    expected.addAll(
        List.of(
            "model.norm.weight",
            "lm_head.weight",
            "model.layers.0.self_attn.q_proj.bias",
            "model.layers.1.mlp.up_proj.bias",
            "blk.01.attn_q.weight"));
    assertThat(file.names()).containsExactlyElementsIn(expected).inOrder();
    assertThat(file.shape("model.layers.0.mlp.down_proj.weight")).isEqualTo(new long[] {8, 16});
    assertThat(file.shape("model.layers.0.mlp.up_proj.weight")).isEqualTo(new long[] {16, 8});
    assertThat(file.tensorInfoOf("lm_head.weight").name()).isEqualTo("output.weight");
    assertThat(file.read("model.layers.1.mlp.up_proj.weight").toArray()).isEqualTo(ramp(128, 8000));
    // rope_freqs is part of the spec (RoPE scaling), not a weight: stored, but not among the
    // checkpoint's tensors
    assertThat(file.readStored("rope_freqs.weight").toArray()).isEqualTo(ramp(2, 0));
    WeightLoadException missing =
        assertThrows(WeightLoadException.class, () -> file.read("blk.0.attn_q.weight"));
    assertThat(missing).hasMessageThat().contains("test.gguf: no tensor named blk.0.attn_q.weight");
  }

  @Test
  void putsPermutedQueryAndKeyRowsBackInHuggingFaceOrder() {
    // GGUF row h*hd + 2i + j holds Hugging Face row h*hd + j*hd/2 + i (hd = 4 here).
    int[] expectedQ = {0, 2, 1, 3, 4, 6, 5, 7};
    int[] expectedK = {0, 2, 1, 3};
    assertThat(GgufArchitecture.hfRowOrder(8, 4)).isEqualTo(expectedQ);
    GgufWriter w = llama(3);
    w.f32Tensor("blk.0.attn_q.bias", new long[] {8}, ramp(8, 0));
    w.tensor("blk.0.attn_k.bias", Dtype.F16, new long[] {4}, GgufWriter.f16Bytes(ramp(4, 0)));
    GgufFile file = w.parse();
    WeightTensor q = file.read("model.layers.0.self_attn.q_proj.weight");
    WeightTensor storedQ = file.readStored("blk.0.attn_q.weight");
    assertThat(q.shape()).isEqualTo(new long[] {8, 8});
    float[] row = new float[8];
    float[] storedRow = new float[8];
    for (int r = 0; r < 8; r++) {
      q.readRow(r, row, 0);
      storedQ.readRow(expectedQ[r], storedRow, 0);
      assertThat(row).isEqualTo(storedRow);
      assertThat(row[0]).isEqualTo(2000f + 8 * expectedQ[r]);
    }
    WeightTensor k = file.read("model.layers.0.self_attn.k_proj.weight");
    for (int r = 0; r < 4; r++) {
      k.readRow(r, row, 0);
      assertThat(row[0]).isEqualTo(3000f + 8 * expectedK[r]);
    }
    // v and o are not permuted.
    assertThat(file.read("model.layers.0.self_attn.v_proj.weight").toArray())
        .isEqualTo(ramp(32, 4000));
    assertThat(file.read("model.layers.0.self_attn.o_proj.weight").toArray())
        .isEqualTo(ramp(64, 5000));
    // Biases are permuted the same way.
    assertThat(file.read("model.layers.0.self_attn.q_proj.bias").toArray())
        .isEqualTo(new float[] {0, 2, 1, 3, 4, 6, 5, 7});
    WeightTensor kBias = file.read("model.layers.0.self_attn.k_proj.bias");
    assertThat(kBias.dtype()).isEqualTo(Dtype.F32);
    assertThat(kBias.toArray()).isEqualTo(new float[] {0, 2, 1, 3});
  }

  @Test
  void keyValueHeadsDefaultToHeads() {
    GgufWriter w =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .putU32("llama.attention.head_count", 2);
    w.f32Tensor("blk.0.attn_k.weight", new long[] {1, 8}, ramp(8, 0));
    GgufFile file = w.parse();
    assertThat(file.read("model.layers.0.self_attn.k_proj.weight").toArray())
        .isEqualTo(new float[] {0, 2, 1, 3, 4, 6, 5, 7});
    assertThat(file.statedSpec()).containsEntry(SpecElement.NUM_KEY_VALUE_HEADS, 2);
  }

  @Test
  void permutationNeedsHeadCounts() {
    GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
    w.f32Tensor("blk.0.attn_q.weight", new long[] {1, 8}, ramp(8, 0));
    WeightLoadException e =
        assertThrows(
            WeightLoadException.class,
            () -> w.parse().read("model.layers.0.self_attn.q_proj.weight"));
    assertThat(e).hasMessageThat().contains("llama.attention.head_count is missing");

    GgufWriter odd =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .putU32("llama.attention.head_count", 3);
    odd.f32Tensor("blk.0.attn_q.weight", new long[] {1, 8}, ramp(8, 0));
    e =
        assertThrows(
            WeightLoadException.class,
            () -> odd.parse().read("model.layers.0.self_attn.q_proj.weight"));
    assertThat(e)
        .hasMessageThat()
        .contains(
            "blk.0.attn_q.weight [8, 1]: cannot put its rows back in Hugging Face order for 3 heads");
  }

  @Test
  void statesTheSpecFromMetadata() {
    GgufFile file = llama(3).parse();
    assertThat(file.statedSpec())
        .containsExactly(
            SpecElement.VOCAB_SIZE, 5,
            SpecElement.HIDDEN_SIZE, 8,
            SpecElement.INTERMEDIATE_SIZE, 16,
            SpecElement.NUM_HIDDEN_LAYERS, 2,
            SpecElement.NUM_ATTENTION_HEADS, 2,
            SpecElement.NUM_KEY_VALUE_HEADS, 1,
            SpecElement.HEAD_DIM, 4,
            SpecElement.MAX_POSITION_EMBEDDINGS, 32,
            SpecElement.ROPE_THETA, 10000.0,
            SpecElement.RMS_NORM_EPS, (double) 1e-5f,
            SpecElement.TIE_WORD_EMBEDDINGS, true)
        .inOrder();
  }

  @Test
  void statedSpecAcceptsAnyIntegerTypeAndFallsBack() {
    GgufWriter w =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .put("llama.embedding_length", GgufValueType.UINT64, 64L)
            .put("llama.block_count", GgufValueType.UINT8, 3)
            .put("llama.attention.head_count", GgufValueType.INT16, 4)
            .put("llama.feed_forward_length", GgufValueType.INT64, 128L)
            .put("llama.rope.freq_base", GgufValueType.FLOAT64, 5e5)
            .put(
                "tokenizer.ggml.tokens",
                GgufValueType.ARRAY,
                new Arr(GgufValueType.STRING, List.of("a", "b", "c")));
    w.f32Tensor("output.weight", new long[] {1, 1}, ramp(1, 0));
    Map<SpecElement, Object> spec = w.parse().statedSpec();
    assertThat(spec)
        .containsExactly(
            SpecElement.VOCAB_SIZE, 3,
            SpecElement.HIDDEN_SIZE, 64,
            SpecElement.INTERMEDIATE_SIZE, 128,
            SpecElement.NUM_HIDDEN_LAYERS, 3,
            SpecElement.NUM_ATTENTION_HEADS, 4,
            SpecElement.NUM_KEY_VALUE_HEADS, 4,
            SpecElement.HEAD_DIM, 16,
            SpecElement.ROPE_THETA, 5e5,
            SpecElement.TIE_WORD_EMBEDDINGS, false)
        .inOrder();

    GgufWriter fromEmbeddings =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .putU32("llama.attention.key_length", 48)
            .putU32("llama.rope.dimension_count", 32);
    fromEmbeddings.f32Tensor("token_embd.weight", new long[] {2, 7}, ramp(14, 0));
    assertThat(fromEmbeddings.parse().statedSpec())
        .containsAtLeast(SpecElement.VOCAB_SIZE, 7, SpecElement.HEAD_DIM, 48);
    GgufWriter rope =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .putU32("llama.rope.dimension_count", 32);
    assertThat(rope.parse().statedSpec())
        .containsAtLeast(SpecElement.HEAD_DIM, 32, SpecElement.TIE_WORD_EMBEDDINGS, true);
  }

  @Test
  void statedSpecRejectsBadValues() {
    GgufWriter negative =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .put("llama.block_count", GgufValueType.INT32, -1);
    WeightLoadException e =
        assertThrows(WeightLoadException.class, () -> negative.parse().statedSpec());
    assertThat(e)
        .hasMessageThat()
        .contains("metadata llama.block_count is -1, expected a count from 0 to 2147483647");
    assertThat(e).hasMessageThat().contains("test.gguf (GGUF, offset ");

    GgufWriter huge =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .put("llama.embedding_length", GgufValueType.UINT64, 1L << 40);
    e = assertThrows(WeightLoadException.class, () -> huge.parse().statedSpec());
    assertThat(e).hasMessageThat().contains("llama.embedding_length is 1099511627776");

    GgufWriter text =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .putString("llama.context_length", "long");
    e = assertThrows(WeightLoadException.class, () -> text.parse().statedSpec());
    assertThat(e)
        .hasMessageThat()
        .contains("metadata llama.context_length: expected an integer, found STRING");
  }

  /**
   * Gemma 2's names (sandwich norms, ffn_norm before the MLP) and its stored gains 1 + w, read as
   * Hugging Face's w.
   */
  @Test
  void gemma2NormsAreNamedAndOffsetAsHuggingFaceHasThem() {
    GgufWriter w =
        new GgufWriter()
            .putString("general.architecture", "gemma2")
            .putU32("gemma2.embedding_length", 4)
            .putU32("gemma2.feed_forward_length", 8)
            .putU32("gemma2.block_count", 1)
            .putU32("gemma2.attention.head_count", 2)
            .putU32("gemma2.attention.head_count_kv", 1)
            .putU32("gemma2.attention.key_length", 2)
            .putU32("gemma2.attention.sliding_window", 4)
            .putF32("gemma2.attn_logit_softcapping", 50f)
            .putF32("gemma2.final_logit_softcapping", 30f);
    w.f32Tensor("token_embd.weight", new long[] {4, 3}, ramp(12, 0));
    w.f32Tensor("blk.0.attn_norm.weight", new long[] {4}, new float[] {1.5f, 1f, 0.5f, 2f});
    w.f32Tensor("blk.0.post_attention_norm.weight", new long[] {4}, new float[] {1f, 1f, 1f, 1f});
    w.f32Tensor("blk.0.ffn_norm.weight", new long[] {4}, new float[] {2f, 2f, 2f, 2f});
    w.f32Tensor("blk.0.post_ffw_norm.weight", new long[] {4}, new float[] {3f, 3f, 3f, 3f});
    w.f32Tensor("blk.0.attn_q.weight", new long[] {4, 4}, ramp(16, 0));
    GgufFile file = w.parse();
    assertThat(file.names())
        .containsAtLeast(
            "model.layers.0.input_layernorm.weight",
            "model.layers.0.post_attention_layernorm.weight",
            "model.layers.0.pre_feedforward_layernorm.weight",
            "model.layers.0.post_feedforward_layernorm.weight");
    assertThat(file.read("model.layers.0.input_layernorm.weight").toArray())
        .isEqualTo(new float[] {0.5f, 0f, -0.5f, 1f});
    assertThat(file.read("model.layers.0.pre_feedforward_layernorm.weight").toArray())
        .isEqualTo(new float[] {1f, 1f, 1f, 1f});
    assertThat(file.read("model.layers.0.post_feedforward_layernorm.weight").toArray())
        .isEqualTo(new float[] {2f, 2f, 2f, 2f});
    // Not llama: q rows stay in Hugging Face's order (llama.cpp rotates halves for gemma2, qwen2,
    // qwen3).
    assertThat(file.read("model.layers.0.self_attn.q_proj.weight").toArray())
        .isEqualTo(ramp(16, 0));
    var spec = file.statedSpec();
    assertThat(spec).containsEntry(SpecElement.SANDWICH_NORMS, true);
    assertThat(spec).containsEntry(SpecElement.RMS_NORM_UNIT_OFFSET, true);
    assertThat(spec).containsEntry(SpecElement.SCALE_EMBEDDINGS, true);
    assertThat(spec).containsEntry(SpecElement.HIDDEN_ACT, dev.kiln.Activation.GELU_TANH);
    assertThat(spec).containsEntry(SpecElement.ATTN_LOGIT_SOFTCAPPING, 50.0);
    assertThat(spec).containsEntry(SpecElement.FINAL_LOGIT_SOFTCAPPING, 30.0);
    assertThat(spec).containsEntry(SpecElement.SLIDING_WINDOW, 4);
    assertThat(spec)
        .containsEntry(SpecElement.SLIDING_WINDOW_LAYERS, dev.kiln.SlidingWindowLayers.EVEN);
    assertThat(spec).containsEntry(SpecElement.HEAD_DIM, 2);
  }

  @Test
  void qwenStatesItsBiasesAndHeadNormsByTheirTensors() {
    GgufWriter qwen2 = new GgufWriter().putString("general.architecture", "qwen2");
    qwen2.f32Tensor("blk.0.attn_q.bias", new long[] {4}, ramp(4, 0));
    assertThat(qwen2.parse().statedSpec()).containsEntry(SpecElement.QKV_BIAS, true);
    GgufWriter qwen3 = new GgufWriter().putString("general.architecture", "qwen3");
    qwen3.f32Tensor("blk.0.attn_q_norm.weight", new long[] {4}, ramp(4, 0));
    GgufFile file = qwen3.parse();
    assertThat(file.statedSpec()).containsEntry(SpecElement.QK_NORM, true);
    assertThat(file.names()).containsExactly("model.layers.0.self_attn.q_norm.weight");
  }

  @Test
  void llamaRopeScalingFromKeysOrRopeFreqs() {
    GgufWriter linear =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .putString("llama.rope.scaling.type", "linear")
            .putF32("llama.rope.scaling.factor", 4f);
    assertThat(linear.parse().statedSpec())
        .containsEntry(SpecElement.ROPE_SCALING, dev.kiln.RopeScaling.LINEAR);
    GgufWriter yarn =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .putString("llama.rope.scaling.type", "yarn");
    var e = assertThrows(WeightLoadException.class, () -> yarn.parse().statedSpec());
    assertThat(e).hasMessageThat().contains("rope.scaling.type is \"yarn\"");

    GgufWriter freqs =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .putU32("llama.attention.key_length", 8)
            .putF32("llama.rope.freq_base", 10000f);
    freqs.f32Tensor("rope_freqs.weight", new long[] {3}, new float[] {1f, 1f, 1f});
    var wrongLength = assertThrows(WeightLoadException.class, () -> freqs.parse().statedSpec());
    assertThat(wrongLength)
        .hasMessageThat()
        .contains("tensor rope_freqs.weight [3] F32: expected F32 [4]");
  }

  @Test
  void readsOnlyKnownArchitecturesAsACheckpoint() {
    GgufWriter w = new GgufWriter().putString("general.architecture", "phi3");
    w.f32Tensor("token_embd.weight", new long[] {2, 2}, ramp(4, 0));
    GgufFile file = w.parse();
    assertThat(file.architecture()).hasValue("phi3");
    assertThat(file.names()).containsExactly("model.embed_tokens.weight");
    assertThat(file.readStored("token_embd.weight").toArray()).isEqualTo(ramp(4, 0));
    WeightLoadException e = assertThrows(WeightLoadException.class, file::statedSpec);
    assertThat(e)
        .hasMessageThat()
        .contains(
            "general.architecture is \"phi3\"; Kiln reads GGUF files of the architectures"
                + " \"llama\", \"qwen2\", \"qwen3\", \"gemma2\"");
    assertThat(e).hasMessageThat().contains("test.gguf (GGUF, offset 56)");
    assertThrows(WeightLoadException.class, () -> file.read("model.embed_tokens.weight"));

    WeightLoadException none =
        assertThrows(WeightLoadException.class, () -> new GgufWriter().parse().statedSpec());
    assertThat(none).hasMessageThat().contains("no general.architecture");
  }

  @Test
  void acceptsAnyPowerOfTwoAlignment() {
    for (long alignment : new long[] {1, 8, 256}) {
      GgufWriter w = llama(3).alignment(alignment);
      w.f32Tensor("odd", new long[] {3}, ramp(3, 0));
      w.f32Tensor("after", new long[] {1}, ramp(1, 7));
      GgufFile file = w.parse();
      assertThat(file.alignment()).isEqualTo(alignment);
      assertThat(file.read("after").toArray()).isEqualTo(new float[] {7});
    }
  }

  @Test
  void readsTensorsPastTwoGigabytes() throws Exception {
    // A sparse file: the tensor's bytes lie 3 GiB into the data section.
    long offset = 3L << 30;
    GgufWriter w =
        new GgufWriter()
            .putString("general.architecture", "llama")
            .f32Tensor("t", new long[] {4}, ramp(4, 1));
    byte[] bytes = w.toBytes();
    GgufWriter.Field field =
        w.fields().stream().filter(f -> f.what().equals("t offset")).findFirst().orElseThrow();
    long dataStart = GgufWriter.parse("x", bytes).dataStart();
    ByteBuffer header =
        ByteBuffer.wrap(bytes, 0, (int) dataStart).slice().order(ByteOrder.LITTLE_ENDIAN);
    header.putLong((int) field.offset(), offset);
    Path path = dir.resolve("big.gguf");
    try (FileChannel channel =
        FileChannel.open(
            path,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE,
            StandardOpenOption.SPARSE)) {
      channel.write(header, 0);
      channel.write(ByteBuffer.wrap(bytes, (int) dataStart, 16), dataStart + offset);
    }
    GgufFile file = GgufFile.open(path);
    assertThat(file.tensorInfo("t").offset()).isEqualTo(offset);
    assertThat(file.read("t").toArray()).isEqualTo(ramp(4, 1));
  }

  @Test
  void emptyFileHasNoTensors() {
    GgufFile file = new GgufWriter().parse();
    assertThat(file.tensorNames()).isEmpty();
    assertThat(file.names()).isEmpty();
    assertThat(file.metadata().keys()).isEmpty();
    assertThat(Arrays.asList(file.toString())).isNotEmpty();
  }
}
