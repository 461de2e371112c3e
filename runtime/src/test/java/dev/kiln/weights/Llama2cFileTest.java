package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.spec.ResolvedSpec;
import dev.kiln.spec.SpecElement;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cFileTest {
  @TempDir Path dir;

  private static final Fixtures.Dims SHARED = Fixtures.Dims.small(true);
  private static final Fixtures.Dims UNSHARED = Fixtures.Dims.small(false);

  @Test
  void sharedClassifier_tensorsUnderHfNamesAndValues() {
    var hf = Fixtures.hfTensors(SHARED, 1);
    Llama2cFile file =
        Llama2cFile.open(Fixtures.writeLlama2c(dir.resolve("model.bin"), SHARED, hf));

    assertThat(file.format()).isEqualTo("llama2.c v0");
    assertThat(file.sharedClassifier()).isTrue();
    assertThat(file.names()).containsExactlyElementsIn(hf.keySet());
    assertThat(file.names()).doesNotContain("lm_head.weight");
    assertEqualTensors(file, hf);
  }

  @Test
  void unsharedClassifier_hasLmHead() {
    var hf = Fixtures.hfTensors(UNSHARED, 2);
    Llama2cFile file =
        Llama2cFile.open(Fixtures.writeLlama2c(dir.resolve("model.bin"), UNSHARED, hf));

    assertThat(file.sharedClassifier()).isFalse();
    assertThat(file.names()).containsExactlyElementsIn(hf.keySet());
    assertThat(file.names()).contains("lm_head.weight");
    assertEqualTensors(file, hf);
  }

  @Test
  void namesInFileOrder() {
    var hf = Fixtures.hfTensors(UNSHARED, 3);
    Llama2cFile file =
        Llama2cFile.open(Fixtures.writeLlama2c(dir.resolve("model.bin"), UNSHARED, hf));

    assertThat(file.names())
        .containsExactly(
            "model.embed_tokens.weight",
            "model.layers.0.input_layernorm.weight",
            "model.layers.1.input_layernorm.weight",
            "model.layers.0.self_attn.q_proj.weight",
            "model.layers.1.self_attn.q_proj.weight",
            "model.layers.0.self_attn.k_proj.weight",
            "model.layers.1.self_attn.k_proj.weight",
            "model.layers.0.self_attn.v_proj.weight",
            "model.layers.1.self_attn.v_proj.weight",
            "model.layers.0.self_attn.o_proj.weight",
            "model.layers.1.self_attn.o_proj.weight",
            "model.layers.0.post_attention_layernorm.weight",
            "model.layers.1.post_attention_layernorm.weight",
            "model.layers.0.mlp.gate_proj.weight",
            "model.layers.1.mlp.gate_proj.weight",
            "model.layers.0.mlp.down_proj.weight",
            "model.layers.1.mlp.down_proj.weight",
            "model.layers.0.mlp.up_proj.weight",
            "model.layers.1.mlp.up_proj.weight",
            "model.norm.weight",
            "lm_head.weight")
        .inOrder();
  }

  @Test
  void statedSpec_headerValuesOnly() {
    var dims = new Fixtures.Dims(24, 40, 3, 6, 2, 10, 7, false);
    var file =
        Llama2cFile.open(
            Fixtures.writeLlama2c(dir.resolve("model.bin"), dims, Fixtures.hfTensors(dims, 4)));

    assertThat(file.statedSpec())
        .containsExactly(
            SpecElement.VOCAB_SIZE, 10,
            SpecElement.HIDDEN_SIZE, 24,
            SpecElement.INTERMEDIATE_SIZE, 40,
            SpecElement.NUM_HIDDEN_LAYERS, 3,
            SpecElement.NUM_ATTENTION_HEADS, 6,
            SpecElement.NUM_KEY_VALUE_HEADS, 2,
            SpecElement.MAX_POSITION_EMBEDDINGS, 7,
            SpecElement.TIE_WORD_EMBEDDINGS, false);
    assertThat(file.statedSpec()).doesNotContainKey(SpecElement.ROPE_THETA);
    assertThat(file.statedSpec()).doesNotContainKey(SpecElement.RMS_NORM_EPS);
  }

  @Test
  void tensorsAreViewsOfTheMappedFile() {
    var hf = Fixtures.hfTensors(SHARED, 5);
    var file = Llama2cFile.open(Fixtures.writeLlama2c(dir.resolve("model.bin"), SHARED, hf));

    WeightTensor q = file.read("model.layers.1.self_attn.q_proj.weight");
    WeightTensor v = file.read("model.layers.1.self_attn.v_proj.weight");
    assertThat(q.data().isMapped()).isTrue();
    assertThat(v.data().isMapped()).isTrue();
    assertThat(v).isInstanceOf(FloatTensor.class);
    assertThat(v.toFloat()).isSameInstanceAs(v);
    assertThat(file.dtypeName("model.norm.weight")).isEqualTo("F32");
  }

  @Test
  void permutedRowsAlsoWorkForDot() {
    var hf = Fixtures.hfTensors(SHARED, 6);
    var file = Llama2cFile.open(Fixtures.writeLlama2c(dir.resolve("model.bin"), SHARED, hf));
    WeightTensor k = file.read("model.layers.0.self_attn.k_proj.weight");
    float[] expected = hf.get("model.layers.0.self_attn.k_proj.weight").values();
    float[] vector = new float[SHARED.dim()];
    for (int i = 0; i < vector.length; i++) {
      vector[i] = i % 3 - 1;
    }
    for (int row = 0; row < k.rows(); row++) {
      double sum = 0;
      for (int c = 0; c < SHARED.dim(); c++) {
        sum += expected[row * SHARED.dim() + c] * vector[c];
      }
      assertWithMessage("row %s", row).that((double) k.dot(row, vector, 0)).isWithin(1e-4).of(sum);
    }
  }

  @Test
  void hfRowOrder_matchesTheFormula() {
    int[] order = Llama2cFile.hfRowOrder(2, 6);
    // Head 0: HF rows 0..2 (first halves) are stored at 0, 2, 4; rows 3..5 (second halves) at 1, 3,
    // 5.
    assertThat(Arrays.stream(order).boxed().toList())
        .containsExactly(0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11)
        .inOrder();
  }

  @Test
  void truncatedFile_namesSizesAndTensor() {
    var hf = Fixtures.hfTensors(UNSHARED, 7);
    byte[] bytes = Fixtures.llama2cBytes(UNSHARED, hf);
    // token_embedding_table: 12*16*4 = 768 bytes from 28; rms_att_weight: 2 layers of 64 bytes from
    // 796.
    Path path = Fixtures.write(dir.resolve("cut.bin"), Arrays.copyOf(bytes, 28 + 768 + 64 + 10));

    var e = assertThrows(WeightLoadException.class, () -> Llama2cFile.open(path));
    assertThat(e).hasMessageThat().contains(path.toString());
    assertThat(e)
        .hasMessageThat()
        .contains("file is 870 bytes but the header implies " + bytes.length + " bytes");
    assertThat(e).hasMessageThat().contains("rms_att_weight[1]");
    assertThat(e).hasMessageThat().contains("model.layers.1.input_layernorm.weight");
    assertThat(e).hasMessageThat().contains("offset 860");
  }

  @Test
  void truncatedInRopeTable_namesIt() {
    var hf = Fixtures.hfTensors(SHARED, 8);
    byte[] bytes = Fixtures.llama2cBytes(SHARED, hf);
    Path path = Fixtures.write(dir.resolve("cut.bin"), Arrays.copyOf(bytes, bytes.length - 1));

    var e = assertThrows(WeightLoadException.class, () -> Llama2cFile.open(path));
    assertThat(e).hasMessageThat().contains("truncated in array freq_cis_imag");
  }

  @Test
  void shorterThanHeader() {
    Path path = Fixtures.write(dir.resolve("short.bin"), new byte[27]);
    var e = assertThrows(WeightLoadException.class, () -> Llama2cFile.open(path));
    assertThat(e).hasMessageThat().contains("shorter than the 28-byte header");
  }

  @Test
  void trailingBytes_rejected() {
    var hf = Fixtures.hfTensors(SHARED, 9);
    byte[] bytes = Fixtures.llama2cBytes(SHARED, hf);
    Path path = Fixtures.write(dir.resolve("long.bin"), Arrays.copyOf(bytes, bytes.length + 4));

    var e = assertThrows(WeightLoadException.class, () -> Llama2cFile.open(path));
    assertThat(e).hasMessageThat().contains("4 trailing bytes");
    assertThat(e).hasMessageThat().contains("header implies " + bytes.length + " bytes");
  }

  @Test
  void versionedExport_rejectedWithReason() {
    ByteBuffer header =
        ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN).putInt(0x616b3432).putInt(2);
    Path path = Fixtures.write(dir.resolve("v2.bin"), header.array());
    var e = assertThrows(WeightLoadException.class, () -> Llama2cFile.open(path));
    assertThat(e).hasMessageThat().contains("ak42");
    assertThat(e).hasMessageThat().contains("version 2");
  }

  @Test
  void badHeaderFields() {
    assertHeaderError(new int[] {0, 24, 2, 4, 2, 12, 6}, "dim is 0, must be positive");
    assertHeaderError(new int[] {16, 24, -2, 4, 2, 12, 6}, "n_layers is -2");
    assertHeaderError(new int[] {16, 24, 2, 4, 2, 0, 6}, "vocab_size is 0");
    assertHeaderError(new int[] {16, 24, 2, 3, 2, 12, 6}, "not a multiple of n_heads");
    assertHeaderError(new int[] {12, 24, 2, 4, 2, 12, 6}, "is odd");
    assertHeaderError(
        new int[] {Integer.MAX_VALUE - 3, 24, 2, 2, 2, Integer.MAX_VALUE, 6}, "overflows");
    assertHeaderError(
        new int[] {1 << 20, 1 << 20, 1 << 10, 1 << 10, 1 << 10, 1 << 20, 1 << 10},
        "header implies");
    // Billions of layers: rejected from the sizes alone, without expanding the layers.
    assertHeaderError(
        new int[] {16, 24, Integer.MAX_VALUE, 4, 2, 12, 6},
        "truncated in array rms_att_weight[52] (tensor model.layers.52.input_layernorm.weight)");
  }

  private void assertHeaderError(int[] header, String message) {
    ByteBuffer bytes = ByteBuffer.allocate(28 + 4096).order(ByteOrder.LITTLE_ENDIAN);
    for (int value : header) {
      bytes.putInt(value);
    }
    Path path = Fixtures.write(dir.resolve("bad.bin"), bytes.array());
    var e = assertThrows(WeightLoadException.class, () -> Llama2cFile.open(path), message);
    assertThat(e).hasMessageThat().contains(message);
  }

  @Test
  void missingFileAndUnknownTensor() {
    var e =
        assertThrows(WeightLoadException.class, () -> Llama2cFile.open(dir.resolve("nope.bin")));
    assertThat(e).hasMessageThat().contains("no such file");

    var file =
        Llama2cFile.open(
            Fixtures.writeLlama2c(
                dir.resolve("model.bin"), SHARED, Fixtures.hfTensors(SHARED, 10)));
    var unknown = assertThrows(WeightLoadException.class, () -> file.read("lm_head.weight"));
    assertThat(unknown).hasMessageThat().contains("no tensor named lm_head.weight");
  }

  @Test
  void loadsIntoWeightsForTheStatedSpec() {
    var dims = UNSHARED;
    var file =
        Llama2cFile.open(
            Fixtures.writeLlama2c(dir.resolve("model.bin"), dims, Fixtures.hfTensors(dims, 11)));
    var builder = ResolvedSpec.builder();
    file.statedSpec().forEach(builder::set);

    var weights = Weights.from(builder.build(), file);

    assertThat(weights.tensors().keySet()).containsExactlyElementsIn(file.names());
  }

  static void assertEqualTensors(Checkpoint file, Map<String, Fixtures.Tensor> expected) {
    for (var entry : expected.entrySet()) {
      String name = entry.getKey();
      assertWithMessage("shape of %s", name)
          .that(file.shape(name))
          .isEqualTo(entry.getValue().shape());
      WeightTensor tensor = file.read(name);
      assertWithMessage("shape of read %s", name)
          .that(tensor.shape())
          .isEqualTo(entry.getValue().shape());
      assertWithMessage("values of %s", name)
          .that(tensor.toArray())
          .isEqualTo(entry.getValue().values());
      assertWithMessage("readFloat of %s", name)
          .that(file.readFloat(name).toArray())
          .isEqualTo(entry.getValue().values());
    }
  }
}
