package dev.kiln.processor.plan;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Op;
import dev.kiln.spec.ResolvedSpec;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The kernels of a decoder, section by section: what every backend emits. Starts as one kernel per
 * op ({@link #unfused}); fusion passes merge kernels.
 */
public record KernelPlan(
    ResolvedSpec spec, List<Kernel> prologue, List<Kernel> layer, List<Kernel> epilogue) {
  public KernelPlan {
    prologue = List.copyOf(prologue);
    layer = List.copyOf(layer);
    epilogue = List.copyOf(epilogue);
  }

  public static KernelPlan unfused(Graph graph) {
    return new KernelPlan(
        graph.spec(), singles(graph.prologue()), singles(graph.layer()), singles(graph.epilogue()));
  }

  private static List<Kernel> singles(List<Op> ops) {
    return ops.stream().map(Kernel::of).toList();
  }

  /** Applies {@code rewrite} to each section. */
  public KernelPlan mapSections(UnaryOperator<List<Kernel>> rewrite) {
    return new KernelPlan(
        spec, rewrite.apply(prologue), rewrite.apply(layer), rewrite.apply(epilogue));
  }

  /** All kernels of one decoder step in order: prologue, layer body (once), epilogue. */
  public List<List<Kernel>> sections() {
    return List.of(prologue, layer, epilogue);
  }

  /**
   * Each kernel's name, unique within the decoder ({@link Kernel#name()}, with a count appended to
   * repeats): the Java backend's method names, and what the TornadoVM backend's tasks refer to.
   */
  public Map<Kernel, String> uniqueNames() {
    Map<Kernel, String> result = new IdentityHashMap<>();
    Map<String, Integer> seen = new HashMap<>();
    for (List<Kernel> section : sections()) {
      for (Kernel kernel : section) {
        String base = kernel.name();
        int count = seen.merge(base, 1, Integer::sum);
        result.put(kernel, count == 1 ? base : base + count);
      }
    }
    return result;
  }

  /** A readable listing, one kernel per line, for IR dumps. */
  public String dump() {
    StringBuilder out = new StringBuilder();
    String[] names = {"prologue", "layer (x numHiddenLayers)", "epilogue"};
    List<List<Kernel>> sections = sections();
    for (int s = 0; s < sections.size(); s++) {
      out.append(names[s]).append(":\n");
      for (Kernel kernel : sections.get(s)) {
        out.append("  ").append(kernel.name()).append(' ').append(kernel).append('\n');
      }
    }
    return out.toString();
  }
}
