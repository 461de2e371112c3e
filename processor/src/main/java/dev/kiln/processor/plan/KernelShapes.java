package dev.kiln.processor.plan;

import dev.kiln.ir.Op;
import java.util.List;

/** Matches kernels against the {@link KernelShape} templates. */
final class KernelShapes {
  private KernelShapes() {}

  static KernelShape classify(Kernel kernel) {
    List<Op> ops = kernel.ops();
    if (kernel.isSingle(Op.Embed.class)) {
      return KernelShape.EMBEDDING;
    }
    if (kernel.isSingle(Op.Add.class)) {
      return KernelShape.RESIDUAL_ADD;
    }
    if (ops.size() == 2
        && ops.get(0) instanceof Op.RmsNorm norm
        && ops.get(1) instanceof Op.Add add
        && add.b().equals(norm.out())) {
      return KernelShape.NORM_RESIDUAL_ADD;
    }
    if (isAttention(ops)) {
      return KernelShape.ATTENTION;
    }
    return isProjection(ops) ? KernelShape.PROJECTION : null;
  }

  private static boolean isAttention(List<Op> ops) {
    if (ops.size() == 2) {
      return ops.get(0) instanceof Op.AttentionScores && ops.get(1) instanceof Op.WeightedValues;
    }
    return ops.size() == 3
        && ops.get(0) instanceof Op.AttentionScores
        && ops.get(1) instanceof Op.Softmax
        && ops.get(2) instanceof Op.WeightedValues;
  }

  private static boolean isProjection(List<Op> ops) {
    int i = 0;
    if (ops.get(i) instanceof Op.RmsNorm) {
      i++;
    }
    int firstLinear = i;
    while (i < ops.size() && ops.get(i) instanceof Op.Linear) {
      i++;
    }
    if (i == firstLinear) {
      return false;
    }
    for (; i < ops.size(); i++) {
      Op op = ops.get(i);
      if (!(op instanceof Op.HeadRmsNorm
          || op instanceof Op.Rope
          || op instanceof Op.CacheWrite
          || op instanceof Op.Activate
          || op instanceof Op.Multiply
          || op instanceof Op.Add
          || op instanceof Op.Softcap)) {
        return false;
      }
    }
    return true;
  }
}
