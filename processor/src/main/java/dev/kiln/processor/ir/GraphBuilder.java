package dev.kiln.processor.ir;

import static dev.kiln.processor.ir.Value.*;

import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.ScoreNormalization;
import dev.kiln.spec.ModelSpec;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.TensorKind;
import java.util.ArrayList;
import java.util.List;

/** Builds the unfused op graph of a spec: the same sequence of ops the interpreter evaluates. */
public final class GraphBuilder {
  private GraphBuilder() {}

  public static Graph build(ModelSpec spec) {
    boolean norm = spec.norm() == NormKind.RMS_NORM;
    boolean residual = spec.residualConnections();

    List<Op> prologue = List.of(new Op.Embed(X));

    List<Op> layer = new ArrayList<>();
    Value attentionInput = X;
    if (norm) {
      layer.add(new Op.RmsNorm(X, LayerTensor.INPUT_LAYERNORM, NORMED));
      attentionInput = NORMED;
    }
    layer.add(linear(spec, attentionInput, LayerTensor.Q_PROJ, LayerTensor.Q_PROJ_BIAS, Q));
    layer.add(linear(spec, attentionInput, LayerTensor.K_PROJ, LayerTensor.K_PROJ_BIAS, K));
    layer.add(linear(spec, attentionInput, LayerTensor.V_PROJ, LayerTensor.V_PROJ_BIAS, V));
    if (spec.positionEncoding() == PositionEncoding.ROPE) {
      layer.add(new Op.Rope(Q, false));
      layer.add(new Op.Rope(K, true));
    }
    layer.add(new Op.CacheWrite(K, V));
    layer.add(new Op.AttentionScores(Q, SCORES, spec.causalMask()));
    if (spec.scoreNormalization() == ScoreNormalization.SOFTMAX) {
      layer.add(new Op.Softmax(SCORES));
    }
    if (spec.attentionOutputProjection()) {
      layer.add(new Op.WeightedValues(SCORES, ATTN));
      layer.add(linear(spec, ATTN, LayerTensor.O_PROJ, LayerTensor.O_PROJ_BIAS, residual ? ATTN_OUT : X));
      if (residual) {
        layer.add(new Op.Add(X, ATTN_OUT, X));
      }
    } else if (residual) {
      layer.add(new Op.WeightedValues(SCORES, ATTN));
      layer.add(new Op.Add(X, ATTN, X));
    } else {
      // Without projection or residual the heads' output is the new stream.
      layer.add(new Op.WeightedValues(SCORES, X));
    }

    if (spec.mlp() == MlpKind.SWIGLU) {
      Value mlpInput = X;
      if (norm) {
        layer.add(new Op.RmsNorm(X, LayerTensor.POST_ATTENTION_LAYERNORM, NORMED));
        mlpInput = NORMED;
      }
      layer.add(linear(spec, mlpInput, LayerTensor.GATE_PROJ, LayerTensor.GATE_PROJ_BIAS, GATE));
      layer.add(linear(spec, mlpInput, LayerTensor.UP_PROJ, LayerTensor.UP_PROJ_BIAS, UP));
      layer.add(new Op.Silu(GATE, GATE_ACT));
      layer.add(new Op.Multiply(GATE_ACT, UP, ACT));
      layer.add(linear(spec, ACT, LayerTensor.DOWN_PROJ, LayerTensor.DOWN_PROJ_BIAS, residual ? MLP_OUT : X));
      if (residual) {
        layer.add(new Op.Add(X, MLP_OUT, X));
      }
    }

    List<Op> epilogue = new ArrayList<>();
    Value headInput = X;
    if (norm) {
      epilogue.add(new Op.RmsNorm(X, GlobalTensor.NORM, NORMED));
      headInput = NORMED;
    }
    TensorKind head = spec.tieWordEmbeddings() ? GlobalTensor.EMBED_TOKENS : GlobalTensor.LM_HEAD;
    epilogue.add(new Op.Linear(headInput, head, spec.lmHeadBias() ? GlobalTensor.LM_HEAD_BIAS : null, LOGITS));
    return new Graph(spec, prologue, layer, epilogue);
  }

  private static Op linear(ModelSpec spec, Value in, LayerTensor weight, LayerTensor bias, Value out) {
    return new Op.Linear(in, weight, bias.presentIn(spec) ? bias : null, out);
  }
}
