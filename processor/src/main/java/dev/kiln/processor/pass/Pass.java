package dev.kiln.processor.pass;

import dev.kiln.processor.plan.Kernel;
import dev.kiln.processor.plan.KernelPlan;
import java.util.List;

/** One rewrite of the kernel plan; each pass fuses one kind of thing and keeps the ops' order. */
public interface Pass {
  /** A short name for logs and IR dumps. */
  String name();

  /** Rewrites one section's kernels. */
  List<Kernel> apply(List<Kernel> kernels);

  default KernelPlan apply(KernelPlan plan) {
    return plan.mapSections(this::apply);
  }
}
