package dev.kiln.processor.backend.java;

import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.FieldSpec;
import com.palantir.javapoet.TypeName;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.spec.SpecDraft;
import dev.kiln.spec.SpecElement;
import java.util.ArrayList;
import java.util.List;
import javax.lang.model.element.Modifier;

/** The spec's numbers as named constants of generated classes, each documented with where it comes from. */
public final class SpecConstants {
  private SpecConstants() {}

  /** Constants of a decoder class. */
  public static List<FieldSpec> decoder(ResolvedSpec spec) {
    List<FieldSpec> fields = new ArrayList<>();
    fields.add(intConstant("VOCAB_SIZE", spec.vocabSize(), "vocabSize"));
    fields.add(intConstant("HIDDEN_SIZE", spec.hiddenSize(), "hiddenSize"));
    if (spec.mlp() == MlpKind.SWIGLU) {
      fields.add(intConstant("INTERMEDIATE_SIZE", spec.intermediateSize(), "intermediateSize"));
    }
    fields.add(intConstant("NUM_HIDDEN_LAYERS", spec.numHiddenLayers(), "numHiddenLayers"));
    fields.addAll(heads(spec));
    fields.add(intConstant("Q_DIM", spec.qDim(), "numAttentionHeads x headDim: width of all query heads"));
    fields.add(intConstant("MAX_POSITION_EMBEDDINGS", spec.maxPositionEmbeddings(), "maxPositionEmbeddings"));
    fields.add(intConstant("MAX_BATCH_SIZE", spec.maxBatchSize(), "maxBatchSize"));
    if (spec.norm() == NormKind.RMS_NORM) {
      fields.add(FieldSpec.builder(TypeName.DOUBLE, "RMS_NORM_EPS", Modifier.STATIC, Modifier.FINAL)
          .addJavadoc("rmsNormEps\n")
          .initializer("$L", doubleLiteral(spec.rmsNormEps()))
          .build());
    }
    if (spec.scaleEmbeddings()) {
      fields.add(FieldSpec.builder(TypeName.FLOAT, "EMBEDDING_SCALE", Modifier.STATIC, Modifier.FINAL)
          .addJavadoc("sqrt(HIDDEN_SIZE) in float32 (scaleEmbeddings): what token embeddings are multiplied by\n")
          .initializer("$Lf", Float.toString((float) Math.sqrt(spec.hiddenSize())))
          .build());
    }
    if (spec.finalLogitSoftcapping() > 0) {
      fields.add(floatConstant("FINAL_LOGIT_SOFTCAPPING", spec.finalLogitSoftcapping(), "finalLogitSoftcapping"));
    }
    if (spec.slidingWindow() > 0) {
      fields.add(intConstant("SLIDING_WINDOW", spec.slidingWindow(),
          "slidingWindow: positions a query of a sliding layer sees, itself included (slidingWindowLayers = "
              + spec.slidingWindowLayers() + ")"));
    }
    return fields;
  }

  /** Constants of an attention class. */
  public static List<FieldSpec> attention(ResolvedSpec spec) {
    List<FieldSpec> fields = new ArrayList<>(heads(spec));
    fields.add(2, intConstant("KV_GROUP_SIZE", spec.kvGroupSize(), "numAttentionHeads / numKeyValueHeads: query heads per key/value head"));
    fields.add(FieldSpec.builder(TypeName.FLOAT, "ATTENTION_SCALE", Modifier.STATIC, Modifier.FINAL)
        .addJavadoc(spec.queryPreAttnScalar() == spec.headDim() ? "1 / sqrt(HEAD_DIM)\n" : "1 / sqrt(queryPreAttnScalar)\n")
        .initializer("$Lf", Float.toString((float) spec.attentionScale()))
        .build());
    if (spec.attnLogitSoftcapping() > 0) {
      fields.add(floatConstant("ATTN_LOGIT_SOFTCAPPING", spec.attnLogitSoftcapping(), "attnLogitSoftcapping"));
    }
    if (spec.positionEncoding() == PositionEncoding.ROPE) {
      fields.add(FieldSpec.builder(TypeName.DOUBLE, "ROPE_THETA", Modifier.STATIC, Modifier.FINAL)
          .addJavadoc("ropeTheta\n")
          .initializer("$L", doubleLiteral(spec.ropeTheta()))
          .build());
    }
    return fields;
  }

  private static List<FieldSpec> heads(ResolvedSpec spec) {
    boolean derivedHeadDim = spec.headDim() * spec.numAttentionHeads() == spec.hiddenSize();
    return List.of(
        intConstant("NUM_ATTENTION_HEADS", spec.numAttentionHeads(), "numAttentionHeads"),
        intConstant("NUM_KEY_VALUE_HEADS", spec.numKeyValueHeads(),
            spec.numKeyValueHeads() == spec.numAttentionHeads() ? "numKeyValueHeads (= numAttentionHeads: no GQA)" : "numKeyValueHeads"),
        intConstant("HEAD_DIM", spec.headDim(), derivedHeadDim ? "headDim (= hiddenSize / numAttentionHeads)" : "headDim"),
        intConstant("KV_DIM", spec.kvDim(), "numKeyValueHeads x headDim: width of all key (or value) heads"));
  }

  private static FieldSpec floatConstant(String name, double value, String origin) {
    return FieldSpec.builder(TypeName.FLOAT, name, Modifier.STATIC, Modifier.FINAL)
        .addJavadoc("$L\n", origin)
        .initializer("$Lf", Float.toString((float) value))
        .build();
  }

  private static FieldSpec intConstant(String name, int value, String origin) {
    return FieldSpec.builder(TypeName.INT, name, Modifier.STATIC, Modifier.FINAL)
        .addJavadoc("$L\n", origin)
        .initializer("$L", value)
        .build();
  }

  /** {@code ResolvedSpec.builder().vocabSize(100)...build()}, every element spelled out. */
  static CodeBlock specInitializer(ResolvedSpec spec) {
    CodeBlock.Builder code = CodeBlock.builder().add("$T.builder()", JavaTypes.MODEL_SPEC).indent();
    SpecDraft draft = spec.toDraft();
    for (SpecElement element : SpecElement.values()) {
      Object value = draft.value(element);
      code.add("\n.$L(", element.elementName());
      switch (value) {
        case Enum<?> e -> code.add("$T.$L", e.getDeclaringClass(), e.name());
        case Double d -> code.add("$L", doubleLiteral(d));
        case Long l when l == Long.MAX_VALUE -> code.add("$T.MAX_VALUE", Long.class);
        case Long l -> code.add("$LL", l);
        default -> code.add("$L", value);
      }
      code.add(")");
    }
    return code.add("\n.build()").unindent().build();
  }

  static String doubleLiteral(double value) {
    return Double.toString(value);
  }
}
