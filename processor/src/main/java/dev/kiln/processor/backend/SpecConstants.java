package dev.kiln.processor.backend;

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
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import javax.lang.model.element.Modifier;

/**
 * The spec's numbers as named constants of generated classes, each documented with where it comes
 * from. A constant that holds a spec element is named after it ({@code vocabSize} is {@code
 * VOCAB_SIZE}); the others are derived from elements and say how. Each constant knows which code
 * reads it ({@link Reader}), so a class takes exactly the constants its code reads.
 */
public final class SpecConstants {
  /** The code that reads a constant. */
  public enum Reader {
    /** The decoder's kernels (shapes, norms, embeddings, logits). */
    DECODER,
    /** The attention kernel and RoPE. */
    ATTENTION
  }

  /** One constant and the code that reads it. */
  public record Constant(FieldSpec field, Set<Reader> readers) {
    public boolean readBy(Reader reader) {
      return readers.contains(reader);
    }
  }

  private SpecConstants() {}

  /** Constants read by {@code reader}, in declaration order. */
  public static List<FieldSpec> readBy(ResolvedSpec spec, Reader reader) {
    return all(spec).stream().filter(c -> c.readBy(reader)).map(Constant::field).toList();
  }

  /** Every constant the spec has a use for, each once, for a class that holds all the kernels. */
  public static List<FieldSpec> fields(ResolvedSpec spec) {
    return all(spec).stream().map(Constant::field).toList();
  }

  /** Every constant the spec has a use for, with its readers. */
  public static List<Constant> all(ResolvedSpec spec) {
    SpecDraft draft = spec.toDraft();
    Set<Reader> decoder = EnumSet.of(Reader.DECODER);
    Set<Reader> attention = EnumSet.of(Reader.ATTENTION);
    Set<Reader> both = EnumSet.allOf(Reader.class);
    List<Constant> constants = new ArrayList<>();
    constants.add(element(draft, SpecElement.VOCAB_SIZE, decoder));
    constants.add(element(draft, SpecElement.HIDDEN_SIZE, decoder));
    if (spec.mlp() == MlpKind.SWIGLU) {
      constants.add(element(draft, SpecElement.INTERMEDIATE_SIZE, decoder));
    }
    constants.add(element(draft, SpecElement.NUM_HIDDEN_LAYERS, decoder));
    constants.add(element(draft, SpecElement.NUM_ATTENTION_HEADS, both));
    constants.add(
        new Constant(
            intConstant(
                SpecElement.NUM_KEY_VALUE_HEADS.name(),
                spec.numKeyValueHeads(),
                spec.numKeyValueHeads() == spec.numAttentionHeads()
                    ? "numKeyValueHeads (= numAttentionHeads: no GQA)"
                    : "numKeyValueHeads"),
            both));
    constants.add(
        new Constant(
            intConstant(
                "KV_GROUP_SIZE",
                spec.kvGroupSize(),
                "numAttentionHeads / numKeyValueHeads: query heads per key/value head"),
            attention));
    boolean derivedHeadDim = spec.headDim() * spec.numAttentionHeads() == spec.hiddenSize();
    constants.add(
        new Constant(
            intConstant(
                SpecElement.HEAD_DIM.name(),
                spec.headDim(),
                derivedHeadDim ? "headDim (= hiddenSize / numAttentionHeads)" : "headDim"),
            both));
    constants.add(
        new Constant(
            intConstant(
                "KV_DIM",
                spec.kvDim(),
                "numKeyValueHeads x headDim: width of all key (or value) heads"),
            both));
    constants.add(
        new Constant(
            intConstant(
                "Q_DIM", spec.qDim(), "numAttentionHeads x headDim: width of all query heads"),
            decoder));
    constants.add(element(draft, SpecElement.MAX_POSITION_EMBEDDINGS, decoder));
    constants.add(element(draft, SpecElement.MAX_BATCH_SIZE, decoder));
    if (spec.norm() == NormKind.RMS_NORM) {
      constants.add(element(draft, SpecElement.RMS_NORM_EPS, decoder));
    }
    if (spec.scaleEmbeddings()) {
      constants.add(
          new Constant(
              FieldSpec.builder(TypeName.FLOAT, "EMBEDDING_SCALE", Modifier.STATIC, Modifier.FINAL)
                  .addJavadoc(
                      "sqrt(HIDDEN_SIZE) in float32 (scaleEmbeddings): what token embeddings are multiplied by\n")
                  .initializer("$Lf", Float.toString((float) Math.sqrt(spec.hiddenSize())))
                  .build(),
              decoder));
    }
    if (spec.finalLogitSoftcapping() > 0) {
      constants.add(element(draft, SpecElement.FINAL_LOGIT_SOFTCAPPING, decoder));
    }
    if (spec.slidingWindow() > 0) {
      constants.add(
          new Constant(
              intConstant(
                  SpecElement.SLIDING_WINDOW.name(),
                  spec.slidingWindow(),
                  "slidingWindow: positions a query of a sliding layer sees, itself included (slidingWindowLayers = "
                      + spec.slidingWindowLayers()
                      + ")"),
              decoder));
    }
    constants.add(
        new Constant(
            FieldSpec.builder(TypeName.FLOAT, "ATTENTION_SCALE", Modifier.STATIC, Modifier.FINAL)
                .addJavadoc(
                    spec.queryPreAttnScalar() == spec.headDim()
                        ? "1 / sqrt(HEAD_DIM)\n"
                        : "1 / sqrt(queryPreAttnScalar)\n")
                .initializer("$Lf", Float.toString((float) spec.attentionScale()))
                .build(),
            attention));
    if (spec.attnLogitSoftcapping() > 0) {
      constants.add(element(draft, SpecElement.ATTN_LOGIT_SOFTCAPPING, attention));
    }
    if (spec.positionEncoding() == PositionEncoding.ROPE) {
      constants.add(element(draft, SpecElement.ROPE_THETA, attention));
    }
    return constants;
  }

  /**
   * The constant holding a spec element, named after it: an {@code int} for an integer element, a
   * {@code double} for epsilon and theta, a {@code float} for the soft-capping limits (the kernels'
   * arithmetic type).
   */
  private static Constant element(SpecDraft draft, SpecElement element, Set<Reader> readers) {
    Object value = draft.value(element);
    FieldSpec field =
        switch (value) {
          case Integer i -> intConstant(element.name(), i, element.elementName());
          case Double d
              when element == SpecElement.RMS_NORM_EPS || element == SpecElement.ROPE_THETA ->
              FieldSpec.builder(TypeName.DOUBLE, element.name(), Modifier.STATIC, Modifier.FINAL)
                  .addJavadoc("$L\n", element.elementName())
                  .initializer("$L", doubleLiteral(d))
                  .build();
          case Double d ->
              FieldSpec.builder(TypeName.FLOAT, element.name(), Modifier.STATIC, Modifier.FINAL)
                  .addJavadoc("$L\n", element.elementName())
                  .initializer("$Lf", Float.toString((float) d.doubleValue()))
                  .build();
          default ->
              throw new IllegalStateException(
                  "[Kiln/Internal] no constant for " + element + " = " + value);
        };
    return new Constant(field, readers);
  }

  private static FieldSpec intConstant(String name, int value, String origin) {
    return FieldSpec.builder(TypeName.INT, name, Modifier.STATIC, Modifier.FINAL)
        .addJavadoc("$L\n", origin)
        .initializer("$L", value)
        .build();
  }

  /** {@code ResolvedSpec.builder().vocabSize(100)...build()}, every element spelled out. */
  public static CodeBlock specInitializer(ResolvedSpec spec) {
    CodeBlock.Builder code =
        CodeBlock.builder().add("$T.builder()", GeneratedTypes.MODEL_SPEC).indent();
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

  public static String doubleLiteral(double value) {
    return Double.toString(value);
  }
}
