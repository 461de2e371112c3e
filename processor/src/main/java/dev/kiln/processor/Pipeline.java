package dev.kiln.processor;

import com.palantir.javapoet.JavaFile;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.processor.backend.java.JavaBackend;
import dev.kiln.processor.backend.tornado.TornadoBackend;
import dev.kiln.processor.backend.tornado.TornadoPlanException;
import dev.kiln.processor.pass.Pass;
import dev.kiln.processor.pass.Passes;
import dev.kiln.processor.plan.KernelPlan;
import dev.kiln.processor.plan.PlanVerifier;
import dev.kiln.spec.ResolvedSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Kiln's compiler core, independent of javac: spec -> op graph -> fusion passes -> kernel plan ->
 * source per backend (Java, and TornadoVM from the same plan). The annotation processor runs it for
 * each valid {@code @ModelSpec}; tools and tests can run it directly.
 */
public final class Pipeline {
  /**
   * What one run produced.
   *
   * @param files the Java backend's classes
   * @param tornado the TornadoVM backend's decoder, or null when the plan cannot run on TornadoVM
   * @param tornadoProblem why there is no TornadoVM decoder, or null
   */
  public record Result(
      Graph graph,
      KernelPlan plan,
      List<JavaFile> files,
      TornadoBackend.Output tornado,
      String tornadoProblem) {}

  private Pipeline() {}

  /**
   * @param spec a valid spec
   * @param names where the generated classes go
   * @param irLog receives the plan after each stage (the op graph, then each pass), for {@code
   *     -Akiln.dumpIr}
   */
  public static Result run(ResolvedSpec spec, GeneratedNames names, Consumer<String> irLog) {
    Graph graph = GraphBuilder.build(spec);
    KernelPlan plan = KernelPlan.unfused(graph);
    PlanVerifier.verify(graph, plan, "graph construction");
    irLog.accept("op graph of " + names.specType() + ":\n" + plan.dump());

    for (Pass pass : Passes.standard()) {
      plan = pass.apply(plan);
      PlanVerifier.verify(graph, plan, pass.name());
      irLog.accept("after " + pass.name() + ":\n" + plan.dump());
    }
    PlanVerifier.verifyComplete(plan);

    List<JavaFile> files = new ArrayList<>(JavaBackend.emit(plan, names));
    TornadoBackend.Output tornado = null;
    String tornadoProblem = null;
    try {
      tornado = TornadoBackend.emit(plan, names);
    } catch (TornadoPlanException e) {
      tornadoProblem = e.getMessage();
    }
    return new Result(graph, plan, List.copyOf(files), tornado, tornadoProblem);
  }

  /** {@link #run} without IR logging. */
  public static Result run(ResolvedSpec spec, GeneratedNames names) {
    return run(spec, names, text -> {});
  }
}
