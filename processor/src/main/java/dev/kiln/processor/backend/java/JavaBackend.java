package dev.kiln.processor.backend.java;

import com.palantir.javapoet.JavaFile;
import dev.kiln.processor.GeneratedNames;
import dev.kiln.processor.plan.KernelPlan;
import java.util.List;

/**
 * The plain-Java backend: {@code XWeights}, {@code XAttention} and {@code XDecoder} from a kernel
 * plan.
 */
public final class JavaBackend {
  private JavaBackend() {}

  public static List<JavaFile> emit(KernelPlan plan, GeneratedNames names) {
    return List.of(
        new WeightsWriter(plan.spec(), names).write(),
        new AttentionWriter(plan.spec(), names).write(),
        new DecoderWriter(plan, names).write());
  }
}
