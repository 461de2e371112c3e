package dev.kiln.processor.backend.java;

import com.palantir.javapoet.ArrayTypeName;
import com.palantir.javapoet.FieldSpec;
import com.palantir.javapoet.JavaFile;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.TypeName;
import com.palantir.javapoet.TypeSpec;
import dev.kiln.PositionEncoding;
import dev.kiln.RopeScaling;
import dev.kiln.ScoreNormalization;
import dev.kiln.processor.GeneratedNames;
import dev.kiln.processor.backend.GeneratedFile;
import dev.kiln.processor.backend.GeneratedTypes;
import dev.kiln.processor.backend.SpecConstants;
import dev.kiln.spec.ResolvedSpec;
import javax.lang.model.element.Modifier;

/**
 * Emits {@code XAttention}: the attention kernel and RoPE specialized to the spec's heads, kv heads
 * and head dim, all constants.
 */
final class AttentionWriter {
  private static final TypeName FLOATS = ArrayTypeName.of(TypeName.FLOAT);

  /**
   * Positions per attention tile: enough for the vector exp and the register-held V sums to pay
   * off, few enough that a tile's scores stay in the L1 cache next to its keys and values.
   */
  static final int ATTENTION_TILE = 32;

  private final ResolvedSpec spec;
  private final GeneratedNames names;

  AttentionWriter(ResolvedSpec spec, GeneratedNames names) {
    this.spec = spec;
    this.names = names;
  }

  JavaFile write() {
    boolean rope = spec.positionEncoding() == PositionEncoding.ROPE;
    TypeSpec.Builder type =
        GeneratedFile.publicFinalClass(names.attention(), names)
            .addJavadoc(
                "Attention of {@link $L}, specialized: $L query head$L sharing $L key/value head$L (groups of $L),\n",
                names.specType(),
                spec.numAttentionHeads(),
                plural(spec.numAttentionHeads()),
                spec.numKeyValueHeads(),
                plural(spec.numKeyValueHeads()),
                spec.kvGroupSize())
            .addJavadoc(
                "head dim $L, $L, $L.\n",
                spec.headDim(),
                spec.causalMask() ? "causal" : "no mask",
                spec.scoreNormalization() == ScoreNormalization.SOFTMAX
                    ? "softmax"
                    : "raw scaled scores (no softmax)")
            .addFields(SpecConstants.readBy(spec, SpecConstants.Reader.ATTENTION))
            .addField(
                FieldSpec.builder(TypeName.INT, "ATTENTION_TILE", Modifier.STATIC, Modifier.FINAL)
                    .addJavadoc(
                        "Cached positions whose scores are computed, weighted and applied to V together (one tile).\n")
                    .initializer("$L", ATTENTION_TILE)
                    .build())
            .addMethod(MethodSpec.constructorBuilder().addModifiers(Modifier.PRIVATE).build());
    if (rope && spec.ropeScaling() != RopeScaling.NONE) {
      // Scaled frequencies are computed here, at build time, and written out as constants.
      type.addField(
          FieldSpec.builder(
                  ArrayTypeName.of(TypeName.DOUBLE),
                  "INV_FREQ",
                  Modifier.PRIVATE,
                  Modifier.STATIC,
                  Modifier.FINAL)
              .addJavadoc(
                  "RoPE frequencies ROPE_THETA^(-2i / HEAD_DIM) with $L scaling (ropeScalingFactor $L$L), (HEAD_DIM / 2)\n",
                  spec.ropeScaling(),
                  spec.ropeScalingFactor(),
                  spec.ropeScaling() == RopeScaling.LLAMA3
                      ? ", low/high frequency factors "
                          + spec.ropeScalingLowFreqFactor()
                          + "/"
                          + spec.ropeScalingHighFreqFactor()
                          + ", original context "
                          + spec.ropeScalingOriginalMaxPositionEmbeddings()
                      : "")
              .initializer("{\n$>$L$<\n}", frequencyLiterals(spec.ropeInverseFrequencies()))
              .build());
    } else if (rope) {
      type.addField(
          FieldSpec.builder(
                  ArrayTypeName.of(TypeName.DOUBLE),
                  "INV_FREQ",
                  Modifier.PRIVATE,
                  Modifier.STATIC,
                  Modifier.FINAL)
              .addJavadoc("RoPE frequencies ROPE_THETA^(-2i / HEAD_DIM), (HEAD_DIM / 2)\n")
              .initializer("inverseFrequencies()")
              .build());
      type.addMethod(inverseFrequencies());
    }
    if (rope) {
      type.addMethod(ropeAngles());
      type.addMethod(applyRope());
    }
    type.addMethod(attend());
    return GeneratedFile.of(names, type.build());
  }

  /** The frequencies as exact double literals, four to a line. */
  private static String frequencyLiterals(double[] frequencies) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < frequencies.length; i++) {
      out.append(Double.toString(frequencies[i])).append(i + 1 < frequencies.length ? "," : "");
      out.append(i + 1 < frequencies.length ? (i % 4 == 3 ? "\n" : " ") : "");
    }
    return out.toString();
  }

  private static String plural(int n) {
    return n == 1 ? "" : "s";
  }

  private MethodSpec inverseFrequencies() {
    return MethodSpec.methodBuilder("inverseFrequencies")
        .addModifiers(Modifier.PRIVATE, Modifier.STATIC)
        .returns(ArrayTypeName.of(TypeName.DOUBLE))
        .addStatement("double[] frequencies = new double[HEAD_DIM / 2]")
        .beginControlFlow("for (int i = 0; i < frequencies.length; i++)")
        .addStatement("frequencies[i] = Math.pow(ROPE_THETA, -2.0 * i / HEAD_DIM)")
        .endControlFlow()
        .addStatement("return frequencies")
        .build();
  }

  private MethodSpec ropeAngles() {
    return MethodSpec.methodBuilder("ropeAngles")
        .addModifiers(Modifier.STATIC)
        .addJavadoc(
            "The RoPE angles of {@code position}, {@code position x INV_FREQ[i]} for each pair i, as cos and sin\n")
        .addJavadoc(
            "at {@code cos[at + i]}, {@code sin[at + i]}: computed once per row and forward call, then shared by\n")
        .addJavadoc("every layer's q and k.\n")
        .addParameter(TypeName.INT, "position")
        .addParameter(FLOATS, "cos")
        .addParameter(FLOATS, "sin")
        .addParameter(TypeName.INT, "at")
        .beginControlFlow("for (int i = 0; i < HEAD_DIM / 2; i++)")
        .addStatement("double angle = position * INV_FREQ[i]")
        .addStatement("cos[at + i] = (float) Math.cos(angle)")
        .addStatement("sin[at + i] = (float) Math.sin(angle)")
        .endControlFlow()
        .build();
  }

  private MethodSpec applyRope() {
    return MethodSpec.methodBuilder("applyRope")
        .addModifiers(Modifier.STATIC)
        .addJavadoc("RoPE, rotating the two halves of each head as Hugging Face Llama does: pair\n")
        .addJavadoc(
            "(i, i + HEAD_DIM / 2) of each of {@code heads} heads at {@code vector[start]} turns by the angle\n")
        .addJavadoc(
            "whose cos and sin are {@code cos[at + i]}, {@code sin[at + i]} (see {@link #ropeAngles}).\n")
        .addParameter(FLOATS, "vector")
        .addParameter(TypeName.INT, "start")
        .addParameter(TypeName.INT, "heads")
        .addParameter(FLOATS, "cos")
        .addParameter(FLOATS, "sin")
        .addParameter(TypeName.INT, "at")
        .beginControlFlow("for (int head = 0; head < heads; head++)")
        .beginControlFlow("for (int i = 0; i < HEAD_DIM / 2; i++)")
        .addStatement("int first = start + head * HEAD_DIM + i")
        .addStatement("int second = first + HEAD_DIM / 2")
        .addStatement("float a = vector[first]")
        .addStatement("float b = vector[second]")
        .addStatement("vector[first] = a * cos[at + i] - b * sin[at + i]")
        .addStatement("vector[second] = b * cos[at + i] + a * sin[at + i]")
        .endControlFlow()
        .endControlFlow()
        .build();
  }

  private MethodSpec attend() {
    boolean softmax = spec.scoreNormalization() == ScoreNormalization.SOFTMAX;
    MethodSpec.Builder method =
        MethodSpec.methodBuilder("attendHeads").addModifiers(Modifier.STATIC);
    String scores =
        (spec.queryPreAttnScalar() == spec.headDim()
                ? "q.k / sqrt(HEAD_DIM)"
                : "q.k x ATTENTION_SCALE")
            + (spec.attnLogitSoftcapping() > 0 ? " soft-capped by ATTN_LOGIT_SOFTCAPPING" : "");
    String range = spec.slidingWindow() > 0 ? "[start, end)" : "[0, end)";
    if (softmax) {
      method
          .addJavadoc(
              "Fuses scores $L, the $L, softmax and the weighted sum of V into one\n",
              scores,
              spec.causalMask()
                  ? "causal mask (positions " + range + ")"
                  : "attended range " + range)
          .addJavadoc(
              "pass over the cache, ATTENTION_TILE positions at a time: an online softmax keeps each head's\n")
          .addJavadoc(
              "running max and sum and rescales the output accumulated so far when a tile raises the max;\n")
          .addJavadoc(
              "a tile's scores become weights with one vector exp and are applied to its values with the\n")
          .addJavadoc("output held in registers.\n");
    } else {
      method
          .addJavadoc(
              "Fuses scores $L over positions $L and their weighted sum of V (raw scores,\n",
              scores,
              range)
          .addJavadoc(
              "no softmax) into one pass over the cache, ATTENTION_TILE positions at a time.\n");
    }
    method
        .addJavadoc(
            "\n<p>Query heads {@code [firstHead, lastHead)} of one row, tile by tile and each tile head by head,\n")
        .addJavadoc(
            "so that the heads' neighbouring slices of a cached position are read together: q\n")
        .addJavadoc(
            "(NUM_ATTENTION_HEADS, HEAD_DIM) at {@code q[qStart]}; keys and values (positions, KV_DIM) from\n")
        .addJavadoc(
            "{@code keys[sequenceStart]}, {@code values[sequenceStart]}, kv head {@code head / KV_GROUP_SIZE};\n")
        .addJavadoc("out (NUM_ATTENTION_HEADS, HEAD_DIM) at {@code out[outStart]}.\n")
        .addParameter(TypeName.INT, "firstHead")
        .addParameter(TypeName.INT, "lastHead")
        .addParameter(FLOATS, "q")
        .addParameter(TypeName.INT, "qStart")
        .addParameter(FLOATS, "keys")
        .addParameter(FLOATS, "values")
        .addParameter(TypeName.INT, "sequenceStart");
    boolean windowed = spec.slidingWindow() > 0;
    if (windowed) {
      method.addParameter(TypeName.INT, "start");
    }
    method
        .addParameter(TypeName.INT, "end")
        .addParameter(FLOATS, "out")
        .addParameter(TypeName.INT, "outStart");
    method
        .addStatement(
            "$T.fill(out, outStart + firstHead * HEAD_DIM, outStart + lastHead * HEAD_DIM, 0f)",
            java.util.Arrays.class)
        .addStatement("float[] scores = new float[ATTENTION_TILE]");
    if (softmax) {
      method
          .addStatement("float[] max = new float[lastHead - firstHead]")
          .addStatement("float[] sum = new float[lastHead - firstHead]")
          .addStatement("$T.fill(max, Float.NEGATIVE_INFINITY)", java.util.Arrays.class);
    }
    method
        .beginControlFlow(
            windowed
                ? "for (int tile = start; tile < end; tile += ATTENTION_TILE)"
                : "for (int tile = 0; tile < end; tile += ATTENTION_TILE)")
        .addStatement("int count = Math.min(ATTENTION_TILE, end - tile)")
        .beginControlFlow("for (int head = firstHead; head < lastHead; head++)")
        .addStatement("int qHead = qStart + head * HEAD_DIM")
        .addStatement("int outHead = outStart + head * HEAD_DIM")
        .addStatement("int kvHead = sequenceStart + head / KV_GROUP_SIZE * HEAD_DIM");
    if (softmax) {
      method
          .addStatement("int h = head - firstHead")
          .addStatement("float tileMax = Float.NEGATIVE_INFINITY");
    }
    method
        .beginControlFlow("for (int j = 0; j < count; j++)")
        .addStatement(
            "float score = $T.dot(q, qHead, keys, kvHead + (tile + j) * KV_DIM, HEAD_DIM) * ATTENTION_SCALE",
            GeneratedTypes.VECTOR_KERNELS);
    if (spec.attnLogitSoftcapping() > 0) {
      method.addStatement(
          "score = ATTN_LOGIT_SOFTCAPPING * (float) Math.tanh(score / ATTN_LOGIT_SOFTCAPPING)");
    }
    method.addStatement("scores[j] = score");
    if (softmax) {
      method
          .beginControlFlow("if (score > tileMax)")
          .addStatement("tileMax = score")
          .endControlFlow();
    }
    method.endControlFlow();
    if (softmax) {
      method
          .beginControlFlow("if (tileMax > max[h])")
          .addStatement("float rescale = (float) Math.exp(max[h] - tileMax)")
          .addStatement("sum[h] *= rescale")
          .addStatement("$T.scale(rescale, out, outHead, HEAD_DIM)", GeneratedTypes.VECTOR_KERNELS)
          .addStatement("max[h] = tileMax")
          .endControlFlow()
          .addStatement(
              "sum[h] += $T.expShift(scores, 0, count, max[h])", GeneratedTypes.VECTOR_KERNELS);
    }
    method
        .addStatement(
            "$T.addWeightedRows(scores, count, values, kvHead + tile * KV_DIM, KV_DIM, out, outHead, HEAD_DIM)",
            GeneratedTypes.VECTOR_KERNELS)
        .endControlFlow()
        .endControlFlow();
    if (softmax) {
      method
          .beginControlFlow("for (int head = firstHead; head < lastHead; head++)")
          .addStatement(
              "$T.scale(1f / sum[head - firstHead], out, outStart + head * HEAD_DIM, HEAD_DIM)",
              GeneratedTypes.VECTOR_KERNELS)
          .endControlFlow();
    }
    return method.build();
  }
}
