package dev.kiln.processor.backend.java;

import com.palantir.javapoet.ArrayTypeName;
import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.TypeName;
import dev.kiln.Activation;
import dev.kiln.SlidingWindowLayers;
import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.GeneratedNames;
import dev.kiln.processor.backend.GeneratedTypes;
import dev.kiln.processor.plan.Destination;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.TensorKind;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.lang.model.element.Modifier;

/**
 * Emits one Java method per kernel of the plan, from the kernel's template ({@code KernelShape}).
 * Projections loop over output features outside and rows inside, so each weight row is read once
 * for all rows of a call (four weight rows at a time), and store each output where the kernel wants
 * it (its buffer, the KV cache, the logits, or added to the stream); a one-row call writes the
 * thread's range of outputs straight there. Their epilogues act on the outputs where they are
 * produced: SiLU x up per element, per-head RMSNorm and RoPE per head, by the thread that projected
 * the head.
 */
final class KernelEmitter {
  private static final TypeName FLOATS = ArrayTypeName.of(TypeName.FLOAT);

  private final ResolvedSpec spec;
  private final GeneratedNames names;
  private final Buffers buffers;
  private boolean usesRmsNorm;
  private final Set<Activation> activations = EnumSet.noneOf(Activation.class);
  private boolean usesRope;

  KernelEmitter(ResolvedSpec spec, GeneratedNames names, Buffers buffers) {
    this.spec = spec;
    this.names = names;
    this.buffers = buffers;
  }

  boolean usesRmsNorm() {
    return usesRmsNorm;
  }

  /** The MLP activations some kernel calls (each becomes a helper method of the decoder). */
  Set<Activation> activations() {
    return activations;
  }

  /** Whether some kernel rotates by RoPE (then {@code forward} fills the per-row tables first). */
  boolean usesRope() {
    return usesRope;
  }

  /** Whether the kernel's method takes the layer's weights. */
  static boolean needsLayerWeights(Kernel kernel) {
    return kernel.ops().stream()
        .anyMatch(
            op ->
                switch (op) {
                  case Op.RmsNorm norm -> norm.gain() instanceof LayerTensor;
                  case Op.Linear linear -> linear.weight() instanceof LayerTensor;
                  default -> false;
                });
  }

  /**
   * Whether the kernel's method takes the layer's index (attention whose sliding window depends on
   * the layer).
   */
  static boolean needsLayerIndex(Kernel kernel) {
    return kernel.ops().stream()
        .anyMatch(op -> op instanceof Op.AttentionScores scores && scores.windowed());
  }

  /** Whether the kernel's method takes the layer's key and value cache arrays. */
  static boolean needsCache(Kernel kernel) {
    return kernel.ops().stream()
        .anyMatch(op -> op instanceof Op.CacheWrite || op instanceof Op.AttentionScores);
  }

  MethodSpec emit(Kernel kernel, String methodName) {
    MethodSpec.Builder method =
        MethodSpec.methodBuilder(methodName)
            .addModifiers(Modifier.PRIVATE)
            .addJavadoc(
                kernel.ops().size() > 1 ? "Fuses $L.\n" : "$L.\n", kernel.fusionDescription())
            .addParameter(GeneratedTypes.ROWS, "rows");
    if (needsLayerWeights(kernel)) {
      method.addParameter(names.weights().nestedClass("Layer"), "w");
    }
    if (needsCache(kernel)) {
      method.addParameter(FLOATS, "keyCache").addParameter(FLOATS, "valueCache");
    }
    if (needsLayerIndex(kernel)) {
      method.addParameter(TypeName.INT, "layer");
    }
    switch (kernel.shape()) {
      case EMBEDDING -> embedding(method, (Op.Embed) kernel.single());
      case RESIDUAL_ADD -> residualAdd(method, (Op.Add) kernel.single());
      case NORM_RESIDUAL_ADD ->
          normResidualAdd(method, (Op.RmsNorm) kernel.ops().get(0), (Op.Add) kernel.ops().get(1));
      case ATTENTION -> attention(method, kernel);
      case PROJECTION -> projection(method, kernel);
    }
    return method.build();
  }

  private void embedding(MethodSpec.Builder method, Op.Embed embed) {
    String out = buffers.use(embed.out());
    method
        .addJavadoc("token ids -> $L (rows, HIDDEN_SIZE)\n", out)
        .beginControlFlow("for (int r = 0; r < rows.count(); r++)")
        .addStatement(
            "weights.embedTokens.readRow(rows.token(r), $N, $L)",
            out,
            buffers.rowStart(embed.out(), "r"));
    if (embed.scaled()) {
      method.addStatement(
          "$T.scale(EMBEDDING_SCALE, $N, $L, HIDDEN_SIZE)",
          GeneratedTypes.VECTOR_KERNELS,
          out,
          buffers.rowStart(embed.out(), "r"));
    }
    method.endControlFlow();
  }

  /**
   * A residual branch's output normalized in place, then added to the stream, row by row (the norm
   * needs the whole row, so it cannot run inside the projection that produced it).
   */
  private void normResidualAdd(MethodSpec.Builder method, Op.RmsNorm norm, Op.Add add) {
    usesRmsNorm = true;
    String branch = buffers.use(norm.in());
    String normed = buffers.use(norm.out());
    String target = buffers.use(add.out());
    method
        .addJavadoc("$L += $L($L), (rows, HIDDEN_SIZE)\n", target, norm.describe(), branch)
        .addStatement(
            "$T $N = $L",
            GeneratedTypes.MEMORY_SEGMENT,
            norm.gain().fieldName(),
            tensor(norm.gain()))
        .beginControlFlow("for (int r = 0; r < rows.count(); r++)")
        .addStatement(
            "rmsNorm($N, $L, $N, $N, $L)",
            branch,
            buffers.rowStart(norm.in(), "r"),
            norm.gain().fieldName(),
            normed,
            buffers.rowStart(norm.out(), "r"))
        .beginControlFlow("for (int i = 0; i < HIDDEN_SIZE; i++)")
        .addStatement(
            "$N[$L + i] += $N[$L + i]",
            target,
            buffers.rowStart(add.out(), "r"),
            normed,
            buffers.rowStart(norm.out(), "r"))
        .endControlFlow()
        .endControlFlow();
  }

  private void residualAdd(MethodSpec.Builder method, Op.Add add) {
    String target = buffers.use(add.out());
    String addend = buffers.use(add.b());
    method
        .addJavadoc("$L += $L, (rows, HIDDEN_SIZE)\n", target, addend)
        .beginControlFlow("for (int r = 0; r < rows.count(); r++)")
        .beginControlFlow("for (int i = 0; i < HIDDEN_SIZE; i++)")
        .addStatement(
            "$N[$L + i] += $N[$L + i]",
            target,
            buffers.rowStart(add.out(), "r"),
            addend,
            buffers.rowStart(add.b(), "r"))
        .endControlFlow()
        .endControlFlow();
  }

  private void attention(MethodSpec.Builder method, Kernel kernel) {
    Op.AttentionScores scores = (Op.AttentionScores) kernel.ops().getFirst();
    Op.WeightedValues weighted = (Op.WeightedValues) kernel.ops().getLast();
    String q = buffers.use(scores.q());
    String out = buffers.use(weighted.out());
    method
        .addJavadoc(
            "$L (rows, Q_DIM) and the cache -> $L (rows, Q_DIM); see {@link $T#attendHeads}\n",
            q,
            out,
            names.attention())
        .addJavadoc(
            "Rows x heads are split across threads in chunks of whole key/value head groups; a thread's\n")
        .addJavadoc("consecutive heads of a row go together.\n")
        .addCode(
            "$T.forRange(rows.count() * NUM_ATTENTION_HEADS, $T.minChunk(2L * HEAD_DIM * rows.attendEnd(rows.count() - 1)),"
                + " $T.KV_GROUP_SIZE, (first, last) -> {\n$>",
            GeneratedTypes.PARALLEL,
            GeneratedTypes.PARALLEL,
            names.attention())
        .beginControlFlow("for (int task = first; task < last; )")
        .addStatement("int r = task / NUM_ATTENTION_HEADS")
        .addStatement("int head = task % NUM_ATTENTION_HEADS")
        .addStatement("int heads = Math.min(last - task, NUM_ATTENTION_HEADS - head)");
    String window = "";
    if (scores.windowed()) {
      boolean everyLayer = spec.slidingWindowLayers() == SlidingWindowLayers.ALL;
      method
          .addComment(
              everyLayer
                  ? "Sliding window: the last SLIDING_WINDOW positions up to this one"
                  : "Sliding window on the layers of even index: the last SLIDING_WINDOW positions up to this one")
          .addStatement(
              everyLayer
                  ? "int windowStart = Math.max(0, rows.attendEnd(r) - SLIDING_WINDOW)"
                  : "int windowStart = layer % 2 == 0 ? Math.max(0, rows.attendEnd(r) - SLIDING_WINDOW) : 0");
      window = " windowStart,";
    }
    method
        .addStatement(
            "$T.attendHeads(head, head + heads, $N, $L, keyCache, valueCache, rows.sequenceStart(r),$L"
                + " rows.attendEnd(r), $N, $L)",
            names.attention(),
            q,
            buffers.rowStart(scores.q(), "r"),
            window,
            out,
            buffers.rowStart(weighted.out(), "r"))
        .addStatement("task += heads")
        .endControlFlow()
        .addCode("$<});\n");
  }

  private void projection(MethodSpec.Builder method, Kernel kernel) {
    List<Op.Linear> linears = kernel.opsOf(Op.Linear.class);
    Optional<Op.RmsNorm> norm = kernel.opsOf(Op.RmsNorm.class).stream().findFirst();
    boolean logits = linears.stream().anyMatch(l -> l.out().equals(Value.LOGITS));
    String rowFilter = logits ? "if (!rows.wantsLogits(r)) continue" : null;

    method.addStatement("int n = rows.count()");
    if (norm.isPresent()) {
      usesRmsNorm = true;
      Op.RmsNorm rms = norm.get();
      String in = buffers.use(rms.in());
      String out = buffers.use(rms.out());
      method
          .addComment("$L of each row, into $L", rms.describe(), out)
          .addStatement(
              "$T $N = $L",
              GeneratedTypes.MEMORY_SEGMENT,
              rms.gain().fieldName(),
              tensor(rms.gain()))
          .beginControlFlow("for (int r = 0; r < n; r++)");
      if (rowFilter != null) {
        method.addStatement(rowFilter);
      }
      method
          .addStatement(
              "rmsNorm($N, $L, $N, $N, $L)",
              in,
              buffers.rowStart(rms.in(), "r"),
              rms.gain().fieldName(),
              out,
              buffers.rowStart(rms.out(), "r"))
          .endControlFlow();
    }

    List<Op.Activate> activates = kernel.opsOf(Op.Activate.class);
    Set<Value> perHead = Set.of();
    if (!activates.isEmpty()) {
      gatedProjection(method, kernel, linears, activates.getFirst());
    } else if (linears.size() > 1
        && rowFilter == null
        && linears.stream().allMatch(l -> l.in().equals(linears.getFirst().in()))) {
      perHead = sharedInputProjections(method, kernel, linears);
    } else {
      for (Op.Linear linear : linears) {
        singleProjection(method, kernel, linear, rowFilter);
      }
    }

    for (Op.HeadRmsNorm headNorm : kernel.opsOf(Op.HeadRmsNorm.class)) {
      if (perHead.contains(headNorm.target())) {
        continue;
      }
      String heads = headNorm.keyHeads() ? "NUM_KEY_VALUE_HEADS" : "NUM_ATTENTION_HEADS";
      String gain = headNorm.gain().fieldName();
      method
          .addComment(
              "$L: each of the $L heads of each row over HEAD_DIM, in place",
              headNorm.describe(),
              heads)
          .addStatement("$T $N = $L", GeneratedTypes.MEMORY_SEGMENT, gain, tensor(headNorm.gain()))
          .beginControlFlow("for (int r = 0; r < n; r++)")
          .beginControlFlow("for (int head = 0; head < $L; head++)", heads)
          .addStatement(
              "$T.rmsNorm($L + head * HEAD_DIM, $N, $L + head * HEAD_DIM, HEAD_DIM, RMS_NORM_EPS, $Lf)",
              GeneratedTypes.VECTOR_KERNELS,
              rowLocation(kernel, headNorm.target()),
              gain,
              rowLocation(kernel, headNorm.target()),
              headNorm.unitOffset() ? 1 : 0)
          .endControlFlow()
          .endControlFlow();
    }
    for (Op.Rope rope : kernel.opsOf(Op.Rope.class)) {
      if (perHead.contains(rope.target())) {
        continue;
      }
      useRope();
      String heads = rope.keyHeads() ? "NUM_KEY_VALUE_HEADS" : "NUM_ATTENTION_HEADS";
      method
          .addComment("$L at each row's position (angles from the per-row tables)", rope.describe())
          .beginControlFlow("for (int r = 0; r < n; r++)")
          .addStatement(
              "$T.applyRope($L, $L, ropeCos, ropeSin, r * (HEAD_DIM / 2))",
              names.attention(),
              rowLocation(kernel, rope.target()),
              heads)
          .endControlFlow();
    }
    if (!kernel.opsOf(Op.Softcap.class).isEmpty()) {
      softcap(method);
    }
  }

  /**
   * Soft-capping of the rows' logits, {@code FINAL_LOGIT_SOFTCAPPING * tanh(logit /
   * FINAL_LOGIT_SOFTCAPPING)}, with the vocabulary split across threads.
   */
  private void softcap(MethodSpec.Builder method) {
    method
        .addComment(
            "soft-cap(logits) of each row that wants logits, vocabulary split across threads")
        .addCode(
            "$T.forRange(VOCAB_SIZE, $T.minChunk(16L * n), (first, last) -> {\n$>",
            GeneratedTypes.PARALLEL,
            GeneratedTypes.PARALLEL)
        .beginControlFlow("for (int r = 0; r < n; r++)")
        .addStatement("if (!rows.wantsLogits(r)) continue")
        .addStatement("float[] logits = rows.logits(r)")
        .beginControlFlow("for (int o = first; o < last; o++)")
        .addStatement(
            "logits[o] = FINAL_LOGIT_SOFTCAPPING * (float) Math.tanh(logits[o] / FINAL_LOGIT_SOFTCAPPING)")
        .endControlFlow()
        .endControlFlow()
        .addCode("$<});\n");
  }

  /**
   * One projection: {@code out[r][o] = dot(W[o], in[r]) (+ bias[o])}, stored where the kernel's
   * epilogue wants it. Output features are split across the worker threads. One row (decode) takes
   * the thread's range of weight rows in one call ({@code dotRowRange}); several rows read each
   * block of four weight rows once for all rows of the call ({@code dotRowBlock}). The LM head
   * computes only rows that want logits.
   */
  private void singleProjection(
      MethodSpec.Builder method, Kernel kernel, Op.Linear linear, String rowFilter) {
    String in = buffers.use(linear.in());
    String weight = linear.weight().fieldName();
    String outWidth = linear.weight().dims().get(0).constantName();
    String inWidth = linear.weight().dims().get(1).constantName();
    method.addComment(
        "$L: $L (rows, $L) -> $L (rows, $L)$L, output features split across threads",
        linear.describe(),
        in,
        inWidth,
        linear.out(),
        outWidth,
        whereItGoes(kernel, linear.out()));
    declareWeights(method, linear);
    quantizeInput(method, in, inWidth, List.of(linear));
    method.addCode(
        "$T.forRange($L, $T.minChunk((long) $L * n), (first, last) -> {\n$>",
        GeneratedTypes.PARALLEL,
        outWidth,
        GeneratedTypes.PARALLEL,
        inWidth);
    projectionRange(method, kernel, linear, rowFilter);
    method.addCode("$<});\n");
  }

  /**
   * {@code xq}: the call's input rows quantized to 8 bits once, before the output features are
   * split across threads, when {@code QuantizedRows.mode()} is INT8 and a weight takes it; null
   * otherwise (the float path). The LM head quantizes every row too (once per call, a small cost
   * next to its matrix), so a prefill's last positions get the same logits as a decode step would.
   */
  private void quantizeInput(
      MethodSpec.Builder method, String in, String inWidth, List<Op.Linear> linears) {
    String weights = String.join(", ", linears.stream().map(l -> l.weight().fieldName()).toList());
    method.addStatement(
        "$T xq = $T.forWeights($N, 0, $L, n, $L)",
        GeneratedTypes.QUANTIZED_ROWS,
        GeneratedTypes.QUANTIZED_ROWS,
        in,
        inWidth,
        weights);
  }

  /** Locals for a projection's weight matrix and, if it has one, its bias. */
  private void declareWeights(MethodSpec.Builder method, Op.Linear linear) {
    method.addStatement(
        "$T $N = $L",
        GeneratedTypes.WEIGHT_TENSOR,
        linear.weight().fieldName(),
        matrix(linear.weight()));
    if (linear.bias() != null) {
      method.addStatement(
          "$T $N = $L",
          GeneratedTypes.MEMORY_SEGMENT,
          linear.bias().fieldName(),
          tensor(linear.bias()));
    }
  }

  /**
   * Several projections of one input (q, k and v) as one parallel range over all their output
   * features, so the threads meet once for the three rather than once each: a chunk {@code [start,
   * end)} of the joint range is cut at the projections' boundaries, and each piece runs the one
   * projection's code on its own features {@code [first, last)}. When the kernel normalizes or
   * rotates heads of an output (per-head RMSNorm, RoPE), chunks are whole heads, and the thread
   * that projects a head normalizes and rotates it right after, while it is in its cache.
   *
   * @return the outputs whose per-head ops ran here
   */
  private Set<Value> sharedInputProjections(
      MethodSpec.Builder method, Kernel kernel, List<Op.Linear> linears) {
    String in = buffers.use(linears.getFirst().in());
    String inWidth = linears.getFirst().weight().dims().get(1).constantName();
    List<String> widths =
        linears.stream().map(l -> l.weight().dims().get(0).constantName()).toList();
    Set<Value> perHead = new java.util.LinkedHashSet<>();
    for (Op op : kernel.ops()) {
      switch (op) {
        case Op.HeadRmsNorm norm -> perHead.add(norm.target());
        case Op.Rope rope -> perHead.add(rope.target());
        default -> {}
      }
    }
    method.addComment(
        "$L: $L (rows, $L) -> $L, one range of $L output features split across threads",
        String.join(", ", linears.stream().map(Op.Linear::describe).toList()),
        in,
        inWidth,
        String.join(
            ", ",
            linears.stream()
                .map(
                    l ->
                        l.out()
                            + " (rows, "
                            + l.weight().dims().get(0).constantName()
                            + ")"
                            + whereItGoes(kernel, l.out()))
                .toList()),
        String.join(" + ", widths));
    linears.forEach(linear -> declareWeights(method, linear));
    for (Op.HeadRmsNorm headNorm : kernel.opsOf(Op.HeadRmsNorm.class)) {
      usesRmsNorm = true;
      method.addStatement(
          "$T $N = $L",
          GeneratedTypes.MEMORY_SEGMENT,
          headNorm.gain().fieldName(),
          tensor(headNorm.gain()));
    }
    quantizeInput(method, in, inWidth, linears);
    if (perHead.isEmpty()) {
      method.addCode(
          "$T.forRange($L, $T.minChunk((long) $L * n), (start, end) -> {\n$>",
          GeneratedTypes.PARALLEL,
          String.join(" + ", widths),
          GeneratedTypes.PARALLEL,
          inWidth);
    } else {
      // whole heads, and (for the row blocks) whole blocks of Parallel.ROW_BLOCK = 4 features
      int multiple = lcm(spec.headDim(), 4);
      method
          .addComment(
              "Chunks of whole heads ($L features), so that each head is normalized and rotated by the",
              multiple == spec.headDim() ? "HEAD_DIM" : multiple + "")
          .addComment("thread that projects it")
          .addCode(
              "$T.forRange($L, $T.minChunk((long) $L * n), $L, (start, end) -> {\n$>",
              GeneratedTypes.PARALLEL,
              String.join(" + ", widths),
              GeneratedTypes.PARALLEL,
              inWidth,
              multiple == spec.headDim() ? "HEAD_DIM" : multiple);
    }
    List<String> offsets = new ArrayList<>();
    for (int i = 0; i < linears.size(); i++) {
      Op.Linear linear = linears.get(i);
      String offset = offsets.isEmpty() ? "0" : String.join(" + ", offsets);
      String shifted = offsets.isEmpty() ? "" : " - (" + offset + ")";
      String end = offsets.isEmpty() ? widths.get(i) : offset + " + " + widths.get(i);
      method
          .addComment("$L: features [$L, $L) of the range", linear.describe(), offset, end)
          .addCode("{\n$>")
          .addStatement("int first = Math.max(start$L, 0)", shifted)
          .addStatement("int last = Math.min(end$L, $L)", shifted, widths.get(i))
          .beginControlFlow("if (first < last)");
      projectionRange(method, kernel, linear, null);
      if (perHead.contains(linear.out())) {
        headOps(method, kernel, linear.out());
      }
      method.endControlFlow().addCode("$<}\n");
      offsets.add(widths.get(i));
    }
    method.addCode("$<});\n");
    return perHead;
  }

  /**
   * The kernel's per-head ops on {@code value} (RMSNorm, then RoPE), on heads {@code [first, last)
   * / HEAD_DIM}.
   */
  private void headOps(MethodSpec.Builder method, Kernel kernel, Value value) {
    String[] location = rowLocation(kernel, value).split(", ", 2);
    String array = location[0];
    String rowStart = location[1];
    List<String> ops = new ArrayList<>();
    kernel.opsOf(Op.HeadRmsNorm.class).stream()
        .filter(o -> o.target().equals(value))
        .forEach(o -> ops.add(o.describe()));
    kernel.opsOf(Op.Rope.class).stream()
        .filter(o -> o.target().equals(value))
        .forEach(o -> ops.add(o.describe()));
    method
        .addComment("$L of the heads just projected, in each row", String.join(", then ", ops))
        .beginControlFlow("for (int r = 0; r < n; r++)");
    for (Op.HeadRmsNorm headNorm : kernel.opsOf(Op.HeadRmsNorm.class)) {
      if (headNorm.target().equals(value)) {
        method
            .beginControlFlow("for (int head = first / HEAD_DIM; head < last / HEAD_DIM; head++)")
            .addStatement("int at = $L + head * HEAD_DIM", rowStart)
            .addStatement(
                "$T.rmsNorm($L, at, $N, $L, at, HEAD_DIM, RMS_NORM_EPS, $Lf)",
                GeneratedTypes.VECTOR_KERNELS,
                array,
                headNorm.gain().fieldName(),
                array,
                headNorm.unitOffset() ? 1 : 0)
            .endControlFlow();
      }
    }
    for (Op.Rope rope : kernel.opsOf(Op.Rope.class)) {
      if (rope.target().equals(value)) {
        useRope();
        method.addStatement(
            "$T.applyRope($L, $L + first, (last - first) / HEAD_DIM, ropeCos, ropeSin, r * (HEAD_DIM / 2))",
            names.attention(),
            array,
            rowStart);
      }
    }
    method.endControlFlow();
  }

  private void useRope() {
    usesRope = true;
    buffers.extra(
        "ropeCos", "HEAD_DIM / 2", "cos of each row's RoPE angles, filled once per forward");
    buffers.extra(
        "ropeSin", "HEAD_DIM / 2", "sin of each row's RoPE angles, filled once per forward");
  }

  private static int lcm(int a, int b) {
    int x = a;
    int y = b;
    while (y != 0) {
      int t = x % y;
      x = y;
      y = t;
    }
    return a / x * b;
  }

  /**
   * The body of a projection over its output features {@code [first, last)} (variables in scope):
   * {@code dotRowRange} for one row, blocks of four weight rows for several; the LM head's rows
   * filtered by {@code rowFilter}.
   */
  private void projectionRange(
      MethodSpec.Builder method, Kernel kernel, Op.Linear linear, String rowFilter) {
    String in = buffers.use(linear.in());
    String weight = linear.weight().fieldName();
    String inWidth = linear.weight().dims().get(1).constantName();
    String bias = linear.bias() != null ? " + bias" : "";
    String biasAt =
        linear.bias() != null
            ? CodeBlock.of("float bias = $N.getAtIndex(F32, o)", linear.bias().fieldName())
                .toString()
            : null;
    if (rowFilter == null) {
      Destination destination = kernel.destination(linear.out());
      method.beginControlFlow("if (n == 1)");
      if (destination.kind() == Destination.Kind.ADD_INTO) {
        // The residual add needs both the projection and the stream's value: the thread's range of
        // weight rows in one call, then added.
        String target = buffers.use(destination.value());
        method
            .addComment(
                "One row: the thread's range of weight rows in one call, then added to $L", target)
            .addStatement("float[] values = new float[last - first]")
            .addStatement("$N.dotRowRange(first, last, $N, 0, xq, 0, values, 0)", weight, in)
            .beginControlFlow("for (int o = first; o < last; o++)")
            .addStatement(
                "$N[o] += values[o - first]$L",
                target,
                linear.bias() != null
                    ? CodeBlock.of(" + $N.getAtIndex(F32, o)", linear.bias().fieldName())
                    : "")
            .endControlFlow();
      } else {
        String[] row = firstRow(kernel, linear.out());
        method
            .addComment(
                "One row: the thread's range of weight rows in one call, straight into $L", row[0])
            .addStatement(
                "$N.dotRowRange(first, last, $N, 0, xq, 0, $L, $L)",
                weight,
                in,
                row[0],
                plus(row[1], "first"));
        if (linear.bias() != null) {
          method
              .beginControlFlow("for (int o = first; o < last; o++)")
              .addStatement(
                  "$L[$L] += $N.getAtIndex(F32, o)",
                  row[0],
                  plus(row[1], "o"),
                  linear.bias().fieldName())
              .endControlFlow();
        }
      }
      // Several rows (prefill, batched decode): blocks of 4 weight rows times all rows of the call.
      method.nextControlFlow("else");
      rowBlocks(method, kernel, linear);
      method.endControlFlow();
    } else {
      // One row (a decode step of one sequence): the thread's range of vocabulary rows in one call.
      method
          .beginControlFlow("if (n == 1)")
          .beginControlFlow("if (rows.wantsLogits(0))")
          .addStatement(
              "$N.dotRowRange(first, last, $N, 0, xq, 0, rows.logits(0), first)", weight, in);
      if (linear.bias() != null) {
        method
            .beginControlFlow("for (int o = first; o < last; o++)")
            .addStatement("rows.logits(0)[o] += $N.getAtIndex(F32, o)", linear.bias().fieldName())
            .endControlFlow();
      }
      method.endControlFlow();
      // Several rows that all want logits (a batched decode step): blocks of 4 weight rows times
      // all rows.
      method.nextControlFlow("else if (rows.allWantLogits())");
      rowBlocks(method, kernel, linear);
      // Some rows (a prefill's last positions): each weight row against each row that wants logits.
      method.nextControlFlow("else").beginControlFlow("for (int o = first; o < last; o++)");
      if (biasAt != null) {
        method.addStatement(biasAt);
      }
      method
          .beginControlFlow("for (int r = 0; r < n; r++)")
          .addStatement(rowFilter)
          .addStatement(
              "float value = $N.dot(o, $N, $L, xq, r)$L",
              weight,
              in,
              buffers.rowStart(linear.in(), "r"),
              bias)
          .addStatement(store(kernel, linear.out(), "value"))
          .endControlFlow()
          .endControlFlow()
          .endControlFlow();
    }
  }

  /**
   * Blocks of 4 weight rows of {@code [first, last)} times all n rows of the call ({@code
   * dotRowBlock}), each value (plus bias) stored where the kernel wants it.
   */
  private void rowBlocks(MethodSpec.Builder method, Kernel kernel, Op.Linear linear) {
    String in = buffers.use(linear.in());
    String weight = linear.weight().fieldName();
    String inWidth = linear.weight().dims().get(1).constantName();
    method
        .addStatement("float[] values = new float[4 * n]")
        .beginControlFlow("for (int block = first; block < last; block += 4)")
        .addStatement("int size = Math.min(4, last - block)")
        .addStatement("$N.dotRowBlock(block, size, $N, 0, $L, n, xq, values)", weight, in, inWidth)
        .beginControlFlow("for (int o = block; o < block + size; o++)");
    if (linear.bias() != null) {
      method.addStatement("float bias = $N.getAtIndex(F32, o)", linear.bias().fieldName());
    }
    method
        .beginControlFlow("for (int r = 0; r < n; r++)")
        .addStatement(
            "float value = values[(o - block) * n + r]$L", linear.bias() != null ? " + bias" : "")
        .addStatement(store(kernel, linear.out(), "value"))
        .endControlFlow()
        .endControlFlow()
        .endControlFlow();
  }

  /**
   * gate and up in one loop, each output element activated at once: {@code act = silu(gate) * up}
   * (or GELU).
   */
  private void gatedProjection(
      MethodSpec.Builder method, Kernel kernel, List<Op.Linear> linears, Op.Activate silu) {
    List<Op.Multiply> multiplies = kernel.opsOf(Op.Multiply.class);
    if (linears.size() != 2
        || multiplies.size() != 1
        || !silu.in().equals(linears.get(0).out())
        || !multiplies.getFirst().a().equals(silu.out())
        || !multiplies.getFirst().b().equals(linears.get(1).out())) {
      throw new IllegalStateException(
          "[Kiln/Internal] no Java template for gated kernel " + kernel);
    }
    activations.add(silu.function());
    String act = activationMethod(silu.function());
    Op.Linear gate = linears.get(0);
    Op.Linear up = linears.get(1);
    Op.Multiply multiply = multiplies.getFirst();
    String in = buffers.use(gate.in());
    String outWidth = gate.weight().dims().get(0).constantName();
    String inWidth = gate.weight().dims().get(1).constantName();
    method.addComment(
        "$L and $L: $L (rows, $L) -> $L = $L($L) * $L (rows, $L)",
        gate.describe(),
        up.describe(),
        in,
        inWidth,
        multiply.out(),
        act,
        gate.out(),
        up.out(),
        outWidth);
    linears.forEach(linear -> declareWeights(method, linear));
    quantizeInput(method, in, inWidth, linears);
    method.addCode(
        "$T.forRange($L, $T.minChunk(2L * $L * n), (first, last) -> {\n$>",
        GeneratedTypes.PARALLEL,
        outWidth,
        GeneratedTypes.PARALLEL,
        inWidth);
    // One row (a decode step of one sequence): the thread's range of gate rows straight into the
    // output, then of up rows, each output activated and multiplied in place.
    Destination destination = kernel.destination(multiply.out());
    if (destination.kind() != Destination.Kind.STORE) {
      throw new IllegalStateException(
          "[Kiln/Internal] no Java template for gated kernel "
              + kernel
              + " into "
              + destination.kind());
    }
    String[] row = firstRow(kernel, multiply.out());
    method
        .beginControlFlow("if (n == 1)")
        .addStatement(
            "$N.dotRowRange(first, last, $N, 0, xq, 0, $L, $L)",
            gate.weight().fieldName(),
            in,
            row[0],
            plus(row[1], "first"))
        .addStatement("float[] $LValues = new float[last - first]", up.out().name())
        .addStatement(
            "$N.dotRowRange(first, last, $N, 0, xq, 0, $LValues, 0)",
            up.weight().fieldName(),
            in,
            up.out().name())
        .beginControlFlow("for (int o = first; o < last; o++)")
        .addStatement(
            "float $N = $L[$L]$L",
            gate.out().name(),
            row[0],
            plus(row[1], "o"),
            gate.bias() != null
                ? CodeBlock.of(" + $N.getAtIndex(F32, o)", gate.bias().fieldName()).toString()
                : "")
        .addStatement(
            "float $N = $LValues[o - first]$L",
            up.out().name(),
            up.out().name(),
            up.bias() != null
                ? CodeBlock.of(" + $N.getAtIndex(F32, o)", up.bias().fieldName()).toString()
                : "")
        .addStatement(
            "$L[$L] = $L($N) * $N",
            row[0],
            plus(row[1], "o"),
            act,
            gate.out().name(),
            up.out().name())
        .endControlFlow();
    // Several rows (prefill, batched decode): blocks of 4 gate rows and 4 up rows times all rows of
    // the call.
    method.nextControlFlow("else");
    for (Op.Linear linear : linears) {
      method.addStatement("float[] $LValues = new float[4 * n]", linear.out().name());
    }
    method
        .beginControlFlow("for (int block = first; block < last; block += 4)")
        .addStatement("int size = Math.min(4, last - block)");
    for (Op.Linear linear : linears) {
      method.addStatement(
          "$N.dotRowBlock(block, size, $N, 0, $L, n, xq, $LValues)",
          linear.weight().fieldName(),
          in,
          inWidth,
          linear.out().name());
    }
    method
        .beginControlFlow("for (int o = block; o < block + size; o++)")
        .beginControlFlow("for (int r = 0; r < n; r++)");
    for (Op.Linear linear : linears) {
      method.addStatement(
          "float $N = $LValues[(o - block) * n + r]$L",
          linear.out().name(),
          linear.out().name(),
          linear.bias() != null
              ? CodeBlock.of(" + $N.getAtIndex(F32, o)", linear.bias().fieldName()).toString()
              : "");
    }
    method
        .addStatement(
            store(kernel, multiply.out(), act + "(" + gate.out().name() + ") * " + up.out().name()))
        .endControlFlow()
        .endControlFlow()
        .endControlFlow()
        .endControlFlow()
        .addCode("$<});\n");
  }

  /** The decoder's helper method computing an activation: {@code silu}, {@code geluTanh}. */
  static String activationMethod(Activation function) {
    return switch (function) {
      case SILU -> "silu";
      case GELU_TANH -> "geluTanh";
    };
  }

  /** The statement storing {@code expression} as element (r, o) of {@code value}. */
  private String store(Kernel kernel, Value value, String expression) {
    Destination destination = kernel.destination(value);
    Value target = destination.value();
    return switch (destination.kind()) {
      case LOGITS -> "rows.logits(r)[o] = " + expression;
      case KEY_CACHE -> "keyCache[rows.cacheOffset(r) + o] = " + expression;
      case VALUE_CACHE -> "valueCache[rows.cacheOffset(r) + o] = " + expression;
      case ADD_INTO ->
          buffers.use(target) + "[" + buffers.rowStart(target, "r") + " + o] += " + expression;
      case STORE ->
          buffers.use(target) + "[" + buffers.rowStart(target, "r") + " + o] = " + expression;
    };
  }

  /**
   * Where row 0 of a value goes in a one-row call: {@code {array, start}}, e.g. {@code {"q", "0"}}
   * or {@code {"keyCache", "rows.cacheOffset(0)"}}.
   */
  private String[] firstRow(Kernel kernel, Value value) {
    Destination destination = kernel.destination(value);
    return switch (destination.kind()) {
      case LOGITS -> new String[] {"rows.logits(0)", "0"};
      case KEY_CACHE -> new String[] {"keyCache", "rows.cacheOffset(0)"};
      case VALUE_CACHE -> new String[] {"valueCache", "rows.cacheOffset(0)"};
      case STORE, ADD_INTO -> new String[] {buffers.use(destination.value()), "0"};
    };
  }

  /** Where a projection's output is stored, when not in its own buffer: {@code ", added to x"}. */
  private String whereItGoes(Kernel kernel, Value value) {
    Destination destination = kernel.destination(value);
    return switch (destination.kind()) {
      case LOGITS -> value.equals(Value.LOGITS) ? "" : ", into the logits";
      case KEY_CACHE -> ", into the key cache";
      case VALUE_CACHE -> ", into the value cache";
      case ADD_INTO -> ", added to " + destination.value();
      case STORE -> destination.value().equals(value) ? "" : ", into " + destination.value();
    };
  }

  /** {@code start + offset}, or {@code offset} when start is 0. */
  private static String plus(String start, String offset) {
    return start.equals("0") ? offset : start + " + " + offset;
  }

  /**
   * {@code array, start} of row r of a value that RoPE rotates: in the cache if the kernel writes
   * it there.
   */
  private String rowLocation(Kernel kernel, Value value) {
    if (kernel.destination(value).kind() == Destination.Kind.KEY_CACHE) {
      return "keyCache, rows.cacheOffset(r)";
    }
    return buffers.use(value) + ", " + buffers.rowStart(value, "r");
  }

  /**
   * The expression for a float32 vector's data: {@code w.qProjBias.data()} or {@code
   * weights.norm.data()}.
   */
  private static String tensor(TensorKind kind) {
    return matrix(kind) + ".data()";
  }

  /** The expression for a tensor: {@code w.qProj} or {@code weights.lmHead}. */
  private static String matrix(TensorKind kind) {
    String owner =
        switch (kind) {
          case LayerTensor layer -> "w";
          case GlobalTensor global -> "weights";
        };
    return owner + "." + kind.fieldName();
  }

  static List<String> parameterNames(Kernel kernel) {
    List<String> args = new ArrayList<>(List.of("rows"));
    if (needsLayerWeights(kernel)) {
      args.add("w");
    }
    if (needsCache(kernel)) {
      args.add("keyCache");
      args.add("valueCache");
    }
    if (needsLayerIndex(kernel)) {
      args.add("layer");
    }
    return args;
  }
}
