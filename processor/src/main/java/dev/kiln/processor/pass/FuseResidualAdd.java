package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import java.util.List;

/**
 * A residual add joins the projection that produces its addend: the projection adds into the stream
 * directly.
 */
final class FuseResidualAdd implements Pass {
  @Override
  public String name() {
    return "fuse-residual-add";
  }

  @Override
  public List<Kernel> apply(List<Kernel> kernels) {
    return Absorb.intoPreviousProducer(kernels, op -> op instanceof Op.Add);
  }
}
