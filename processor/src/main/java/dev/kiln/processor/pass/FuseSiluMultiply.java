package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import java.util.List;

/**
 * The activation (SiLU or GELU) of gate times up joins the gate/up kernel: each output element is
 * activated as soon as both are computed.
 */
final class FuseSiluMultiply implements Pass {
  @Override
  public String name() {
    return "fuse-silu-multiply";
  }

  @Override
  public List<Kernel> apply(List<Kernel> kernels) {
    return Absorb.intoPreviousProducer(
        kernels, op -> op instanceof Op.Activate || op instanceof Op.Multiply);
  }
}
