package dev.kiln.processor.backend.tornado;

import com.palantir.javapoet.CodeBlock;
import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.backend.tornado.TaskPlanner.Task;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.weights.Dtype;
import dev.kiln.weights.Q4_0Tensor;
import dev.kiln.weights.Q8_0Tensor;
import java.util.List;
import java.util.Optional;

/**
 * The gpu layout's projection body: one work-group per output feature (the grid is the features
 * times the work-group size). Its threads stride the weight row, so neighbouring threads read
 * neighbouring weights; each loaded weight is used for ROW_TILE rows at once (the logits: one row),
 * the partial sums are reduced in local memory, and the first thread applies the RMSNorm's row
 * scale, the bias, the activation and the store. The RMSNorm's gain is folded into the weight as it
 * is read. The weights are read in the type the device keeps: F32, F16 halves, or Q8_0 / Q4_0
 * blocks decoded per element.
 */
final class GpuProjection {
  private GpuProjection() {}

  static CodeBlock body(KernelBodies bodies, Task task, Dtype type) {
    Kernel kernel = task.kernel();
    List<Op.Linear> linears = kernel.opsOf(Op.Linear.class);
    Optional<Op.RmsNorm> norm = kernel.opsOf(Op.RmsNorm.class).stream().findFirst();
    boolean logits = linears.stream().anyMatch(l -> l.out().equals(Value.LOGITS));
    boolean gated = !kernel.opsOf(Op.Activate.class).isEmpty();
    int tile = logits ? 1 : 4;
    String tileName = logits ? "1" : "ROW_TILE";
    int sums = gated ? 2 * tile : tile;

    CodeBlock.Builder code =
        CodeBlock.builder()
            .addStatement(
                "float[] partial = context.allocateFloatLocalArray($L * PROJECTION_LOCAL)",
                gated ? "2 * " + tileName : tileName)
            .addStatement("int feature = context.groupIdx")
            .addStatement("int id = context.localIdx")
            .addStatement("int threads = context.localGroupSizeX");
    if (logits) {
      code.addStatement("int first = logitsRow.get(0)").addStatement("int rows = first + 1");
    } else {
      code.addStatement("int first = 0").addStatement("int rows = rowInfo.get(0)");
    }
    code.beginControlFlow("if (feature < $L)", KernelBodies.outputFeatures(task));
    if (gated) {
      Op.Linear gate = linears.get(0);
      Op.Linear up = linears.get(1);
      Op.Multiply multiply = kernel.opsOf(Op.Multiply.class).getFirst();
      String activation =
          KernelBodies.activationMethod(kernel.opsOf(Op.Activate.class).getFirst().function());
      code.addStatement("int o = feature");
      rowLoop(
          bodies,
          code,
          kernel,
          List.of(gate, up),
          norm,
          type,
          tile,
          (k, r) -> {
            String g = "partial[" + k + " * threads]" + scaled(norm, r) + bias(gate);
            String u = "partial[" + (tile + k) + " * threads]" + scaled(norm, r) + bias(up);
            return CodeBlock.builder()
                .addStatement("float $N = $L", gate.out().name(), g)
                .addStatement("float $N = $L", up.out().name(), u)
                .addStatement(
                    bodies.store(
                        kernel,
                        multiply.out(),
                        activation + "(" + gate.out().name() + ") * " + up.out().name()))
                .build();
          });
    } else {
      String offset = "0";
      for (int l = 0; l < linears.size(); l++) {
        Op.Linear linear = linears.get(l);
        String end =
            offset.equals("0")
                ? KernelBodies.outWidth(linear)
                : offset + " + " + KernelBodies.outWidth(linear);
        if (linears.size() > 1) {
          if (l == 0) {
            code.beginControlFlow("if (feature < $L)", end);
          } else if (l < linears.size() - 1) {
            code.nextControlFlow("else if (feature < $L)", end);
          } else {
            code.nextControlFlow("else");
          }
        }
        code.addStatement("int o = feature$L", offset.equals("0") ? "" : " - (" + offset + ")");
        rowLoop(
            bodies,
            code,
            kernel,
            List.of(linear),
            norm,
            type,
            tile,
            (k, r) ->
                CodeBlock.builder()
                    .addStatement(
                        "float value = partial[$L * threads]$L$L", k, scaled(norm, r), bias(linear))
                    .addStatement(bodies.store(kernel, linear.out(), "value"))
                    .build());
        offset = end;
      }
      if (linears.size() > 1) {
        code.endControlFlow();
      }
    }
    if (sums > 0) {
      code.endControlFlow();
    }
    return code.build();
  }

  /** The statements storing row {@code r}'s result from partial sum slot {@code k}. */
  private interface Store {
    CodeBlock of(int k, String r);
  }

  private static String scaled(Optional<Op.RmsNorm> norm, String r) {
    return norm.isPresent() ? " * normScale.get(" + r + ")" : "";
  }

  private static String bias(Op.Linear linear) {
    return linear.bias() != null ? " + " + linear.bias().fieldName() + ".get(o)" : "";
  }

  /**
   * For each tile of rows: the threads' partial dot products of the weight rows of {@code linears}
   * (all row o, same input) with each row of the tile, reduced in {@code partial} (slot {@code m *
   * tile + k} for matrix m and tile row k), then stored by thread 0.
   */
  private static void rowLoop(
      KernelBodies bodies,
      CodeBlock.Builder code,
      Kernel kernel,
      List<Op.Linear> linears,
      Optional<Op.RmsNorm> norm,
      Dtype type,
      int tile,
      Store store) {
    Op.Linear firstLinear = linears.getFirst();
    String in = KernelBodies.inWidth(firstLinear);
    String input = norm.isPresent() ? norm.get().in().name() : firstLinear.in().name();
    code.beginControlFlow(
        "for (int r0 = first; r0 < rows; r0 += $L)", tile == 1 ? "1" : "ROW_TILE");
    for (int k = 0; k < tile; k++) {
      code.addStatement(
          "int in$L = $L * $L",
          k,
          k == 0 ? "r0" : "(r0 + " + k + " < rows ? r0 + " + k + " : rows - 1)",
          in);
    }
    for (int m = 0; m < linears.size(); m++) {
      for (int k = 0; k < tile; k++) {
        code.addStatement("float sum$L = 0f", m * tile + k);
      }
    }
    code.beginControlFlow("for (int i = id; i < $L; i += threads)", in);
    for (int k = 0; k < tile; k++) {
      code.addStatement("float input$L = $N.get(in$L + i)", k, input, k);
    }
    if (type == Dtype.Q8_0 || type == Dtype.Q4_0) {
      int blockBytes = type == Dtype.Q8_0 ? Q8_0Tensor.BLOCK_BYTES : Q4_0Tensor.BLOCK_BYTES;
      code.addStatement("int block = i / $L * $L", Q8_0Tensor.BLOCK, blockBytes);
    }
    for (int m = 0; m < linears.size(); m++) {
      Op.Linear linear = linears.get(m);
      String weight = "weight" + m;
      code.addStatement("float $L = $L", weight, weightAt(linear, type));
      if (norm.isPresent()) {
        code.addStatement(
            "$L *= $L",
            weight,
            KernelBodies.gain(norm.get().gain().fieldName(), "i", norm.get().unitOffset()));
      }
      for (int k = 0; k < tile; k++) {
        code.addStatement("sum$L += $L * input$L", m * tile + k, weight, k);
      }
    }
    code.endControlFlow();
    int slots = linears.size() * tile;
    for (int s = 0; s < slots; s++) {
      code.addStatement("partial[$L] = sum$L", s == 0 ? "id" : s + " * threads + id", s);
    }
    code.beginControlFlow("for (int stride = threads / 2; stride > 0; stride /= 2)")
        .addStatement("context.localBarrier()")
        .beginControlFlow("if (id < stride)");
    for (int s = 0; s < slots; s++) {
      String at = s == 0 ? "id" : s + " * threads + id";
      code.addStatement("partial[$L] += partial[$L + stride]", at, at);
    }
    code.endControlFlow().endControlFlow();
    code.beginControlFlow("if (id == 0)");
    for (int k = 0; k < tile; k++) {
      String r = "r";
      if (k == 0) {
        code.beginControlFlow("");
      } else {
        code.beginControlFlow("if (r0 + $L < rows)", k);
      }
      code.addStatement("int r = r0$L", k == 0 ? "" : " + " + k)
          .add(store.of(k, r))
          .endControlFlow();
    }
    code.endControlFlow().addStatement("context.localBarrier()").endControlFlow();
  }

  /** Weight (o, i) of {@code linear} as a float, in the device's type of the task's matrices. */
  private static String weightAt(Op.Linear linear, Dtype type) {
    String w = linear.weight().fieldName();
    String in = KernelBodies.inWidth(linear);
    return switch (type) {
      case F16 -> "f16ToFloat(" + w + ".get(o * " + in + " + i))";
      case Q8_0 ->
          "halfToFloat("
              + w
              + ".get(o * ("
              + in
              + " / "
              + Q8_0Tensor.BLOCK
              + " * "
              + Q8_0Tensor.BLOCK_BYTES
              + ") + block), "
              + w
              + ".get(o * ("
              + in
              + " / "
              + Q8_0Tensor.BLOCK
              + " * "
              + Q8_0Tensor.BLOCK_BYTES
              + ") + block + 1)) * "
              + w
              + ".get(o * ("
              + in
              + " / "
              + Q8_0Tensor.BLOCK
              + " * "
              + Q8_0Tensor.BLOCK_BYTES
              + ") + block + 2 + i % "
              + Q8_0Tensor.BLOCK
              + ")";
      case Q4_0 ->
          "halfToFloat("
              + w
              + ".get(o * ("
              + in
              + " / "
              + Q4_0Tensor.BLOCK
              + " * "
              + Q4_0Tensor.BLOCK_BYTES
              + ") + block), "
              + w
              + ".get(o * ("
              + in
              + " / "
              + Q4_0Tensor.BLOCK
              + " * "
              + Q4_0Tensor.BLOCK_BYTES
              + ") + block + 1)) * (nibble("
              + w
              + ".get(o * ("
              + in
              + " / "
              + Q4_0Tensor.BLOCK
              + " * "
              + Q4_0Tensor.BLOCK_BYTES
              + ") + block + 2 + i % "
              + Q4_0Tensor.BLOCK / 2
              + "), i % "
              + Q4_0Tensor.BLOCK
              + ") - 8)";
      default -> w + ".get(o * " + in + " + i)";
    };
  }
}
