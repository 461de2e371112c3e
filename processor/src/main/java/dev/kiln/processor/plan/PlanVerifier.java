package dev.kiln.processor.plan;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a plan after every pass: it holds exactly the graph's ops in their order, no value that
 * cannot be stored (attention scores) crosses a kernel boundary, and (once planning is done) every
 * kernel fits a backend template. A failure is a bug in Kiln, reported as such.
 */
public final class PlanVerifier {
  private PlanVerifier() {}

  public static void verify(Graph graph, KernelPlan plan, String afterPass) {
    List<List<Op>> graphSections = List.of(graph.prologue(), graph.layer(), graph.epilogue());
    List<List<Kernel>> planSections = plan.sections();
    for (int s = 0; s < graphSections.size(); s++) {
      List<Op> flattened = new ArrayList<>();
      for (Kernel kernel : planSections.get(s)) {
        flattened.addAll(kernel.ops());
      }
      if (!flattened.equals(graphSections.get(s))) {
        fail(
            afterPass,
            "the plan's ops " + flattened + " differ from the graph's " + graphSections.get(s));
      }
    }
  }

  /**
   * After the last pass: every kernel fits a template, and no value that cannot be stored (the
   * attention scores) is read across a kernel boundary.
   */
  public static void verifyComplete(KernelPlan plan) {
    for (List<Kernel> section : plan.sections()) {
      for (Kernel kernel : section) {
        if (kernel.shape() == null) {
          fail("planning", "no kernel template fits " + kernel);
        }
        for (Value read : kernel.externalReads()) {
          if (read.width() == null) {
            fail(
                "planning",
                "kernel "
                    + kernel
                    + " reads "
                    + read
                    + " from another kernel, but "
                    + read
                    + " cannot be stored between kernels");
          }
        }
      }
    }
  }

  private static void fail(String afterPass, String message) {
    throw new IllegalStateException(
        "[Kiln/Internal] invalid kernel plan after " + afterPass + ": " + message);
  }
}
