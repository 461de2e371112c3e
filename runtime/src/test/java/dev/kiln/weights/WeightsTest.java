package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.kiln.ProblemList;
import dev.kiln.spec.ResolvedSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Random weights, and loading a checkpoint checked against the spec. */
class WeightsTest {
  @TempDir Path dir;

  private static final ResolvedSpec SPEC = WeightLayoutTest.gqa();

  /**
   * Every tensor of {@code weights} written to a file as F32, in layout order, except the skipped
   * names.
   */
  private Path writeAll(Weights weights, String... skipped) {
    SafetensorsBytes file = new SafetensorsBytes();
    for (var entry : weights.tensors().entrySet()) {
      if (!Arrays.asList(skipped).contains(entry.getKey())) {
        file.addF32(entry.getKey(), entry.getValue().shape(), entry.getValue().toArray());
      }
    }
    return file.write(dir.resolve("model.safetensors"));
  }

  private static String describe(WeightLoadException e) {
    return e.getMessage();
  }

  // --- random ---------------------------------------------------------------------------------

  @Test
  void randomHasTheLayoutsNamesAndShapes() {
    Weights weights = Weights.random(SPEC, 1);
    assertThat(weights.spec()).isEqualTo(SPEC);
    List<TensorInfo> layout = WeightLayout.of(SPEC);
    assertThat(weights.tensors().keySet())
        .containsExactlyElementsIn(layout.stream().map(TensorInfo::name).toList())
        .inOrder();
    for (TensorInfo info : layout) {
      WeightTensor tensor = weights.tensors().get(info.name());
      assertThat(tensor.name()).isEqualTo(info.name());
      assertThat(tensor.shape()).isEqualTo(info.shape());
    }
  }

  @Test
  void randomIsDeterministicPerSeed() {
    Map<String, WeightTensor> a = Weights.random(SPEC, 42).tensors();
    Map<String, WeightTensor> again = Weights.random(SPEC, 42).tensors();
    Map<String, WeightTensor> other = Weights.random(SPEC, 43).tensors();
    for (String name : a.keySet()) {
      assertThat(again.get(name).toArray()).isEqualTo(a.get(name).toArray());
      assertThat(Arrays.equals(other.get(name).toArray(), a.get(name).toArray())).isFalse();
    }
  }

  @Test
  void eachTensorDependsOnlyOnSeedAndName() {
    ResolvedSpec oneLayer = SPEC.toBuilder().numHiddenLayers(1).build();
    Weights two = Weights.random(SPEC, 5);
    Weights one = Weights.random(oneLayer, 5);
    for (var entry : one.tensors().entrySet()) {
      assertThat(entry.getValue().toArray()).isEqualTo(two.tensors().get(entry.getKey()).toArray());
    }
    // Different tensors of the same shape differ.
    assertThat(
            Arrays.equals(
                two.get(LayerTensor.Q_PROJ, 0).toArray(), two.get(LayerTensor.Q_PROJ, 1).toArray()))
        .isFalse();
  }

  @Test
  void randomScalesFollowTheDocumentation() {
    ResolvedSpec spec =
        ResolvedSpec.builder()
            .vocabSize(256)
            .hiddenSize(64)
            .intermediateSize(128)
            .numHiddenLayers(1)
            .numAttentionHeads(4)
            .attentionBias(true)
            .build();
    Weights weights = Weights.random(spec, 9);
    for (float gain : weights.get(GlobalTensor.NORM).toArray()) {
      assertThat(gain).isAtLeast(0.6f);
      assertThat(gain).isLessThan(1.4f);
    }
    assertThat(std(weights.get(GlobalTensor.EMBED_TOKENS))).isWithin(0.05).of(1.0);
    assertThat(std(weights.get(GlobalTensor.LM_HEAD))).isWithin(0.05 * 0.25).of(2.0 / 8);
    assertThat(std(weights.get(LayerTensor.Q_PROJ, 0))).isWithin(0.1 / 8).of(1.0 / 8); // 1/sqrt(64)
    assertThat(std(weights.get(LayerTensor.DOWN_PROJ, 0)))
        .isWithin(0.1 / Math.sqrt(128))
        .of(1.0 / Math.sqrt(128));
    assertThat(std(weights.get(LayerTensor.Q_PROJ_BIAS, 0))).isWithin(0.03).of(0.1);
    ResolvedSpec tied = spec.toBuilder().tieWordEmbeddings(true).build();
    assertThat(std(Weights.random(tied, 9).get(GlobalTensor.EMBED_TOKENS))).isWithin(0.01).of(0.2);
  }

  private static double std(WeightTensor tensor) {
    float[] values = tensor.toArray();
    double sum = 0;
    double squares = 0;
    for (float v : values) {
      sum += v;
      squares += (double) v * v;
    }
    double mean = sum / values.length;
    return Math.sqrt(squares / values.length - mean * mean);
  }

  @Test
  void accessors() {
    Weights weights = Weights.random(SPEC, 3);
    assertThat(weights.get(LayerTensor.K_PROJ, 1).name())
        .isEqualTo("model.layers.1.self_attn.k_proj.weight");
    assertThat(weights.lmHead()).isSameInstanceAs(weights.get(GlobalTensor.LM_HEAD));
    var e =
        assertThrows(IllegalArgumentException.class, () -> weights.get(LayerTensor.Q_PROJ_BIAS, 0));
    assertThat(e).hasMessageThat().contains("model.layers.0.self_attn.q_proj.bias");
    assertThrows(IllegalArgumentException.class, () -> weights.get(LayerTensor.Q_PROJ, 2));
    assertThrows(UnsupportedOperationException.class, () -> weights.tensors().clear());

    Weights tied = Weights.random(SPEC.toBuilder().tieWordEmbeddings(true).build(), 3);
    assertThat(tied.lmHead()).isSameInstanceAs(tied.get(GlobalTensor.EMBED_TOKENS));
    assertThrows(IllegalArgumentException.class, () -> tied.get(GlobalTensor.LM_HEAD));
  }

  // --- loading --------------------------------------------------------------------------------

  @Test
  void loadsAHuggingFaceNamedFile() {
    Weights original = Weights.random(SPEC, 11);
    Weights loaded = Weights.load(SPEC, writeAll(original));
    assertThat(loaded.spec()).isEqualTo(SPEC);
    assertThat(loaded.tensors().keySet())
        .containsExactlyElementsIn(original.tensors().keySet())
        .inOrder();
    for (String name : original.tensors().keySet()) {
      assertThat(loaded.tensors().get(name).toArray())
          .isEqualTo(original.tensors().get(name).toArray());
      assertThat(loaded.tensors().get(name).shape())
          .isEqualTo(original.tensors().get(name).shape());
    }
  }

  @Test
  void loadsHalfPrecisionAndAnyOrderAndIgnoresRotaryBuffers() {
    Weights original = Weights.random(SPEC, 12);
    List<String> names = new ArrayList<>(original.tensors().keySet());
    java.util.Collections.reverse(names);
    SafetensorsBytes file = new SafetensorsBytes();
    int i = 0;
    for (String name : names) {
      WeightTensor tensor = original.tensors().get(name);
      float[] values = tensor.toArray();
      int[] halves = new int[values.length];
      String dtype = i++ % 3 == 0 ? "F32" : i % 3 == 1 ? "F16" : "BF16";
      for (int k = 0; k < values.length; k++) {
        halves[k] =
            dtype.equals("F16")
                ? Float.floatToFloat16(values[k])
                : Float.floatToRawIntBits(values[k]) >>> 16;
      }
      file.add(
          name,
          dtype,
          tensor.shape(),
          dtype.equals("F32") ? SafetensorsBytes.f32(values) : SafetensorsBytes.halves(halves));
      if (name.endsWith("input_layernorm.weight")) {
        file.addF32(
            name.replace("input_layernorm.weight", "self_attn.rotary_emb.inv_freq"),
            new long[] {2},
            1f,
            0.01f);
      }
    }
    Weights loaded = Weights.load(SPEC, file.write(dir.resolve("mixed.safetensors")));
    i = 0;
    for (String name : names) {
      String dtype = i++ % 3 == 0 ? "F32" : i % 3 == 1 ? "F16" : "BF16";
      float[] values = original.tensors().get(name).toArray();
      float[] got = loaded.tensors().get(name).toArray();
      for (int k = 0; k < values.length; k++) {
        float expected =
            switch (dtype) {
              case "F32" -> values[k];
              case "F16" -> Float.float16ToFloat(Float.floatToFloat16(values[k]));
              default -> Float.intBitsToFloat(Float.floatToRawIntBits(values[k]) & 0xffff0000);
            };
        assertThat(got[k]).isEqualTo(expected);
      }
    }
    assertThat(loaded.tensors().keySet().stream().filter(n -> n.contains("inv_freq"))).isEmpty();
    // Layout order, not file order.
    assertThat(loaded.tensors().keySet())
        .containsExactlyElementsIn(original.tensors().keySet())
        .inOrder();
  }

  @Test
  void tiedEmbeddingsLoadWithoutLmHead() {
    ResolvedSpec tied = SPEC.toBuilder().tieWordEmbeddings(true).build();
    Weights original = Weights.random(tied, 13);
    Weights loaded = Weights.load(tied, writeAll(original));
    assertThat(loaded.lmHead().toArray())
        .isEqualTo(original.get(GlobalTensor.EMBED_TOKENS).toArray());
  }

  @Test
  void missingTensor() {
    Path file = writeAll(Weights.random(SPEC, 1), "model.layers.1.mlp.up_proj.weight");
    var e = assertThrows(WeightLoadException.class, () -> Weights.load(SPEC, file));
    assertThat(describe(e))
        .isEqualTo(
            file
                + " does not fit the spec:\n"
                + "  missing tensor model.layers.1.mlp.up_proj.weight (spec needs shape [24, 16])");
  }

  @Test
  void wrongShapeNamesBothShapes() {
    Weights other =
        Weights.random(SPEC.toBuilder().numKeyValueHeads(4).build(), 1); // k/v are [16, 16]
    Path file = writeAll(other);
    var e = assertThrows(WeightLoadException.class, () -> Weights.load(SPEC, file));
    for (int layer = 0; layer < 2; layer++) {
      for (String kv : List.of("k_proj", "v_proj")) {
        assertThat(describe(e))
            .contains(
                "tensor model.layers."
                    + layer
                    + ".self_attn."
                    + kv
                    + ".weight has shape [16, 16] in the file but the spec needs [8, 16]");
      }
    }
    assertThat(describe(e).split("\n")).hasLength(1 + 4);
  }

  @Test
  void transposedMatrixIsAShapeMismatch() {
    Weights weights = Weights.random(SPEC, 1);
    SafetensorsBytes file = new SafetensorsBytes();
    for (var entry : weights.tensors().entrySet()) {
      long[] shape = entry.getValue().shape();
      if (entry.getKey().equals("model.layers.0.mlp.down_proj.weight")) {
        shape = new long[] {shape[1], shape[0]};
      }
      file.addF32(entry.getKey(), shape, entry.getValue().toArray());
    }
    Path path = file.write(dir.resolve("t.safetensors"));
    var e = assertThrows(WeightLoadException.class, () -> Weights.load(SPEC, path));
    assertThat(describe(e))
        .contains(
            "tensor model.layers.0.mlp.down_proj.weight has shape [24, 16] in the file but the spec needs [16, 24]");
  }

  @Test
  void unexpectedTensor() {
    // A checkpoint with attention biases for a spec without them.
    Weights biased = Weights.random(SPEC.toBuilder().attentionBias(true).build(), 1);
    Path file = writeAll(biased);
    var e = assertThrows(WeightLoadException.class, () -> Weights.load(SPEC, file));
    assertThat(describe(e))
        .contains(
            "unexpected tensor model.layers.0.self_attn.q_proj.bias [16] (the spec has no such"
                + " weight: check attentionBias, mlpBias, lmHeadBias, tieWordEmbeddings, norm, mlp)");
    assertThat(describe(e)).contains("unexpected tensor model.layers.1.self_attn.o_proj.bias [16]");
    assertThat(describe(e).split("\n")).hasLength(1 + 2 * 4);
  }

  @Test
  void lmHeadPresentForATiedSpecIsUnexpected() {
    Path file = writeAll(Weights.random(SPEC, 1));
    ResolvedSpec tied = SPEC.toBuilder().tieWordEmbeddings(true).build();
    var e = assertThrows(WeightLoadException.class, () -> Weights.load(tied, file));
    assertThat(describe(e))
        .endsWith(
            "  unexpected tensor lm_head.weight [12, 16] (the spec has no such weight: check"
                + " attentionBias, mlpBias, lmHeadBias, tieWordEmbeddings, norm, mlp)");
  }

  @Test
  void everyProblemIsListedTogether() {
    Weights weights = Weights.random(SPEC, 1);
    SafetensorsBytes file = new SafetensorsBytes();
    for (var entry : weights.tensors().entrySet()) {
      String name = entry.getKey();
      if (name.equals("model.norm.weight")) {
        continue; // missing
      }
      long[] shape = entry.getValue().shape();
      float[] values = entry.getValue().toArray();
      if (name.equals("model.layers.0.self_attn.q_proj.weight")) {
        shape = new long[] {16, 8};
        values = Arrays.copyOf(values, 128);
      }
      file.addF32(name, shape, values);
    }
    file.addF32("model.layers.0.extra.weight", new long[] {2}, 1f, 2f);
    Path path = file.write(dir.resolve("bad.safetensors"));
    var e = assertThrows(WeightLoadException.class, () -> Weights.load(SPEC, path));
    assertThat(describe(e))
        .isEqualTo(
            path
                + " does not fit the spec:\n"
                + "  tensor model.layers.0.self_attn.q_proj.weight has shape [16, 8] in the file but the spec needs [16, 16]\n"
                + "  missing tensor model.norm.weight (spec needs shape [16])\n"
                + "  unexpected tensor model.layers.0.extra.weight [2] (the spec has no such weight: check attentionBias,"
                + " mlpBias, lmHeadBias, tieWordEmbeddings, norm, mlp)");
  }

  @Test
  void dtypesKilnCannotReadAreListedWithTheOtherProblems() {
    Weights weights = Weights.random(SPEC, 1);
    SafetensorsBytes file = new SafetensorsBytes();
    for (var entry : weights.tensors().entrySet()) {
      String name = entry.getKey();
      if (name.equals("model.layers.1.input_layernorm.weight")) {
        file.add(name, "I32", entry.getValue().shape(), new byte[16 * 4]);
      } else if (name.equals("model.norm.weight")) {
        file.add(name, "F8_E4M3", entry.getValue().shape(), new byte[16]);
      } else if (!name.equals("lm_head.weight")) {
        file.addF32(name, entry.getValue().shape(), entry.getValue().toArray());
      }
    }
    Path path = file.write(dir.resolve("ints.safetensors"));
    var e = assertThrows(WeightLoadException.class, () -> Weights.load(SPEC, path));
    assertThat(describe(e))
        .isEqualTo(
            path
                + " does not fit the spec:\n"
                + "  tensor model.layers.1.input_layernorm.weight has dtype I32; Kiln reads [F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K]\n"
                + "  tensor model.norm.weight has dtype F8_E4M3; Kiln reads [F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K]\n"
                + "  missing tensor lm_head.weight (spec needs shape [12, 16])");
  }

  @Test
  void fromAnyTensorSource() {
    ResolvedSpec tiny =
        ResolvedSpec.builder()
            .vocabSize(2)
            .hiddenSize(2)
            .numHiddenLayers(1)
            .numAttentionHeads(1)
            .mlp(dev.kiln.MlpKind.NONE)
            .norm(dev.kiln.NormKind.NONE)
            .tieWordEmbeddings(true)
            .build();
    InMemorySource source =
        new InMemorySource()
            .put("model.embed_tokens.weight", new long[] {2, 2}, 1, 2, 3, 4)
            .put("model.layers.0.self_attn.q_proj.weight", new long[] {2, 2}, 1, 0, 0, 1)
            .put("model.layers.0.self_attn.k_proj.weight", new long[] {2, 2}, 1, 0, 0, 1)
            .put("model.layers.0.self_attn.v_proj.weight", new long[] {2, 2}, 1, 0, 0, 1)
            .put("model.layers.0.self_attn.o_proj.weight", new long[] {2, 2}, 5, 6, 7, 8);
    Weights weights = Weights.from(tiny, source);
    assertThat(weights.get(LayerTensor.O_PROJ, 0).toArray()).isEqualTo(new float[] {5, 6, 7, 8});
    source.dtype("model.layers.0.self_attn.o_proj.weight", "I8");
    var e = assertThrows(WeightLoadException.class, () -> Weights.from(tiny, source));
    assertThat(describe(e))
        .isEqualTo(
            "in-memory tensors does not fit the spec:\n"
                + "  tensor model.layers.0.self_attn.o_proj.weight has dtype I8; Kiln reads [F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K]");
  }

  // --- claims bounded by what the file holds -------------------------------------------------

  /** Every tensor of {@code weights} in an in-memory source. */
  private static InMemorySource sourceOf(Weights weights) {
    InMemorySource source = new InMemorySource();
    weights.tensors().forEach((name, tensor) -> source.put(name, tensor.shape(), tensor.toArray()));
    return source;
  }

  @Test
  void aClaimedLayerCountBeyondTheFileIsOneErrorAtOnce() {
    InMemorySource source = sourceOf(Weights.random(SPEC, 1));
    ResolvedSpec claimed =
        SPEC.toBuilder().numHiddenLayers(1_000_000).maxPositionEmbeddings(1).build();
    var e =
        assertTimeoutPreemptively(
            Duration.ofSeconds(2),
            () -> assertThrows(WeightLoadException.class, () -> Weights.from(claimed, source)));
    assertThat(describe(e))
        .isEqualTo(
            "in-memory tensors: numHiddenLayers is 1000000 (as the file states it or the"
                + " decoder was built for) but the file holds tensors of only 2 layers (model.layers.N.*)");
  }

  @Test
  void problemListsAreCapped() {
    InMemorySource source = sourceOf(Weights.random(SPEC, 1));
    for (int i = 0; i < 50_000; i++) {
      source.put("extra." + i + ".weight", new long[] {1}, 0f);
    }
    source.put("x".repeat(100_000), new long[] {1}, 0f);
    var e = assertThrows(WeightLoadException.class, () -> Weights.from(SPEC, source));
    String[] lines = describe(e).split("\n");
    assertThat(lines).hasLength(1 + ProblemList.MAX_LISTED + 1);
    assertThat(lines[lines.length - 1]).isEqualTo("  ... and 49981 more");
    assertThat(describe(e).length()).isLessThan(10_000);
  }

  @Test
  void loadingAMissingFile() {
    Path absent = dir.resolve("absent.safetensors");
    var e = assertThrows(WeightLoadException.class, () -> Weights.load(SPEC, absent));
    assertThat(describe(e)).isEqualTo(absent + ": no such file or folder");
  }

  @Test
  void nonFiniteNormGainsAreWarnedAbout() {
    ResolvedSpec tiny =
        ResolvedSpec.builder()
            .vocabSize(2)
            .hiddenSize(2)
            .numHiddenLayers(1)
            .numAttentionHeads(1)
            .mlp(dev.kiln.MlpKind.NONE)
            .tieWordEmbeddings(true)
            .build();
    InMemorySource source =
        new InMemorySource()
            .put("model.embed_tokens.weight", new long[] {2, 2}, 1, 2, 3, 4)
            .put("model.layers.0.input_layernorm.weight", new long[] {2}, 1, Float.NaN)
            .put("model.layers.0.self_attn.q_proj.weight", new long[] {2, 2}, 1, 0, 0, 1)
            .put("model.layers.0.self_attn.k_proj.weight", new long[] {2, 2}, 1, 0, 0, 1)
            .put("model.layers.0.self_attn.v_proj.weight", new long[] {2, 2}, 1, 0, 0, 1)
            .put("model.layers.0.self_attn.o_proj.weight", new long[] {2, 2}, 5, 6, 7, 8)
            .put(
                "model.norm.weight",
                new long[] {2},
                Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY);
    var captured = new java.io.ByteArrayOutputStream();
    var original = System.err;
    System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      Weights.from(tiny, source);
    } finally {
      System.setErr(original);
    }
    String warnings = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertThat(warnings)
        .contains(
            "tensor model.layers.0.input_layernorm.weight has 1 NaN or infinite values (first at index 1)");
    assertThat(warnings)
        .contains("tensor model.norm.weight has 2 NaN or infinite values (first at index 0)");
  }
}
