package dev.kiln.processor.plan;

import dev.kiln.ir.Op;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.TensorKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Names kernels after what they fuse: {@code fusedRmsNormQkvRopeCacheWrite}, {@code
 * fusedDownProjectionResidual}.
 */
final class KernelNames {
  private static final Map<List<TensorKind>, String> PROJECTION_GROUPS =
      Map.of(
          List.of(LayerTensor.Q_PROJ, LayerTensor.K_PROJ, LayerTensor.V_PROJ), "Qkv",
          List.of(LayerTensor.GATE_PROJ, LayerTensor.UP_PROJ), "GateUp",
          List.of(LayerTensor.O_PROJ), "OutputProjection",
          List.of(LayerTensor.DOWN_PROJ), "DownProjection",
          List.of(GlobalTensor.LM_HEAD), "LmHead",
          List.of(GlobalTensor.EMBED_TOKENS), "LmHead");

  private KernelNames() {}

  static String name(Kernel kernel) {
    KernelShape shape = kernel.shape();
    if (shape == null) {
      return "unplannedKernel";
    }
    String base =
        switch (shape) {
          case EMBEDDING -> "EmbedTokens";
          case RESIDUAL_ADD -> "ResidualAdd";
          case NORM_RESIDUAL_ADD -> "PostNormResidualAdd";
          case ATTENTION -> "Attention";
          case PROJECTION -> projectionName(kernel);
        };
    boolean fused = kernel.ops().size() > 1;
    return fused ? "fused" + base : Character.toLowerCase(base.charAt(0)) + base.substring(1);
  }

  private static String projectionName(Kernel kernel) {
    List<String> parts = new ArrayList<>();
    if (!kernel.opsOf(Op.RmsNorm.class).isEmpty()) {
      parts.add("RmsNorm");
    }
    List<TensorKind> weights =
        kernel.opsOf(Op.Linear.class).stream().map(Op.Linear::weight).toList();
    String group = PROJECTION_GROUPS.get(weights);
    if (group == null) {
      group = String.join("", weights.stream().map(KernelNames::camel).toList()) + "Projection";
    }
    parts.add(group);
    if (!kernel.opsOf(Op.HeadRmsNorm.class).isEmpty()) {
      parts.add("QkNorm");
    }
    if (!kernel.opsOf(Op.Rope.class).isEmpty()) {
      parts.add("Rope");
    }
    if (!kernel.opsOf(Op.CacheWrite.class).isEmpty()) {
      parts.add("CacheWrite");
    }
    for (Op.Activate activate : kernel.opsOf(Op.Activate.class)) {
      parts.add(
          switch (activate.function()) {
            case SILU -> "Silu";
            case GELU_TANH -> "Gelu";
          });
    }
    if (!kernel.opsOf(Op.Add.class).isEmpty()) {
      parts.add("Residual");
    }
    if (!kernel.opsOf(Op.Softcap.class).isEmpty()) {
      parts.add("Softcap");
    }
    return String.join("", parts);
  }

  private static String camel(TensorKind kind) {
    String field = kind.fieldName();
    return Character.toUpperCase(field.charAt(0)) + field.substring(1);
  }
}
