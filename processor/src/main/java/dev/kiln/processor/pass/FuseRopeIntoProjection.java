package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import java.util.List;

/**
 * RoPE is applied to q and k in the kernel that projects them, right after each row is produced.
 */
final class FuseRopeIntoProjection implements Pass {
  @Override
  public String name() {
    return "fuse-rope-into-projection";
  }

  @Override
  public List<Kernel> apply(List<Kernel> kernels) {
    return Absorb.intoPreviousProducer(kernels, op -> op instanceof Op.Rope);
  }
}
