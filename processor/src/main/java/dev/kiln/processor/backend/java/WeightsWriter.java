package dev.kiln.processor.backend.java;

import com.palantir.javapoet.ArrayTypeName;
import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.FieldSpec;
import com.palantir.javapoet.JavaFile;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.TypeName;
import com.palantir.javapoet.TypeSpec;
import dev.kiln.processor.GeneratedNames;
import dev.kiln.processor.backend.GeneratedFile;
import dev.kiln.processor.backend.GeneratedTypes;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.Dim;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.TensorKind;
import java.util.stream.Collectors;
import javax.lang.model.element.Modifier;

/**
 * Emits {@code XWeights}: typed fields for every tensor of the spec, named and shaped as in Hugging
 * Face.
 */
final class WeightsWriter {
  private final ResolvedSpec spec;
  private final GeneratedNames names;

  WeightsWriter(ResolvedSpec spec, GeneratedNames names) {
    this.spec = spec;
    this.names = names;
  }

  JavaFile write() {
    ClassName self = names.weights();
    ClassName layer = self.nestedClass("Layer");
    TypeSpec.Builder type =
        GeneratedFile.publicFinalClass(self, names)
            .addJavadoc(
                "Weights of {@link $L}, one field per tensor, with Hugging Face names and shapes.\n",
                simpleSpecName())
            .addJavadoc(
                "\n<p>Get them with {@link #random(long)}, {@link #load($T)} (a GGUF file, Hugging Face folder or\n",
                GeneratedTypes.PATH)
            .addJavadoc(
                "safetensors file, or llama2.c checkpoint, memory-mapped) or {@link #from($T)}; a tensor that is\n",
                GeneratedTypes.WEIGHTS)
            .addJavadoc(
                "missing, misshapen or unexpected, or a file made for another spec, is an\n")
            .addJavadoc("error naming it. Shapes are (out, in) for projections, as in PyTorch.\n");

    MethodSpec.Builder constructor =
        MethodSpec.constructorBuilder()
            .addModifiers(Modifier.PRIVATE)
            .addParameter(GeneratedTypes.WEIGHTS, "weights")
            .addStatement("this.weights = weights");
    for (GlobalTensor kind : GlobalTensor.values()) {
      if (kind.presentIn(spec)) {
        type.addField(tensorField(kind, kind.hfName()));
        constructor.addStatement(
            "this.$N = weights.$L($T.$L)",
            kind.fieldName(),
            accessor(kind),
            GeneratedTypes.GLOBAL_TENSOR,
            kind.name());
      }
    }
    type.addField(
        FieldSpec.builder(ArrayTypeName.of(layer), "layers", Modifier.PRIVATE, Modifier.FINAL)
            .addJavadoc("(NUM_HIDDEN_LAYERS)\n")
            .build());
    type.addField(
        FieldSpec.builder(GeneratedTypes.WEIGHTS, "weights", Modifier.PRIVATE, Modifier.FINAL)
            .build());
    constructor
        .addStatement("this.layers = new $T[$T.NUM_HIDDEN_LAYERS]", layer, names.decoder())
        .beginControlFlow("for (int i = 0; i < layers.length; i++)")
        .addStatement("layers[i] = new $T(weights, i)", layer)
        .endControlFlow();
    type.addMethod(constructor.build());
    type.addType(layerClass(layer));

    type.addMethod(
        MethodSpec.methodBuilder("random")
            .addModifiers(Modifier.PUBLIC, Modifier.STATIC)
            .returns(self)
            .addParameter(TypeName.LONG, "seed")
            .addJavadoc(
                "Seeded random weights (see {@link $T#random}); the same seed gives the same weights.\n",
                GeneratedTypes.WEIGHTS)
            .addStatement(
                "return new $T($T.random($T.SPEC, seed))",
                self,
                GeneratedTypes.WEIGHTS,
                names.decoder())
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("load")
            .addModifiers(Modifier.PUBLIC, Modifier.STATIC)
            .returns(self)
            .addParameter(GeneratedTypes.PATH, "file")
            .addJavadoc(
                "Loads a model file of any format Kiln reads (see {@code ModelFiles.open}), checked against the\n")
            .addJavadoc("spec; matrices stay in the file's element type, memory-mapped.\n")
            .addStatement(
                "return new $T($T.load($T.SPEC, file))",
                self,
                GeneratedTypes.WEIGHTS,
                names.decoder())
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("from")
            .addModifiers(Modifier.PUBLIC, Modifier.STATIC)
            .returns(self)
            .addParameter(GeneratedTypes.WEIGHTS, "weights")
            .addJavadoc(
                "Wraps weights made for this spec; weights of another spec are an error listing the differences.\n")
            .addStatement("$T.SPEC.requireSame(weights.spec())", names.decoder())
            .addStatement("return new $T(weights)", self)
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("layer")
            .addModifiers(Modifier.PUBLIC)
            .returns(layer)
            .addParameter(TypeName.INT, "index")
            .addJavadoc("The tensors of layer {@code index}.\n")
            .addStatement("return layers[index]")
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("asWeights")
            .addModifiers(Modifier.PUBLIC)
            .returns(GeneratedTypes.WEIGHTS)
            .addJavadoc("All tensors by name (what the interpreter takes).\n")
            .addStatement("return weights")
            .build());
    return GeneratedFile.of(names, type.build());
  }

  private TypeSpec layerClass(ClassName layer) {
    TypeSpec.Builder type =
        TypeSpec.classBuilder(layer)
            .addModifiers(Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
            .addJavadoc("Tensors of one decoder layer, {@code model.layers.{i}.*}.\n");
    MethodSpec.Builder constructor =
        MethodSpec.constructorBuilder()
            .addParameter(GeneratedTypes.WEIGHTS, "weights")
            .addParameter(TypeName.INT, "layer");
    for (LayerTensor kind : LayerTensor.values()) {
      if (kind.presentIn(spec)) {
        type.addField(tensorField(kind, "model.layers.{i}." + kind.suffix()));
        constructor.addStatement(
            "this.$N = weights.$L($T.$L, layer)",
            kind.fieldName(),
            accessor(kind),
            GeneratedTypes.LAYER_TENSOR,
            kind.name());
      }
    }
    return type.addMethod(constructor.build()).build();
  }

  /**
   * Matrices are {@code WeightTensor}s in their stored type (F32, F16, BF16 or block-quantized; the
   * kernels dequantize on the fly); vectors (norm gains, biases) are always {@code FloatTensor}s.
   */
  private FieldSpec tensorField(TensorKind kind, String hfName) {
    String shape =
        kind.dims().stream().map(Dim::constantName).collect(Collectors.joining(", ", "(", ")"));
    boolean matrix = kind.dims().size() > 1;
    return FieldSpec.builder(
            matrix ? GeneratedTypes.WEIGHT_TENSOR : GeneratedTypes.FLOAT_TENSOR,
            kind.fieldName(),
            Modifier.PUBLIC,
            Modifier.FINAL)
        .addJavadoc(
            "{@code $L} $L$L\n",
            hfName,
            shape,
            matrix ? ", in the file's element type" : ", float32")
        .build();
  }

  private static String accessor(TensorKind kind) {
    return kind.dims().size() > 1 ? "get" : "vector";
  }

  private String simpleSpecName() {
    return names.specType();
  }
}
