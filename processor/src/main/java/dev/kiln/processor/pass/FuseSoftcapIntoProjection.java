package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import java.util.List;

/**
 * The final logit soft-capping (Gemma 2) joins the LM head's kernel: the logits are capped where
 * they are written.
 */
final class FuseSoftcapIntoProjection implements Pass {
  @Override
  public String name() {
    return "fuse-softcap-into-projection";
  }

  @Override
  public List<Kernel> apply(List<Kernel> kernels) {
    return Absorb.intoPreviousProducer(kernels, op -> op instanceof Op.Softcap);
  }
}
