package dev.kiln.processor.backend.tornado;

import com.palantir.javapoet.JavaFile;
import dev.kiln.processor.GeneratedNames;
import dev.kiln.processor.backend.GeneratedTypes;
import dev.kiln.processor.plan.KernelPlan;
import java.util.List;

/**
 * The TornadoVM backend: {@code XTornadoDecoder} from the same kernel plan as the Java backend. The
 * generated source names TornadoVM types only by name, so it is always produced; it compiles where
 * TornadoVM's API and Kiln's {@code kiln-tornado} module are on the class path.
 */
public final class TornadoBackend {
  /**
   * The generated decoder and its tasks.
   *
   * @param tasks each task of the cpu layout as {@code graph.task <- planned kernel}, in execution
   *     order
   * @param gpuTasks likewise for the gpu layout
   */
  public record Output(JavaFile file, List<String> tasks, List<String> gpuTasks) {}

  private TornadoBackend() {}

  /**
   * @throws TornadoPlanException if a kernel of the plan cannot run as TornadoVM tasks
   */
  public static Output emit(KernelPlan plan, GeneratedNames names) {
    TornadoDecoderWriter writer = new TornadoDecoderWriter(plan, names);
    return new Output(writer.write(), writer.taskLines(), writer.gpuTaskLines());
  }

  /** The names TornadoVM's API and Kiln's support for it go by, to probe a class path. */
  public static List<String> requiredTypes() {
    return List.of(GeneratedTypes.TORNADO_PROBE, GeneratedTypes.TORNADO_SUPPORT_PROBE);
  }
}
