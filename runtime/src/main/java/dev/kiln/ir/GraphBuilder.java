package dev.kiln.ir;

import static dev.kiln.ir.Value.*;

import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.ScoreNormalization;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.TensorKind;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the unfused op graph of a spec: the sequence of ops the interpreter evaluates one at a
 * time and the fusion passes group into kernels, so the one definition of every architecture Kiln
 * runs.
 *
 * <p>The embedding is {@code x = embed_tokens[token]} (times {@code (float) sqrt(hiddenSize)} with
 * scaleEmbeddings). A layer is, in Hugging Face Llama's terms:
 *
 * <pre>
 *   h = norm(x, input_layernorm)                  (or x when norm = NONE)
 *   q, k, v = h q_proj^T (+ b), h k_proj^T (+ b), h v_proj^T (+ b)
 *   q, k = headNorm(q, q_norm), headNorm(k, k_norm) (each head RMS-normalized; with qkNorm only)
 *   q, k = rope(q, position), rope(k, position)   (rotate-half RoPE with the scaled frequencies; skipped when NONE)
 *   cache.append(k, v)
 *   a = for each head: sum_t w_t v_t over attended positions t, where
 *       s_t = cap(q . k_t x scale), scale = queryPreAttnScalar^-0.5 (default headDim^-0.5),
 *       cap(s) = c tanh(s / c) with attnLogitSoftcapping c (identity when 0),
 *       w = softmax(s) (or s when NONE),
 *       attended = positions up to this one (causal) or all cached positions, and on a sliding
 *       layer only the last slidingWindow of them
 *   o = a o_proj^T (+ b)                          (or a without an output projection)
 *   x = x + o                                     (or o without residual connections;
 *                                                  x + norm(o, post_attention_layernorm) with sandwich norms)
 *   m = down_proj(act(gate_proj(h2)) * up_proj(h2)), h2 = norm(x, post_attention_layernorm)
 *                                                 (pre_feedforward_layernorm with sandwich norms; act = SiLU or GELU-tanh)
 *   x = x + m                                     (or m; x + norm(m, post_feedforward_layernorm) with sandwich norms;
 *                                                  no MLP when mlp = NONE)
 * </pre>
 *
 * then {@code logits = cap(norm(x, model.norm) lm_head^T (+ b))} with finalLogitSoftcapping. Every
 * norm's gain is {@code w}, or {@code 1 + w} with rmsNormUnitOffset. Each op's exact arithmetic is
 * on its {@link Op} record.
 */
public final class GraphBuilder {
  private GraphBuilder() {}

  public static Graph build(ResolvedSpec spec) {
    boolean norm = spec.norm() == NormKind.RMS_NORM;
    boolean residual = spec.residualConnections();
    boolean sandwich = spec.sandwichNorms();
    boolean offset = spec.rmsNormUnitOffset();

    List<Op> prologue = List.of(new Op.Embed(X, spec.scaleEmbeddings()));

    List<Op> layer = new ArrayList<>();
    Value attentionInput = X;
    if (norm) {
      layer.add(new Op.RmsNorm(X, LayerTensor.INPUT_LAYERNORM, NORMED, offset));
      attentionInput = NORMED;
    }
    layer.add(linear(spec, attentionInput, LayerTensor.Q_PROJ, LayerTensor.Q_PROJ_BIAS, Q));
    layer.add(linear(spec, attentionInput, LayerTensor.K_PROJ, LayerTensor.K_PROJ_BIAS, K));
    layer.add(linear(spec, attentionInput, LayerTensor.V_PROJ, LayerTensor.V_PROJ_BIAS, V));
    if (spec.qkNorm()) {
      layer.add(new Op.HeadRmsNorm(Q, LayerTensor.Q_NORM, false, offset));
      layer.add(new Op.HeadRmsNorm(K, LayerTensor.K_NORM, true, offset));
    }
    if (spec.positionEncoding() == PositionEncoding.ROPE) {
      layer.add(new Op.Rope(Q, false));
      layer.add(new Op.Rope(K, true));
    }
    layer.add(new Op.CacheWrite(K, V));
    layer.add(
        new Op.AttentionScores(
            Q,
            SCORES,
            spec.causalMask(),
            spec.queryPreAttnScalar() != spec.headDim(),
            spec.attnLogitSoftcapping() > 0,
            spec.slidingWindow() > 0));
    if (spec.scoreNormalization() == ScoreNormalization.SOFTMAX) {
      layer.add(new Op.Softmax(SCORES));
    }
    if (spec.attentionOutputProjection()) {
      layer.add(new Op.WeightedValues(SCORES, ATTN));
      layer.add(
          linear(spec, ATTN, LayerTensor.O_PROJ, LayerTensor.O_PROJ_BIAS, residual ? ATTN_OUT : X));
      if (sandwich) {
        layer.add(new Op.RmsNorm(ATTN_OUT, LayerTensor.POST_ATTENTION_LAYERNORM, ATTN_OUT, offset));
      }
      if (residual) {
        layer.add(new Op.Add(X, ATTN_OUT, X));
      }
    } else if (residual) {
      layer.add(new Op.WeightedValues(SCORES, ATTN));
      if (sandwich) {
        layer.add(new Op.RmsNorm(ATTN, LayerTensor.POST_ATTENTION_LAYERNORM, ATTN, offset));
      }
      layer.add(new Op.Add(X, ATTN, X));
    } else {
      // Without projection or residual the heads' output is the new stream.
      layer.add(new Op.WeightedValues(SCORES, X));
    }

    if (spec.mlp() == MlpKind.SWIGLU) {
      Value mlpInput = X;
      if (norm) {
        LayerTensor preNorm =
            sandwich ? LayerTensor.PRE_FEEDFORWARD_LAYERNORM : LayerTensor.POST_ATTENTION_LAYERNORM;
        layer.add(new Op.RmsNorm(X, preNorm, NORMED, offset));
        mlpInput = NORMED;
      }
      layer.add(linear(spec, mlpInput, LayerTensor.GATE_PROJ, LayerTensor.GATE_PROJ_BIAS, GATE));
      layer.add(linear(spec, mlpInput, LayerTensor.UP_PROJ, LayerTensor.UP_PROJ_BIAS, UP));
      layer.add(new Op.Activate(GATE, GATE_ACT, spec.hiddenAct()));
      layer.add(new Op.Multiply(GATE_ACT, UP, ACT));
      layer.add(
          linear(
              spec,
              ACT,
              LayerTensor.DOWN_PROJ,
              LayerTensor.DOWN_PROJ_BIAS,
              residual ? MLP_OUT : X));
      if (sandwich) {
        layer.add(new Op.RmsNorm(MLP_OUT, LayerTensor.POST_FEEDFORWARD_LAYERNORM, MLP_OUT, offset));
      }
      if (residual) {
        layer.add(new Op.Add(X, MLP_OUT, X));
      }
    }

    List<Op> epilogue = new ArrayList<>();
    Value headInput = X;
    if (norm) {
      epilogue.add(new Op.RmsNorm(X, GlobalTensor.NORM, NORMED, offset));
      headInput = NORMED;
    }
    TensorKind head = spec.tieWordEmbeddings() ? GlobalTensor.EMBED_TOKENS : GlobalTensor.LM_HEAD;
    epilogue.add(
        new Op.Linear(
            headInput, head, spec.lmHeadBias() ? GlobalTensor.LM_HEAD_BIAS : null, LOGITS));
    if (spec.finalLogitSoftcapping() > 0) {
      epilogue.add(new Op.Softcap(LOGITS));
    }
    return new Graph(spec, prologue, layer, epilogue);
  }

  private static Op linear(
      ResolvedSpec spec, Value in, LayerTensor weight, LayerTensor bias, Value out) {
    return new Op.Linear(in, weight, bias.presentIn(spec) ? bias : null, out);
  }
}
