package dev.kiln.processor.backend.java;

import com.palantir.javapoet.ArrayTypeName;
import com.palantir.javapoet.FieldSpec;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.TypeName;
import dev.kiln.PositionEncoding;
import dev.kiln.ir.Value;
import dev.kiln.spec.ResolvedSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.lang.model.element.Modifier;

/**
 * The activation arrays a generated decoder keeps, (rows, width) each: exactly the values some
 * kernel stores for another (or for its own later loop), registered as the kernels are emitted.
 */
final class Buffers {
  /** What each value's buffer holds, as true for the spec it is generated for. */
  private final Map<String, String> roles;

  Buffers(ResolvedSpec spec) {
    String queries = "queries";
    if (spec.qkNorm()) {
      queries += ", per-head RMSNorm applied";
    }
    if (spec.positionEncoding() == PositionEncoding.ROPE) {
      queries += ", RoPE applied";
    }
    String activation = KernelEmitter.activationMethod(spec.hiddenAct());
    this.roles =
        Map.of(
            "x", "residual stream",
            "normed", "normalized stream, input of the following projections",
            "q", queries,
            "attn", "attention heads' outputs, concatenated",
            "attnOut", "attention output (o_proj), normalized before it joins the stream",
            "act", activation + "(gate) * up, input of down_proj",
            "mlpOut", "MLP output (down_proj), normalized before it joins the stream");
  }

  private final Map<Value, Boolean> used = new LinkedHashMap<>();

  /** An array that is not a value of the graph: its row width (an expression) and what it holds. */
  private record Extra(String width, String role) {}

  /** Extra arrays by field name. */
  private final Map<String, Extra> extras = new LinkedHashMap<>();

  /** Registers an array of (rows, {@code width}) that no op stores, such as per-row RoPE tables. */
  void extra(String name, String width, String role) {
    extras.put(name, new Extra(width, role));
  }

  /** The field name of a value's buffer, registering it. */
  String use(Value value) {
    if (value.width() == null) {
      throw new IllegalStateException("[Kiln/Internal] " + value + " cannot be stored as rows");
    }
    used.put(value, true);
    return value.name();
  }

  /** Index of (row r, column 0) of a value: {@code r * WIDTH}. */
  String rowStart(Value value, String row) {
    return row + " * " + value.width().constantName();
  }

  List<FieldSpec> fields() {
    List<FieldSpec> fields =
        new java.util.ArrayList<>(
            used.keySet().stream()
                .map(
                    value ->
                        FieldSpec.builder(
                                ArrayTypeName.of(TypeName.FLOAT), value.name(), Modifier.PRIVATE)
                            .addJavadoc(
                                "$L (rows, $L)\n",
                                roles.getOrDefault(value.name(), value.name()),
                                value.width().constantName())
                            .initializer("new float[0]")
                            .build())
                .toList());
    extras.forEach(
        (name, extra) ->
            fields.add(
                FieldSpec.builder(ArrayTypeName.of(TypeName.FLOAT), name, Modifier.PRIVATE)
                    .addJavadoc("$L (rows, $L)\n", extra.role(), extra.width())
                    .initializer("new float[0]")
                    .build()));
    return fields;
  }

  /** {@code ensureCapacity(rows)}: grows every buffer to hold {@code rows} rows. */
  MethodSpec ensureCapacity() {
    MethodSpec.Builder method =
        MethodSpec.methodBuilder("ensureCapacity")
            .addModifiers(Modifier.PRIVATE)
            .addJavadoc("Grows the activation buffers to {@code rows} rows.\n")
            .addParameter(TypeName.INT, "rows")
            .beginControlFlow("if (rows <= capacity)")
            .addStatement("return")
            .endControlFlow()
            .addStatement("capacity = rows");
    for (Value value : used.keySet()) {
      method.addStatement("$N = new float[rows * $L]", value.name(), value.width().constantName());
    }
    extras.forEach(
        (name, extra) -> method.addStatement("$N = new float[rows * ($L)]", name, extra.width()));
    return method.build();
  }
}
