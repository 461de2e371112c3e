package dev.kiln.weights;

import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.spec.ResolvedSpec;
import java.util.List;
import java.util.function.Predicate;

/** Tensors of one decoder layer, named {@code model.layers.{i}.<suffix>}. */
public enum LayerTensor implements TensorKind {
  INPUT_LAYERNORM(
      "input_layernorm.weight", "inputLayernorm", List.of(Dim.HIDDEN), LayerTensor::hasNorm),
  Q_PROJ("self_attn.q_proj.weight", "qProj", List.of(Dim.Q_DIM, Dim.HIDDEN), spec -> true),
  Q_PROJ_BIAS("self_attn.q_proj.bias", "qProjBias", List.of(Dim.Q_DIM), ResolvedSpec::hasQkvBias),
  K_PROJ("self_attn.k_proj.weight", "kProj", List.of(Dim.KV_DIM, Dim.HIDDEN), spec -> true),
  K_PROJ_BIAS("self_attn.k_proj.bias", "kProjBias", List.of(Dim.KV_DIM), ResolvedSpec::hasQkvBias),
  V_PROJ("self_attn.v_proj.weight", "vProj", List.of(Dim.KV_DIM, Dim.HIDDEN), spec -> true),
  V_PROJ_BIAS("self_attn.v_proj.bias", "vProjBias", List.of(Dim.KV_DIM), ResolvedSpec::hasQkvBias),
  Q_NORM("self_attn.q_norm.weight", "qNorm", List.of(Dim.HEAD_DIM), ResolvedSpec::qkNorm),
  K_NORM("self_attn.k_norm.weight", "kNorm", List.of(Dim.HEAD_DIM), ResolvedSpec::qkNorm),
  O_PROJ(
      "self_attn.o_proj.weight",
      "oProj",
      List.of(Dim.HIDDEN, Dim.Q_DIM),
      ResolvedSpec::attentionOutputProjection),
  O_PROJ_BIAS(
      "self_attn.o_proj.bias",
      "oProjBias",
      List.of(Dim.HIDDEN),
      spec -> spec.attentionOutputProjection() && spec.attentionBias()),
  /**
   * Before the MLP in Llama; after attention (on its output) with sandwich norms, as Gemma 2 names
   * it.
   */
  POST_ATTENTION_LAYERNORM(
      "post_attention_layernorm.weight",
      "postAttentionLayernorm",
      List.of(Dim.HIDDEN),
      spec -> hasNorm(spec) && (hasMlp(spec) || spec.sandwichNorms())),
  /** Before the MLP with sandwich norms (Gemma 2). */
  PRE_FEEDFORWARD_LAYERNORM(
      "pre_feedforward_layernorm.weight",
      "preFeedforwardLayernorm",
      List.of(Dim.HIDDEN),
      spec -> spec.sandwichNorms() && hasMlp(spec)),
  GATE_PROJ(
      "mlp.gate_proj.weight",
      "gateProj",
      List.of(Dim.INTERMEDIATE, Dim.HIDDEN),
      LayerTensor::hasMlp),
  GATE_PROJ_BIAS(
      "mlp.gate_proj.bias", "gateProjBias", List.of(Dim.INTERMEDIATE), LayerTensor::hasMlpBias),
  UP_PROJ(
      "mlp.up_proj.weight", "upProj", List.of(Dim.INTERMEDIATE, Dim.HIDDEN), LayerTensor::hasMlp),
  UP_PROJ_BIAS(
      "mlp.up_proj.bias", "upProjBias", List.of(Dim.INTERMEDIATE), LayerTensor::hasMlpBias),
  DOWN_PROJ(
      "mlp.down_proj.weight",
      "downProj",
      List.of(Dim.HIDDEN, Dim.INTERMEDIATE),
      LayerTensor::hasMlp),
  DOWN_PROJ_BIAS(
      "mlp.down_proj.bias", "downProjBias", List.of(Dim.HIDDEN), LayerTensor::hasMlpBias),
  /** After the MLP (on its output) with sandwich norms (Gemma 2). */
  POST_FEEDFORWARD_LAYERNORM(
      "post_feedforward_layernorm.weight",
      "postFeedforwardLayernorm",
      List.of(Dim.HIDDEN),
      spec -> spec.sandwichNorms() && hasMlp(spec));

  private final String suffix;
  private final String fieldName;
  private final List<Dim> dims;
  private final Predicate<ResolvedSpec> present;

  LayerTensor(String suffix, String fieldName, List<Dim> dims, Predicate<ResolvedSpec> present) {
    this.suffix = suffix;
    this.fieldName = fieldName;
    this.dims = dims;
    this.present = present;
  }

  /** The part of the name after {@code model.layers.{i}.}, e.g. {@code self_attn.q_proj.weight}. */
  public String suffix() {
    return suffix;
  }

  @Override
  public String hfName(int layer) {
    return "model.layers." + layer + "." + suffix;
  }

  @Override
  public String fieldName() {
    return fieldName;
  }

  @Override
  public List<Dim> dims() {
    return dims;
  }

  @Override
  public boolean presentIn(ResolvedSpec spec) {
    return present.test(spec);
  }

  private static boolean hasNorm(ResolvedSpec spec) {
    return spec.norm() == NormKind.RMS_NORM;
  }

  private static boolean hasMlp(ResolvedSpec spec) {
    return spec.mlp() == MlpKind.SWIGLU;
  }

  private static boolean hasMlpBias(ResolvedSpec spec) {
    return hasMlp(spec) && spec.mlpBias();
  }
}
