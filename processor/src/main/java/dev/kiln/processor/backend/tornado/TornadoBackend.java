package dev.kiln.processor.backend.tornado;

import com.palantir.javapoet.JavaFile;
import dev.kiln.processor.GeneratedNames;
import dev.kiln.processor.plan.KernelPlan;
import dev.kiln.Activation;
import dev.kiln.RopeScaling;
import dev.kiln.spec.ModelSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The TornadoVM backend: {@code XTornadoDecoder} from the same kernel plan as the Java backend.
 * The generated source names TornadoVM types only by name, so it is always produced; it compiles
 * where TornadoVM's API and Kiln's {@code kiln-tornado} module are on the class path.
 */
public final class TornadoBackend {
  /**
   * The generated decoder and its tasks.
   *
   * @param tasks each task as {@code graph.task <- planned kernel}, in execution order
   */
  public record Output(JavaFile file, List<String> tasks) {}

  private TornadoBackend() {}

  /** @throws TornadoPlanException if a kernel of the plan cannot run as TornadoVM tasks */
  public static Output emit(KernelPlan plan, GeneratedNames names) {
    List<String> unsupported = unsupported(plan.spec());
    if (!unsupported.isEmpty()) {
      throw new TornadoPlanException("the TornadoVM backend does not emit " + String.join(", ", unsupported) + " yet");
    }
    TornadoDecoderWriter writer = new TornadoDecoderWriter(plan, names);
    return new Output(writer.write(), writer.taskLines());
  }

  /** The spec elements whose ops have no TornadoVM template yet. */
  static List<String> unsupported(ModelSpec spec) {
    List<String> out = new ArrayList<>();
    if (spec.ropeScaling() != RopeScaling.NONE) {
      out.add("ropeScaling = " + spec.ropeScaling());
    }
    if (spec.hasQkvBias() && !spec.attentionBias()) {
      out.add("qkvBias");
    }
    if (spec.qkNorm()) {
      out.add("qkNorm");
    }
    if (spec.rmsNormUnitOffset()) {
      out.add("rmsNormUnitOffset");
    }
    if (spec.scaleEmbeddings()) {
      out.add("scaleEmbeddings");
    }
    if (spec.sandwichNorms()) {
      out.add("sandwichNorms");
    }
    if (spec.hiddenAct() != Activation.SILU) {
      out.add("hiddenAct = " + spec.hiddenAct());
    }
    if (spec.queryPreAttnScalar() != spec.headDim()) {
      out.add("queryPreAttnScalar");
    }
    if (spec.attnLogitSoftcapping() > 0) {
      out.add("attnLogitSoftcapping");
    }
    if (spec.finalLogitSoftcapping() > 0) {
      out.add("finalLogitSoftcapping");
    }
    if (spec.slidingWindow() > 0) {
      out.add("slidingWindow");
    }
    return out;
  }

  /** The names TornadoVM's API and Kiln's support for it go by, to probe a class path. */
  public static List<String> requiredTypes() {
    return List.of(TornadoTypes.PROBE, TornadoTypes.SUPPORT_PROBE);
  }
}
