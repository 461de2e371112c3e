package dev.kiln.weights;

import dev.kiln.NormKind;
import dev.kiln.spec.ResolvedSpec;
import java.util.List;
import java.util.function.Predicate;

/** Tensors outside the layers. */
public enum GlobalTensor implements TensorKind {
  EMBED_TOKENS(
      "model.embed_tokens.weight", "embedTokens", List.of(Dim.VOCAB, Dim.HIDDEN), spec -> true),
  NORM("model.norm.weight", "norm", List.of(Dim.HIDDEN), spec -> spec.norm() == NormKind.RMS_NORM),
  LM_HEAD(
      "lm_head.weight",
      "lmHead",
      List.of(Dim.VOCAB, Dim.HIDDEN),
      spec -> !spec.tieWordEmbeddings()),
  LM_HEAD_BIAS("lm_head.bias", "lmHeadBias", List.of(Dim.VOCAB), ResolvedSpec::lmHeadBias);

  private final String hfName;
  private final String fieldName;
  private final List<Dim> dims;
  private final Predicate<ResolvedSpec> present;

  GlobalTensor(String hfName, String fieldName, List<Dim> dims, Predicate<ResolvedSpec> present) {
    this.hfName = hfName;
    this.fieldName = fieldName;
    this.dims = dims;
    this.present = present;
  }

  public String hfName() {
    return hfName;
  }

  @Override
  public String hfName(int layer) {
    return hfName;
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
}
