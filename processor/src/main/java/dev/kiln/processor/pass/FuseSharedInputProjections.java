package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import java.util.ArrayList;
import java.util.List;

/**
 * Projections of the same input become one kernel: q/k/v of the attention input, gate/up of the MLP
 * input. The input rows are then read once for all of them.
 */
final class FuseSharedInputProjections implements Pass {
  @Override
  public String name() {
    return "fuse-shared-input-projections";
  }

  @Override
  public List<Kernel> apply(List<Kernel> kernels) {
    List<Kernel> out = new ArrayList<>();
    for (Kernel kernel : kernels) {
      if (!out.isEmpty()
          && kernel.isSingle(Op.Linear.class)
          && onlyLinearsOf(out.getLast(), (Op.Linear) kernel.single())) {
        out.set(out.size() - 1, out.getLast().then(kernel));
      } else {
        out.add(kernel);
      }
    }
    return out;
  }

  private static boolean onlyLinearsOf(Kernel kernel, Op.Linear next) {
    return kernel.ops().stream()
        .allMatch(
            op ->
                op instanceof Op.Linear linear
                    && linear.in().equals(next.in())
                    && !linear.out().equals(next.in()));
  }
}
