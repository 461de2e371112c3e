package dev.kiln.processor.backend.java;

import com.palantir.javapoet.ArrayTypeName;
import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.FieldSpec;
import com.palantir.javapoet.JavaFile;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.ParameterizedTypeName;
import com.palantir.javapoet.TypeName;
import com.palantir.javapoet.TypeSpec;
import dev.kiln.ir.Op;
import dev.kiln.processor.GeneratedNames;
import dev.kiln.processor.backend.GeneratedFile;
import dev.kiln.processor.backend.GeneratedTypes;
import dev.kiln.processor.backend.SpecConstants;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.processor.plan.KernelPlan;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.LayerTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.lang.model.element.Modifier;

/**
 * Emits {@code XDecoder}: the spec as constants, one method per planned kernel, and a {@code
 * forward} that calls them in order for the prologue, each layer and the epilogue.
 */
final class DecoderWriter {
  private final KernelPlan plan;
  private final ResolvedSpec spec;
  private final GeneratedNames names;

  DecoderWriter(KernelPlan plan, GeneratedNames names) {
    this.plan = plan;
    this.spec = plan.spec();
    this.names = names;
  }

  JavaFile write() {
    ClassName self = names.decoder();
    Buffers buffers = new Buffers(spec);
    KernelEmitter emitter = new KernelEmitter(spec, names, buffers);
    Map<Kernel, String> methodNames = plan.uniqueNames();
    List<MethodSpec> kernels =
        plan.sections().stream()
            .flatMap(List::stream)
            .map(kernel -> emitter.emit(kernel, methodNames.get(kernel)))
            .toList();

    TypeSpec.Builder type =
        GeneratedFile.publicFinalClass(self, names).superclass(GeneratedTypes.GENERATED_DECODER);
    classJavadoc(type, methodNames);

    type.addField(
        FieldSpec.builder(
                GeneratedTypes.MODEL_SPEC, "SPEC", Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
            .addJavadoc("The spec this decoder was generated from.\n")
            .initializer(SpecConstants.specInitializer(spec))
            .build());
    type.addFields(SpecConstants.readBy(spec, SpecConstants.Reader.DECODER));
    type.addField(
        FieldSpec.builder(
                ParameterizedTypeName.get(ClassName.get(List.class), ClassName.get(String.class)),
                "PLANNED_KERNELS",
                Modifier.PUBLIC,
                Modifier.STATIC,
                Modifier.FINAL)
            .addJavadoc(
                "The kernel plan, by kernel method, in order: prologue, one layer, epilogue. Every backend emits this plan.\n")
            .initializer(
                "$T.of($L)",
                List.class,
                String.join(
                    ", ",
                    plan.sections().stream()
                        .flatMap(List::stream)
                        .map(kernel -> "\"" + methodNames.get(kernel) + "\"")
                        .toList()))
            .build());
    type.addField(kernelMatricesField(methodNames));
    type.addField(
        FieldSpec.builder(
                GeneratedTypes.VALUE_LAYOUT_OF_FLOAT,
                "F32",
                Modifier.PRIVATE,
                Modifier.STATIC,
                Modifier.FINAL)
            .addJavadoc("How weight elements are read: little-endian float32.\n")
            .initializer("$T.LAYOUT", GeneratedTypes.FLOAT_TENSOR)
            .build());
    type.addField(
        FieldSpec.builder(names.weights(), "weights", Modifier.PRIVATE, Modifier.FINAL).build());
    type.addField(
        FieldSpec.builder(TypeName.INT, "capacity", Modifier.PRIVATE)
            .addJavadoc("Rows the activation buffers hold.\n")
            .build());
    type.addFields(buffers.fields());

    type.addMethod(
        MethodSpec.constructorBuilder()
            .addModifiers(Modifier.PUBLIC)
            .addJavadoc(
                "A decoder over {@code weights}, with a KV cache preallocated for MAX_BATCH_SIZE x\n")
            .addJavadoc("MAX_POSITION_EMBEDDINGS positions ($L bytes).\n", spec.kvCacheBytes())
            .addParameter(names.weights(), "weights")
            .addStatement("super(SPEC)")
            .addStatement("this.weights = weights")
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("random")
            .addModifiers(Modifier.PUBLIC, Modifier.STATIC)
            .returns(self)
            .addParameter(TypeName.LONG, "seed")
            .addJavadoc("A decoder over seeded random weights.\n")
            .addStatement("return new $T($T.random(seed))", self, names.weights())
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("weights")
            .addModifiers(Modifier.PUBLIC)
            .returns(names.weights())
            .addStatement("return weights")
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("chunkRows")
            .addAnnotation(Override.class)
            .addModifiers(Modifier.PROTECTED)
            .returns(TypeName.INT)
            .addJavadoc(
                "Rows per forward call: 128, twice {@code GeneratedDecoder.CHUNK_ROWS}, so that the threads\n")
            .addJavadoc(
                "meet once per projection for twice the rows (a 128-token prompt is one call).\n")
            .addStatement("return 128")
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("kernelMatrices")
            .addAnnotation(Override.class)
            .addModifiers(Modifier.PUBLIC)
            .returns(KERNEL_MATRICES_TYPE)
            .addStatement("return KERNEL_MATRICES")
            .build());
    type.addMethod(forward(methodNames, emitter.usesRope()));
    type.addMethods(kernels);
    type.addMethod(buffers.ensureCapacity());
    if (emitter.usesRmsNorm()) {
      type.addMethod(rmsNorm(spec.rmsNormUnitOffset()));
    }
    for (dev.kiln.Activation activation : emitter.activations()) {
      type.addMethod(
          switch (activation) {
            case SILU -> silu();
            case GELU_TANH -> geluTanh();
          });
    }
    return GeneratedFile.of(names, type.build());
  }

  private static final ParameterizedTypeName KERNEL_MATRICES_TYPE =
      ParameterizedTypeName.get(
          ClassName.get(Map.class),
          ClassName.get(String.class),
          ParameterizedTypeName.get(ClassName.get(List.class), GeneratedTypes.TENSOR_KIND));

  /**
   * {@code KERNEL_MATRICES}: each kernel method's weight matrices (its Linear ops' weights), for
   * bandwidth figures.
   */
  private FieldSpec kernelMatricesField(Map<Kernel, String> methodNames) {
    List<CodeBlock> entries = new ArrayList<>();
    for (Kernel kernel : plan.sections().stream().flatMap(List::stream).toList()) {
      List<CodeBlock> kinds =
          kernel.opsOf(Op.Linear.class).stream()
              .map(
                  linear ->
                      CodeBlock.of(
                          "$T.$L",
                          linear.weight() instanceof LayerTensor
                              ? GeneratedTypes.LAYER_TENSOR
                              : GeneratedTypes.GLOBAL_TENSOR,
                          ((Enum<?>) linear.weight()).name()))
              .toList();
      entries.add(
          CodeBlock.of(
              "$T.entry($S, $T.of($L))",
              Map.class,
              methodNames.get(kernel),
              List.class,
              CodeBlock.join(kinds, ", ")));
    }
    return FieldSpec.builder(
            KERNEL_MATRICES_TYPE,
            "KERNEL_MATRICES",
            Modifier.PUBLIC,
            Modifier.STATIC,
            Modifier.FINAL)
        .addJavadoc(
            "The weight matrices each kernel multiplies by, by kernel method (for bandwidth figures).\n")
        .initializer("$T.ofEntries(\n$>$>$L$<$<)", Map.class, CodeBlock.join(entries, ",\n"))
        .build();
  }

  private void classJavadoc(TypeSpec.Builder type, Map<Kernel, String> methodNames) {
    type.addJavadoc(
        "Decoder for {@link $L}, generated by Kiln: every shape is a constant, and each step runs\n",
        names.specType());
    type.addJavadoc(
        "$L fused kernel$L per layer.\n", plan.layer().size(), plan.layer().size() == 1 ? "" : "s");
    String[] headings = {
      "Before the layers", "Each of the NUM_HIDDEN_LAYERS layers", "After the layers"
    };
    for (int s = 0; s < 3; s++) {
      type.addJavadoc("\n<p>$L:\n<ol>\n", headings[s]);
      for (Kernel kernel : plan.sections().get(s)) {
        type.addJavadoc(
            "  <li>{@code $L}: $L\n", methodNames.get(kernel), kernel.fusionDescription());
      }
      type.addJavadoc("</ol>\n");
    }
    type.addJavadoc(
        "\n<p>The KV cache holds, per layer, keys and values of (MAX_BATCH_SIZE, MAX_POSITION_EMBEDDINGS, KV_DIM).\n");
  }

  private MethodSpec forward(Map<Kernel, String> methodNames, boolean rope) {
    MethodSpec.Builder method =
        MethodSpec.methodBuilder("forward")
            .addAnnotation(Override.class)
            .addModifiers(Modifier.PROTECTED)
            .addParameter(GeneratedTypes.ROWS, "rows")
            .addParameter(GeneratedTypes.KV_CACHE, "cache")
            .addStatement("ensureCapacity(rows.count())")
            .addComment(
                "When the kernel profile is on, each kernel's wall time goes to it (a lap after each call)")
            .addStatement("long time = profile.start()");
    if (rope) {
      method
          .addComment(
              "RoPE angles of each row's position, once for every layer and for both q and k")
          .beginControlFlow("for (int r = 0; r < rows.count(); r++)")
          .addStatement(
              "$T.ropeAngles(rows.position(r), ropeCos, ropeSin, r * (HEAD_DIM / 2))",
              names.attention())
          .endControlFlow()
          .addStatement("time = profile.lap($S, time)", "ropeAngles");
    }
    for (Kernel kernel : plan.prologue()) {
      call(method, kernel, methodNames);
    }
    method
        .beginControlFlow("for (int layer = 0; layer < NUM_HIDDEN_LAYERS; layer++)")
        .addStatement("$T w = weights.layer(layer)", names.weights().nestedClass("Layer"))
        .addStatement("$T keyCache = cache.keys(layer)", ArrayTypeName.of(TypeName.FLOAT))
        .addStatement("$T valueCache = cache.values(layer)", ArrayTypeName.of(TypeName.FLOAT));
    for (Kernel kernel : plan.layer()) {
      call(method, kernel, methodNames);
    }
    method.endControlFlow();
    for (Kernel kernel : plan.epilogue()) {
      call(method, kernel, methodNames);
    }
    return method.build();
  }

  private static void call(
      MethodSpec.Builder method, Kernel kernel, Map<Kernel, String> methodNames) {
    method
        .addStatement(
            "$N($L)",
            methodNames.get(kernel),
            String.join(", ", KernelEmitter.parameterNames(kernel)))
        .addStatement("time = profile.lap($S, time)", methodNames.get(kernel));
  }

  private static MethodSpec rmsNorm(boolean unitOffset) {
    MethodSpec.Builder method =
        MethodSpec.methodBuilder("rmsNorm")
            .addModifiers(Modifier.PRIVATE, Modifier.STATIC)
            .addJavadoc(
                "One row: {@code out = in / sqrt(mean(in^2) + RMS_NORM_EPS) * $L}, over HIDDEN_SIZE elements (the\n",
                unitOffset ? "(1 + gain)" : "gain")
            .addJavadoc("runtime's vector kernel).\n")
            .addParameter(ArrayTypeName.of(TypeName.FLOAT), "in")
            .addParameter(TypeName.INT, "inStart")
            .addParameter(GeneratedTypes.MEMORY_SEGMENT, "gain")
            .addParameter(ArrayTypeName.of(TypeName.FLOAT), "out")
            .addParameter(TypeName.INT, "outStart")
            .addStatement(
                "$T.rmsNorm(in, inStart, gain, out, outStart, HIDDEN_SIZE, RMS_NORM_EPS$L)",
                GeneratedTypes.VECTOR_KERNELS,
                unitOffset ? ", 1f" : "");
    return method.build();
  }

  private static MethodSpec geluTanh() {
    return MethodSpec.methodBuilder("geluTanh")
        .addModifiers(Modifier.PRIVATE, Modifier.STATIC)
        .addJavadoc(
            "GELU, tanh approximation: {@code 0.5 v (1 + tanh(sqrt(2 / pi) (v + 0.044715 v^3)))}.\n")
        .returns(TypeName.FLOAT)
        .addParameter(TypeName.FLOAT, "v")
        .addStatement(
            "return 0.5f * v * (1f + (float) Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))")
        .build();
  }

  private static MethodSpec silu() {
    return MethodSpec.methodBuilder("silu")
        .addModifiers(Modifier.PRIVATE, Modifier.STATIC)
        .addJavadoc("{@code v * sigmoid(v)}.\n")
        .returns(TypeName.FLOAT)
        .addParameter(TypeName.FLOAT, "v")
        .addStatement("return v / (1f + (float) Math.exp(-v))")
        .build();
  }
}
