package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import java.util.ArrayList;
import java.util.List;

/**
 * A norm of a residual branch's output (Gemma 2's post-attention and post-feed-forward norms) and
 * the residual add that consumes it become one kernel: each row is normalized and added to the
 * stream in one pass. (The norm needs the whole row of the projection before it, so it cannot join
 * that projection, whose threads each produce a slice of the row.)
 */
final class FusePostNormIntoResidualAdd implements Pass {
  @Override
  public String name() {
    return "fuse-post-norm-into-residual-add";
  }

  @Override
  public List<Kernel> apply(List<Kernel> kernels) {
    List<Kernel> out = new ArrayList<>();
    for (int i = 0; i < kernels.size(); i++) {
      Kernel kernel = kernels.get(i);
      if (kernel.isSingle(Op.RmsNorm.class)
          && i + 1 < kernels.size()
          && kernels.get(i + 1).isSingle(Op.Add.class)) {
        Op.RmsNorm norm = (Op.RmsNorm) kernel.single();
        Op.Add add = (Op.Add) kernels.get(i + 1).single();
        if (add.b().equals(norm.out())
            && add.a().equals(add.out())
            && !Absorb.readLater(kernels, i + 1, norm.out())) {
          out.add(kernel.then(kernels.get(i + 1)));
          i++;
          continue;
        }
      }
      out.add(kernel);
    }
    return out;
  }
}
