package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;

import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.spec.ResolvedSpec;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The tensors a spec needs, with Hugging Face names and PyTorch (out, in) shapes. */
class WeightLayoutTest {
  /** vocab 12, hidden 16, intermediate 24, 2 layers, 4 heads of 4, 2 KV heads (kv_dim 8). */
  static ResolvedSpec gqa() {
    return ResolvedSpec.builder()
        .vocabSize(12)
        .hiddenSize(16)
        .intermediateSize(24)
        .numHiddenLayers(2)
        .numAttentionHeads(4)
        .numKeyValueHeads(2)
        .maxPositionEmbeddings(32)
        .build();
  }

  private static List<String> described(ResolvedSpec spec) {
    return WeightLayout.of(spec).stream()
        .map(t -> t.name() + " " + Arrays.toString(t.shape()))
        .toList();
  }

  @Test
  void llamaLayoutInFileOrder() {
    String[] layer = {
      "input_layernorm.weight [16]",
      "self_attn.q_proj.weight [16, 16]",
      "self_attn.k_proj.weight [8, 16]",
      "self_attn.v_proj.weight [8, 16]",
      "self_attn.o_proj.weight [16, 16]",
      "post_attention_layernorm.weight [16]",
      "mlp.gate_proj.weight [24, 16]",
      "mlp.up_proj.weight [24, 16]",
      "mlp.down_proj.weight [16, 24]"
    };
    var expected = new java.util.ArrayList<String>();
    expected.add("model.embed_tokens.weight [12, 16]");
    for (int l = 0; l < 2; l++) {
      for (String t : layer) {
        expected.add("model.layers." + l + "." + t);
      }
    }
    expected.add("model.norm.weight [16]");
    expected.add("lm_head.weight [12, 16]");
    assertThat(described(gqa())).containsExactlyElementsIn(expected).inOrder();
  }

  @Test
  void layerAndKindAreRecorded() {
    List<TensorInfo> layout = WeightLayout.of(gqa());
    assertThat(layout.getFirst().kind()).isEqualTo(GlobalTensor.EMBED_TOKENS);
    assertThat(layout.getFirst().layer()).isEqualTo(-1);
    TensorInfo k1 =
        layout.stream()
            .filter(t -> t.name().equals("model.layers.1.self_attn.k_proj.weight"))
            .findFirst()
            .orElseThrow();
    assertThat(k1.kind()).isEqualTo(LayerTensor.K_PROJ);
    assertThat(k1.layer()).isEqualTo(1);
    assertThat(k1.elementCount()).isEqualTo(8 * 16);
  }

  @Test
  void biasesWhenAsked() {
    List<String> names =
        described(gqa().toBuilder().attentionBias(true).mlpBias(true).lmHeadBias(true).build());
    assertThat(names)
        .containsAtLeast(
            "model.layers.0.self_attn.q_proj.bias [16]",
            "model.layers.0.self_attn.k_proj.bias [8]",
            "model.layers.0.self_attn.v_proj.bias [8]",
            "model.layers.0.self_attn.o_proj.bias [16]",
            "model.layers.1.mlp.gate_proj.bias [24]",
            "model.layers.1.mlp.up_proj.bias [24]",
            "model.layers.1.mlp.down_proj.bias [16]",
            "lm_head.bias [12]")
        .inOrder();
    assertThat(names).hasSize(21 + 2 * 7 + 1);
    assertThat(names.getLast()).isEqualTo("lm_head.bias [12]");
    assertThat(names.stream().filter(n -> n.contains("bias"))).hasSize(2 * 7 + 1);
  }

  @Test
  void switchedOffPartsHaveNoWeights() {
    ResolvedSpec tied = gqa().toBuilder().tieWordEmbeddings(true).build();
    assertThat(described(tied)).doesNotContain("lm_head.weight [12, 16]");
    assertThat(described(tied)).hasSize(20);

    ResolvedSpec noNorm = gqa().toBuilder().norm(NormKind.NONE).build();
    assertThat(described(noNorm).stream().filter(n -> n.contains("norm"))).isEmpty();

    ResolvedSpec noMlp =
        gqa().toBuilder().mlp(MlpKind.NONE).intermediateSize(0).mlpBias(true).build();
    assertThat(
            described(noMlp).stream()
                .filter(n -> n.contains("mlp") || n.contains("post_attention")))
        .isEmpty();

    ResolvedSpec noOutput =
        gqa().toBuilder().attentionOutputProjection(false).attentionBias(true).build();
    assertThat(described(noOutput).stream().filter(n -> n.contains("o_proj"))).isEmpty();
    assertThat(described(noOutput)).contains("model.layers.0.self_attn.q_proj.bias [16]");
  }

  @Test
  void explicitHeadDimShapesTheProjections() {
    ResolvedSpec spec = gqa().toBuilder().headDim(6).build(); // q_dim 24, kv_dim 12
    assertThat(described(spec))
        .containsAtLeast(
            "model.layers.0.self_attn.q_proj.weight [24, 16]",
            "model.layers.0.self_attn.k_proj.weight [12, 16]",
            "model.layers.0.self_attn.o_proj.weight [16, 24]")
        .inOrder();
  }
}
