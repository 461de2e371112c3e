package dev.kiln.processor.pass;

import static dev.kiln.ir.Value.*;

import dev.kiln.Activation;
import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import java.util.Arrays;
import java.util.List;

/**
 * The ops of a Llama/Qwen/Gemma decoder as GraphBuilder makes them, to build the pass tests'
 * kernels from.
 */
final class LayerOps {
  private LayerOps() {}

  static final Op INPUT_NORM = new Op.RmsNorm(X, LayerTensor.INPUT_LAYERNORM, NORMED);
  static final Op Q_PROJ = new Op.Linear(NORMED, LayerTensor.Q_PROJ, null, Q);
  static final Op K_PROJ = new Op.Linear(NORMED, LayerTensor.K_PROJ, null, K);
  static final Op V_PROJ = new Op.Linear(NORMED, LayerTensor.V_PROJ, null, V);
  static final Op Q_NORM = new Op.HeadRmsNorm(Q, LayerTensor.Q_NORM, false, false);
  static final Op K_NORM = new Op.HeadRmsNorm(K, LayerTensor.K_NORM, true, false);
  static final Op ROPE_Q = new Op.Rope(Q, false);
  static final Op ROPE_K = new Op.Rope(K, true);
  static final Op CACHE_WRITE = new Op.CacheWrite(K, V);
  static final Op ATTENTION_SCORES = new Op.AttentionScores(Q, SCORES, true);
  static final Op SOFTMAX = new Op.Softmax(SCORES);
  static final Op WEIGHTED_VALUES = new Op.WeightedValues(SCORES, ATTN);
  static final Op O_PROJ = new Op.Linear(ATTN, LayerTensor.O_PROJ, null, ATTN_OUT);
  static final Op POST_ATTENTION_NORM =
      new Op.RmsNorm(ATTN_OUT, LayerTensor.POST_ATTENTION_LAYERNORM, ATTN_OUT);
  static final Op ADD_ATTENTION = new Op.Add(X, ATTN_OUT, X);
  static final Op MLP_NORM = new Op.RmsNorm(X, LayerTensor.POST_ATTENTION_LAYERNORM, NORMED);
  static final Op GATE_PROJ = new Op.Linear(NORMED, LayerTensor.GATE_PROJ, null, GATE);
  static final Op UP_PROJ = new Op.Linear(NORMED, LayerTensor.UP_PROJ, null, UP);
  static final Op SILU = new Op.Activate(GATE, GATE_ACT, Activation.SILU);
  static final Op MULTIPLY = new Op.Multiply(GATE_ACT, UP, ACT);
  static final Op DOWN_PROJ = new Op.Linear(ACT, LayerTensor.DOWN_PROJ, null, MLP_OUT);
  static final Op POST_FEEDFORWARD_NORM =
      new Op.RmsNorm(MLP_OUT, LayerTensor.POST_FEEDFORWARD_LAYERNORM, MLP_OUT);
  static final Op ADD_MLP = new Op.Add(X, MLP_OUT, X);
  static final Op FINAL_NORM = new Op.RmsNorm(X, GlobalTensor.NORM, NORMED);
  static final Op LM_HEAD = new Op.Linear(NORMED, GlobalTensor.LM_HEAD, null, LOGITS);
  static final Op SOFTCAP = new Op.Softcap(LOGITS);

  /** One kernel per op, as a section starts out. */
  static List<Kernel> singles(Op... ops) {
    return Arrays.stream(ops).map(Kernel::of).toList();
  }

  /** One kernel per group of ops. */
  @SafeVarargs
  static List<Kernel> kernels(List<Op>... groups) {
    return Arrays.stream(groups).map(Kernel::new).toList();
  }

  /** The ops of each kernel. */
  static List<List<Op>> groups(List<Kernel> kernels) {
    return kernels.stream().map(Kernel::ops).toList();
  }
}
