package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import java.util.ArrayList;
import java.util.List;

/**
 * Scores, softmax and the weighted sum of V become one pass over the KV cache per query row and
 * head (an online softmax), so the scores are never stored.
 */
final class FuseAttention implements Pass {
  @Override
  public String name() {
    return "fuse-attention";
  }

  @Override
  public List<Kernel> apply(List<Kernel> kernels) {
    List<Kernel> out = new ArrayList<>();
    for (Kernel kernel : kernels) {
      if (!out.isEmpty()
          && (kernel.isSingle(Op.Softmax.class) || kernel.isSingle(Op.WeightedValues.class))
          && out.getLast().ops().getFirst() instanceof Op.AttentionScores
          && !(out.getLast().ops().getLast() instanceof Op.WeightedValues)) {
        out.set(out.size() - 1, out.getLast().then(kernel));
      } else {
        out.add(kernel);
      }
    }
    return out;
  }
}
