package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import java.util.ArrayList;
import java.util.List;

/**
 * An RMSNorm whose output only feeds the projections right after it moves into their kernel as a
 * prologue: input_layernorm into q/k/v, post_attention_layernorm into gate/up, the final norm into
 * the LM head. The normalized rows never exist outside that kernel.
 */
final class FuseRmsNormIntoProjections implements Pass {
  @Override
  public String name() {
    return "fuse-rmsnorm-into-projections";
  }

  @Override
  public List<Kernel> apply(List<Kernel> kernels) {
    List<Kernel> out = new ArrayList<>();
    for (int i = 0; i < kernels.size(); i++) {
      Kernel kernel = kernels.get(i);
      if (kernel.isSingle(Op.RmsNorm.class) && i + 1 < kernels.size()) {
        Op.RmsNorm norm = (Op.RmsNorm) kernel.single();
        Kernel next = kernels.get(i + 1);
        boolean feedsOnlyNext =
            next.ops().getFirst() instanceof Op.Linear first
                && first.in().equals(norm.out())
                && !Absorb.readLater(kernels, i + 1, norm.out());
        if (feedsOnlyNext) {
          out.add(kernel.then(next));
          i++;
          continue;
        }
      }
      out.add(kernel);
    }
    return out;
  }
}
