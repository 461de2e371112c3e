package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.plan.Kernel;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The move shared by the epilogue passes: a single-op kernel whose inputs the kernel right before
 * it produces is appended to that kernel, so its work happens while those values are still in
 * registers or cache instead of in a pass of its own.
 */
final class Absorb {
  private Absorb() {}

  /** Whether {@code previous} may absorb {@code op}, which sits at {@code index} of the section. */
  interface Condition {
    boolean test(Kernel previous, Op op, List<Kernel> kernels, int index);
  }

  /**
   * Appends each single op accepted by {@code candidate} to the kernel before it, when that kernel
   * has a projection, produces an input of the op, and no later kernel reads the values the op
   * consumes from it (they are not stored once fused), and {@code condition} agrees.
   */
  static List<Kernel> intoPreviousProducer(
      List<Kernel> kernels, Predicate<Op> candidate, Condition condition) {
    List<Kernel> out = new ArrayList<>();
    for (int i = 0; i < kernels.size(); i++) {
      Kernel kernel = kernels.get(i);
      if (!out.isEmpty() && kernel.ops().size() == 1 && candidate.test(kernel.single())) {
        Op op = kernel.single();
        Kernel previous = out.getLast();
        if (hasProjection(previous)
            && producesAnInputOf(previous, op)
            && !consumedValueReadLater(previous, op, kernels, i)
            && condition.test(previous, op, kernels, i)) {
          out.set(out.size() - 1, previous.then(kernel));
          continue;
        }
      }
      out.add(kernel);
    }
    return out;
  }

  static List<Kernel> intoPreviousProducer(List<Kernel> kernels, Predicate<Op> candidate) {
    return intoPreviousProducer(kernels, candidate, (previous, op, all, index) -> true);
  }

  private static boolean consumedValueReadLater(
      Kernel previous, Op op, List<Kernel> kernels, int index) {
    for (Value in : op.inputs()) {
      boolean inPlace = op.outputs().contains(in);
      if (previous.writes(in) && !inPlace && readLater(kernels, index, in)) {
        return true;
      }
    }
    return false;
  }

  private static boolean producesAnInputOf(Kernel kernel, Op op) {
    for (Value in : op.inputs()) {
      if (kernel.writes(in)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether {@code value} is read by a kernel after index {@code from} before one overwrites it.
   */
  static boolean readLater(List<Kernel> kernels, int from, Value value) {
    for (int i = from + 1; i < kernels.size(); i++) {
      if (kernels.get(i).reads(value)) {
        return true;
      }
      if (kernels.get(i).writes(value)) {
        return false;
      }
    }
    return false;
  }

  private static boolean hasProjection(Kernel kernel) {
    return !kernel.opsOf(Op.Linear.class).isEmpty();
  }
}
