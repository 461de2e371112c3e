package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import java.util.List;

/**
 * The per-head RMSNorm of q and k (Qwen3) joins the kernel that projects them: each head is
 * normalized where the projection left it (in the key cache for k), before RoPE rotates it.
 */
final class FuseHeadNormIntoProjection implements Pass {
  @Override
  public String name() {
    return "fuse-head-norm-into-projection";
  }

  @Override
  public List<Kernel> apply(List<Kernel> kernels) {
    return Absorb.intoPreviousProducer(kernels, op -> op instanceof Op.HeadRmsNorm);
  }
}
