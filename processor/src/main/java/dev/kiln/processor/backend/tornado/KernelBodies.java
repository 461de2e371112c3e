package dev.kiln.processor.backend.tornado;

import com.palantir.javapoet.CodeBlock;
import dev.kiln.ScoreNormalization;
import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.backend.GeneratedTypes;
import dev.kiln.processor.backend.tornado.TaskPlanner.Param;
import dev.kiln.processor.backend.tornado.TaskPlanner.Task;
import dev.kiln.processor.plan.Destination;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.Dtype;
import dev.kiln.weights.Q4_0Tensor;
import dev.kiln.weights.Q8_0Tensor;
import java.util.List;
import java.util.Optional;

/**
 * The bodies of the TornadoVM task methods, one template per task kind. Every body is written in
 * the subset of Java TornadoVM compiles: no allocation (but work-group local arrays), no
 * exceptions, no library calls but {@code TornadoMath}. The cpu layout's bodies run one thread per
 * output element, guarded by the row count of the call; the gpu layout's projections, RMSNorm and
 * attention run a work-group per output row (or per row, head and split of the positions), its
 * threads striding the row and reducing their partial results in local memory. Their strides and
 * reductions use the work-group's actual size ({@code context.localGroupSizeX}, a power of two no
 * larger than the constant their local arrays are sized by), chosen from the device's limits.
 */
final class KernelBodies {
  private final ResolvedSpec spec;
  private final TaskPlanner planner;

  KernelBodies(ResolvedSpec spec, TaskPlanner planner) {
    this.spec = spec;
    this.planner = planner;
  }

  /**
   * The global work size of a task, as a Java expression over the generated constants (and, for the
   * gpu layout's work-group tasks, the decoder's work-group sizes chosen for the device).
   */
  static String globalSize(Task task) {
    return switch (task.kind()) {
      case NORM_ROW -> "ROW_CAPACITY * normLocal";
      case ATTENTION_SPLIT ->
          "ROW_CAPACITY * NUM_ATTENTION_HEADS * ATTENTION_SPLITS * attentionLocal";
      case ATTENTION_COMBINE -> "ROW_CAPACITY * NUM_ATTENTION_HEADS * HEAD_DIM";
      case PROJECTION ->
          task.gpu() ? "(" + outputFeatures(task) + ") * projectionLocal" : outputFeatures(task);
      case EMBEDDING, RESIDUAL_ADD, NORM_RESIDUAL_ADD -> "ROW_CAPACITY * HIDDEN_SIZE";
      case NORM_REDUCE -> "ROW_CAPACITY * NORM_GROUPS * NORM_LOCAL_SIZE";
      case NORM_FINALIZE -> "ROW_CAPACITY";
      case HEAD_NORM -> "ROW_CAPACITY * (" + normedHeads(task) + ")";
      case ROPE -> "ROW_CAPACITY * (HEAD_DIM / 2)";
      case ATTENTION -> "ROW_CAPACITY * NUM_ATTENTION_HEADS";
    };
  }

  /** The local (work-group) size of a task. */
  static String localSize(Task task) {
    if (task.gpu()) {
      return switch (task.kind()) {
        case NORM_ROW -> "normLocal";
        case ATTENTION_SPLIT -> "attentionLocal";
        case PROJECTION -> "projectionLocal";
        default -> "elementLocal";
      };
    }
    return task.kind() == TaskPlanner.Kind.NORM_REDUCE ? "NORM_LOCAL_SIZE" : "LOCAL_SIZE";
  }

  /** Floats of work-group local memory a gpu-layout task allocates (0 for the others). */
  static String localFloats(Task task) {
    return switch (task.kind()) {
      case NORM_ROW -> "NORM_LOCAL_SIZE";
      case ATTENTION_SPLIT -> "ATTENTION_SPLIT + ATTENTION_LOCAL + HEAD_DIM";
      case PROJECTION -> task.gpu() ? partials(task) + " * PROJECTION_LOCAL" : "0";
      default -> "0";
    };
  }

  /**
   * Partial sums per thread of a gpu projection: ROW_TILE rows (1 for the logits), twice for
   * gate/up.
   */
  private static String partials(Task task) {
    boolean logits =
        task.kernel().opsOf(Op.Linear.class).stream().anyMatch(l -> l.out().equals(Value.LOGITS));
    boolean gated = !task.kernel().opsOf(Op.Activate.class).isEmpty();
    String rows = logits ? "1" : "ROW_TILE";
    return gated ? "2 * " + rows : rows;
  }

  /**
   * Threads of a projection: one per output feature of all its matrices (gate/up: one per pair).
   */
  static String outputFeatures(Task task) {
    List<Op.Linear> linears = task.kernel().opsOf(Op.Linear.class);
    if (!task.kernel().opsOf(Op.Activate.class).isEmpty()) {
      return outWidth(linears.getFirst());
    }
    return String.join(" + ", linears.stream().map(KernelBodies::outWidth).toList());
  }

  /**
   * Heads of all the per-head norms of a task, e.g. {@code NUM_ATTENTION_HEADS +
   * NUM_KEY_VALUE_HEADS}.
   */
  private static String normedHeads(Task task) {
    return String.join(
        " + ",
        task.kernel().opsOf(Op.HeadRmsNorm.class).stream().map(KernelBodies::heads).toList());
  }

  private static String heads(Op.HeadRmsNorm norm) {
    return norm.keyHeads() ? "NUM_KEY_VALUE_HEADS" : "NUM_ATTENTION_HEADS";
  }

  /**
   * A norm's gain at element {@code index}: {@code w[i]}, or {@code 1 + w[i]} with a unit offset
   * (Gemma).
   */
  static String gain(String array, String index, boolean unitOffset) {
    return unitOffset ? "(1f + " + array + ".get(" + index + "))" : array + ".get(" + index + ")";
  }

  static String outWidth(Op.Linear linear) {
    return linear.weight().dims().get(0).constantName();
  }

  static String inWidth(Op.Linear linear) {
    return linear.weight().dims().get(1).constantName();
  }

  CodeBlock body(Task task, Dtype type) {
    boolean q8 = type == Dtype.Q8_0;
    return switch (task.kind()) {
      case EMBEDDING -> embedding((Op.Embed) task.kernel().single(), type);
      case NORM_REDUCE -> normReduce();
      case NORM_FINALIZE -> normFinalize();
      case NORM_ROW -> normRow();
      case ATTENTION_SPLIT -> attentionSplit(task);
      case ATTENTION_COMBINE -> attentionCombine(task);
      case PROJECTION -> task.gpu() ? GpuProjection.body(this, task, type) : projection(task, q8);
      case HEAD_NORM -> headNorm(task);
      case ROPE -> rope(task);
      case ATTENTION -> attention(task);
      case NORM_RESIDUAL_ADD -> normResidualAdd(task);
      case RESIDUAL_ADD -> residualAdd(task);
    };
  }

  private static CodeBlock embedding(Op.Embed embed, Dtype type) {
    String scale = embed.scaled() ? " * EMBEDDING_SCALE" : "";
    CodeBlock.Builder code =
        CodeBlock.builder()
            .addStatement("int index = context.globalIdx")
            .addStatement("int r = index / HIDDEN_SIZE")
            .beginControlFlow("if (r < rowInfo.get(0))")
            .addStatement("int i = index % HIDDEN_SIZE")
            .addStatement("int token = rowInfo.get(ROW_INFO_START + r * ROW_FIELDS + TOKEN)");
    if (type == Dtype.Q8_0) {
      code.addStatement(
              "int block = token * (HIDDEN_SIZE / $L * $L) + i / $L * $L",
              Q8_0Tensor.BLOCK,
              Q8_0Tensor.BLOCK_BYTES,
              Q8_0Tensor.BLOCK,
              Q8_0Tensor.BLOCK_BYTES)
          .addStatement(
              "x.set(index, halfToFloat(embedTokens.get(block), embedTokens.get(block + 1)) * embedTokens.get(block + 2 + i % $L)$L)",
              Q8_0Tensor.BLOCK, scale);
    } else if (type == Dtype.Q4_0) {
      code.addStatement(
              "int block = token * (HIDDEN_SIZE / $L * $L) + i / $L * $L",
              Q4_0Tensor.BLOCK,
              Q4_0Tensor.BLOCK_BYTES,
              Q4_0Tensor.BLOCK,
              Q4_0Tensor.BLOCK_BYTES)
          .addStatement(
              "int packed = embedTokens.get(block + 2 + i % $L) & 0xFF", Q4_0Tensor.BLOCK / 2)
          .addStatement(
              "int level = i % $L < $L ? packed & 0xF : packed >> 4",
              Q4_0Tensor.BLOCK, Q4_0Tensor.BLOCK / 2)
          .addStatement(
              "x.set(index, halfToFloat(embedTokens.get(block), embedTokens.get(block + 1)) * (level - 8)$L)",
              scale);
    } else if (type == Dtype.F16) {
      code.addStatement(
          "x.set(index, f16ToFloat(embedTokens.get(token * HIDDEN_SIZE + i))$L)", scale);
    } else {
      code.addStatement("x.set(index, embedTokens.get(token * HIDDEN_SIZE + i)$L)", scale);
    }
    return code.endControlFlow().build();
  }

  private static CodeBlock normReduce() {
    return CodeBlock.builder()
        .addStatement("float[] local = context.allocateFloatLocalArray(NORM_LOCAL_SIZE)")
        .addStatement("int group = context.groupIdx")
        .addStatement("int id = context.localIdx")
        .addStatement("int r = group / NORM_GROUPS")
        .addStatement("int i = group % NORM_GROUPS * NORM_LOCAL_SIZE + id")
        .addStatement("float square = 0f")
        .beginControlFlow("if (r < rowInfo.get(0) && i < HIDDEN_SIZE)")
        .addStatement("float value = x.get(r * HIDDEN_SIZE + i)")
        .addStatement("square = value * value")
        .endControlFlow()
        .addStatement("local[id] = square")
        .beginControlFlow("for (int stride = NORM_LOCAL_SIZE / 2; stride > 0; stride /= 2)")
        .addStatement("context.localBarrier()")
        .beginControlFlow("if (id < stride)")
        .addStatement("local[id] += local[id + stride]")
        .endControlFlow()
        .endControlFlow()
        .beginControlFlow("if (id == 0)")
        .addStatement("normPartials.set(group, local[0])")
        .endControlFlow()
        .build();
  }

  private static CodeBlock normFinalize() {
    return CodeBlock.builder()
        .addStatement("int r = context.globalIdx")
        .beginControlFlow("if (r < rowInfo.get(0))")
        .addStatement("float sum = 0f")
        .beginControlFlow("for (int g = 0; g < NORM_GROUPS; g++)")
        .addStatement("sum += normPartials.get(r * NORM_GROUPS + g)")
        .endControlFlow()
        .addStatement(
            "normScale.set(r, 1f / $T.sqrt(sum / HIDDEN_SIZE + (float) RMS_NORM_EPS))",
            GeneratedTypes.MATH)
        .endControlFlow()
        .build();
  }

  /**
   * gpu layout: one work-group per row; its threads stride the row summing squares, reduce them in
   * local memory, and the first thread stores the row's scale.
   */
  private static CodeBlock normRow() {
    return CodeBlock.builder()
        .addStatement("float[] local = context.allocateFloatLocalArray(NORM_LOCAL_SIZE)")
        .addStatement("int r = context.groupIdx")
        .addStatement("int id = context.localIdx")
        .addStatement("int threads = context.localGroupSizeX")
        .add(
            "// every work-group reaches every barrier (a barrier inside a branch miscomputed on PoCL)\n")
        .addStatement("boolean active = r < rowInfo.get(0)")
        .addStatement("float square = 0f")
        .beginControlFlow("for (int i = id; i < HIDDEN_SIZE && active; i += threads)")
        .addStatement("float value = x.get(r * HIDDEN_SIZE + i)")
        .addStatement("square += value * value")
        .endControlFlow()
        .addStatement("local[id] = square")
        .beginControlFlow("for (int stride = threads / 2; stride > 0; stride /= 2)")
        .addStatement("context.localBarrier()")
        .beginControlFlow("if (id < stride)")
        .addStatement("local[id] += local[id + stride]")
        .endControlFlow()
        .endControlFlow()
        .beginControlFlow("if (active && id == 0)")
        .addStatement(
            "normScale.set(r, 1f / $T.sqrt(local[0] / HIDDEN_SIZE + (float) RMS_NORM_EPS))",
            GeneratedTypes.MATH)
        .endControlFlow()
        .build();
  }

  /** A tree reduction of {@code local[0 .. threads)} into local[0], by sum or by max. */
  static void reduce(CodeBlock.Builder code, String local, boolean max) {
    code.beginControlFlow("for (int stride = threads / 2; stride > 0; stride /= 2)")
        .addStatement("context.localBarrier()")
        .beginControlFlow("if (id < stride)");
    if (max) {
      code.addStatement("float other = $L[id + stride]", local)
          .beginControlFlow("if (other > $L[id])", local)
          .addStatement("$L[id] = other", local)
          .endControlFlow();
    } else {
      code.addStatement("$L[id] += $L[id + stride]", local, local);
    }
    code.endControlFlow().endControlFlow().addStatement("context.localBarrier()");
  }

  /**
   * gpu layout, attention step 1 of 2 (flash-decoding): one work-group per (row, head, split), the
   * split being ATTENTION_SPLIT consecutive positions. The threads stride the split's positions for
   * the scores (kept in local memory), reduce their maximum and the sum of their exponentials, then
   * stride the head's dimensions for the weighted values; the split's maximum, sum and unnormalized
   * output go to splitMax, splitSum and splitOut. A split outside the attended positions stores a
   * maximum of -3e38, a sum of 0 and zeros.
   */
  private CodeBlock attentionSplit(Task task) {
    Op.AttentionScores scores = (Op.AttentionScores) task.kernel().ops().getFirst();
    boolean softmax = spec.scoreNormalization() == ScoreNormalization.SOFTMAX;
    String q = scores.q().name();
    CodeBlock.Builder code =
        CodeBlock.builder()
            .addStatement("float[] weights = context.allocateFloatLocalArray(ATTENTION_SPLIT)")
            .addStatement("float[] local = context.allocateFloatLocalArray(ATTENTION_LOCAL)")
            .addStatement("float[] query = context.allocateFloatLocalArray(HEAD_DIM)")
            .addStatement("int group = context.groupIdx")
            .addStatement("int id = context.localIdx")
            .addStatement("int threads = context.localGroupSizeX")
            .addStatement("int r = group / (NUM_ATTENTION_HEADS * ATTENTION_SPLITS)")
            .add(
                "// every work-group reaches every barrier (a barrier inside a branch miscomputed on PoCL): one past the\n")
            .add("// call's rows attends to nothing and stores nothing\n")
            .addStatement("boolean active = r < rowInfo.get(0)")
            .addStatement("int head = group / ATTENTION_SPLITS % NUM_ATTENTION_HEADS")
            .addStatement("int split = group % ATTENTION_SPLITS")
            .addStatement("int qHead = r * $L + head * HEAD_DIM", scores.q().width().constantName())
            .addStatement(
                "int kvHead = rowInfo.get(ROW_INFO_START + r * ROW_FIELDS + SEQUENCE_START) + head / KV_GROUP_SIZE * HEAD_DIM")
            .addStatement(
                "int end = active ? rowInfo.get(ROW_INFO_START + r * ROW_FIELDS + ATTEND_END) : 0")
            .addStatement("int low = split * ATTENTION_SPLIT")
            .addStatement("int high = low + ATTENTION_SPLIT < end ? low + ATTENTION_SPLIT : end");
    if (scores.windowed()) {
      code.add(
              "// this layer's sliding window (0: none): the last slidingWindow positions up to this one\n")
          .addStatement("int window = slidingWindow.get(0)")
          .addStatement("int start = window > 0 && end > window ? end - window : 0")
          .beginControlFlow("if (low < start)")
          .addStatement("low = start")
          .endControlFlow();
    }
    code.beginControlFlow("for (int d = id; d < HEAD_DIM; d += threads)")
        .addStatement("query[d] = active ? $N.get(qHead + d) : 0f", q)
        .endControlFlow()
        .addStatement("context.localBarrier()")
        .addStatement("float max = -3.0e38f")
        .beginControlFlow("for (int t = low + id; t < high; t += threads)")
        .addStatement("int kv = kvHead + t * KV_DIM")
        .addStatement("float score = 0f")
        .beginControlFlow("for (int d = 0; d < HEAD_DIM; d++)")
        .addStatement("score += query[d] * keyCache.get(kv + d)")
        .endControlFlow()
        .addStatement("score *= ATTENTION_SCALE");
    if (scores.softcapped()) {
      code.addStatement(
          "score = ATTN_LOGIT_SOFTCAPPING * $T.tanh(score / ATTN_LOGIT_SOFTCAPPING)",
          GeneratedTypes.MATH);
    }
    code.addStatement("weights[t - low] = score")
        .beginControlFlow("if (score > max)")
        .addStatement("max = score")
        .endControlFlow()
        .endControlFlow();
    if (softmax) {
      code.addStatement("local[id] = max");
      reduce(code, "local", true);
      code.addStatement("max = local[0]")
          .addStatement("context.localBarrier()")
          .addStatement("float sum = 0f")
          .beginControlFlow("for (int t = low + id; t < high; t += threads)")
          .addStatement("float weight = $T.exp(weights[t - low] - max)", GeneratedTypes.MATH)
          .addStatement("weights[t - low] = weight")
          .addStatement("sum += weight")
          .endControlFlow()
          .addStatement("local[id] = sum");
      reduce(code, "local", false);
      code.beginControlFlow("if (active && id == 0)")
          .addStatement("splitMax.set(group, max)")
          .addStatement("splitSum.set(group, local[0])")
          .endControlFlow();
    } else {
      code.addStatement("context.localBarrier()");
    }
    return code.beginControlFlow("for (int d = id; d < HEAD_DIM && active; d += threads)")
        .addStatement("float value = 0f")
        .beginControlFlow("for (int t = low; t < high; t++)")
        .addStatement("value += weights[t - low] * valueCache.get(kvHead + t * KV_DIM + d)")
        .endControlFlow()
        .addStatement("splitOut.set(group * HEAD_DIM + d, value)")
        .endControlFlow()
        .build();
  }

  /**
   * gpu layout, attention step 2 of 2: one thread per (row, head, dimension) combines the splits:
   * each split's output and sum rescaled by exp(its max - the overall max), divided by the total
   * sum.
   */
  private CodeBlock attentionCombine(Task task) {
    Op.WeightedValues weighted = (Op.WeightedValues) task.kernel().ops().getLast();
    boolean softmax = spec.scoreNormalization() == ScoreNormalization.SOFTMAX;
    CodeBlock.Builder code =
        CodeBlock.builder()
            .addStatement("int index = context.globalIdx")
            .addStatement("int r = index / (NUM_ATTENTION_HEADS * HEAD_DIM)")
            .beginControlFlow("if (r < rowInfo.get(0))")
            .addStatement("int head = index / HEAD_DIM % NUM_ATTENTION_HEADS")
            .addStatement("int d = index % HEAD_DIM")
            .addStatement("int first = (r * NUM_ATTENTION_HEADS + head) * ATTENTION_SPLITS")
            .addStatement("float value = 0f");
    if (softmax) {
      code.addStatement("float max = -3.0e38f")
          .beginControlFlow("for (int s = 0; s < ATTENTION_SPLITS; s++)")
          .addStatement("float splitMaximum = splitMax.get(first + s)")
          .beginControlFlow("if (splitMaximum > max)")
          .addStatement("max = splitMaximum")
          .endControlFlow()
          .endControlFlow()
          .addStatement("float sum = 0f")
          .beginControlFlow("for (int s = 0; s < ATTENTION_SPLITS; s++)")
          .addStatement(
              "float rescale = $T.exp(splitMax.get(first + s) - max)", GeneratedTypes.MATH)
          .addStatement("sum += splitSum.get(first + s) * rescale")
          .addStatement("value += splitOut.get((first + s) * HEAD_DIM + d) * rescale")
          .endControlFlow()
          .addStatement("value = value / sum");
    } else {
      code.beginControlFlow("for (int s = 0; s < ATTENTION_SPLITS; s++)")
          .addStatement("value += splitOut.get((first + s) * HEAD_DIM + d)")
          .endControlFlow();
    }
    return code.addStatement(
            "$N.set(r * $L + head * HEAD_DIM + d, value)",
            weighted.out().name(),
            weighted.out().width().constantName())
        .endControlFlow()
        .build();
  }

  private CodeBlock projection(Task task, boolean q8) {
    Kernel kernel = task.kernel();
    List<Op.Linear> linears = kernel.opsOf(Op.Linear.class);
    Optional<Op.RmsNorm> norm = kernel.opsOf(Op.RmsNorm.class).stream().findFirst();
    boolean logits = linears.stream().anyMatch(l -> l.out().equals(Value.LOGITS));
    boolean gated = !kernel.opsOf(Op.Activate.class).isEmpty();

    CodeBlock.Builder code = CodeBlock.builder().addStatement("int feature = context.globalIdx");
    if (logits) {
      code.beginControlFlow("if (feature < $L)", outputFeatures(task))
          .addStatement("int r = logitsRow.get(0)");
    } else {
      code.beginControlFlow("if (feature < $L)", outputFeatures(task))
          .addStatement("int rows = rowInfo.get(0)")
          .beginControlFlow("for (int r = 0; r < rows; r++)");
    }
    if (gated) {
      Op.Linear gate = linears.get(0);
      Op.Linear up = linears.get(1);
      Op.Multiply multiply = kernel.opsOf(Op.Multiply.class).getFirst();
      code.addStatement("int o = feature")
          .addStatement("float $N = $L", gate.out().name(), dot(gate, norm, q8))
          .addStatement("float $N = $L", up.out().name(), dot(up, norm, q8))
          .addStatement(
              store(
                  kernel,
                  multiply.out(),
                  activationMethod(kernel.opsOf(Op.Activate.class).getFirst().function())
                      + "("
                      + gate.out().name()
                      + ") * "
                      + up.out().name()));
    } else {
      String offset = "0";
      for (int l = 0; l < linears.size(); l++) {
        Op.Linear linear = linears.get(l);
        String end = offset.equals("0") ? outWidth(linear) : offset + " + " + outWidth(linear);
        if (linears.size() > 1) {
          if (l == 0) {
            code.beginControlFlow("if (feature < $L)", end);
          } else if (l < linears.size() - 1) {
            code.nextControlFlow("else if (feature < $L)", end);
          } else {
            code.nextControlFlow("else");
          }
        }
        code.addStatement("int o = feature$L", offset.equals("0") ? "" : " - (" + offset + ")")
            .addStatement("float value = $L", dot(linear, norm, q8))
            .addStatement(store(kernel, linear.out(), "value"));
        offset = end;
      }
      if (linears.size() > 1) {
        code.endControlFlow();
      }
    }
    if (!logits) {
      code.endControlFlow();
    }
    return code.endControlFlow().build();
  }

  /**
   * {@code dot(W[o], in[r])} (+ bias), reading the normalized input on the fly after an RMSNorm.
   */
  private static String dot(Op.Linear linear, Optional<Op.RmsNorm> norm, boolean q8) {
    String weight = linear.weight().fieldName();
    String in = inWidth(linear);
    String rowStart =
        q8
            ? "o * (" + in + " / " + Q8_0Tensor.BLOCK + " * " + Q8_0Tensor.BLOCK_BYTES + ")"
            : "o * " + in;
    String suffix = q8 ? "Q8_0" : "F32";
    String expression;
    if (norm.isPresent()) {
      Op.RmsNorm rms = norm.get();
      expression =
          "normedDot"
              + suffix
              + "("
              + weight
              + ", "
              + rowStart
              + ", "
              + rms.in().name()
              + ", r * "
              + in
              + ", normScale.get(r), "
              + rms.gain().fieldName()
              + ")";
    } else {
      expression =
          "dot"
              + suffix
              + "("
              + weight
              + ", "
              + rowStart
              + ", "
              + linear.in().name()
              + ", r * "
              + in
              + ", "
              + in
              + ")";
    }
    if (linear.bias() != null) {
      expression += " + " + linear.bias().fieldName() + ".get(o)";
    }
    return expression;
  }

  /** The helper method computing the gated MLP's activation: {@code silu}, {@code geluTanh}. */
  static String activationMethod(dev.kiln.Activation function) {
    return switch (function) {
      case SILU -> "silu";
      case GELU_TANH -> "geluTanh";
    };
  }

  /**
   * The statement storing {@code expression} as element (r, o) of {@code value}, soft-capped first
   * when the kernel soft-caps that value (the final logits of Gemma 2).
   */
  CodeBlock store(Kernel kernel, Value value, String expression) {
    CodeBlock result = CodeBlock.of("$L", expression);
    if (kernel.opsOf(Op.Softcap.class).stream().anyMatch(s -> s.target().equals(value))) {
      result =
          CodeBlock.of(
              "FINAL_LOGIT_SOFTCAPPING * $T.tanh($L / FINAL_LOGIT_SOFTCAPPING)",
              GeneratedTypes.MATH,
              expression);
    }
    Destination destination = kernel.destination(value);
    String target = planner.location(kernel, value).name();
    String index = "r * " + destination.value().width().constantName() + " + o";
    String cacheIndex = "rowInfo.get(ROW_INFO_START + r * ROW_FIELDS + CACHE_OFFSET) + o";
    return switch (destination.kind()) {
      case LOGITS -> CodeBlock.of("logits.set(o, $L)", result);
      case KEY_CACHE, VALUE_CACHE -> CodeBlock.of("$L.set($L, $L)", target, cacheIndex, result);
      case ADD_INTO ->
          CodeBlock.of("$L.set($L, $L.get($L) + $L)", target, index, target, index, result);
      case STORE -> CodeBlock.of("$L.set($L, $L)", target, index, result);
    };
  }

  /**
   * One thread per (row, head) of every normalized value: the head's RMSNorm over HEAD_DIM, in
   * place (q in its buffer, k where the projection wrote it in the cache).
   */
  private CodeBlock headNorm(Task task) {
    List<Op.HeadRmsNorm> norms = task.kernel().opsOf(Op.HeadRmsNorm.class);
    String all = normedHeads(task);
    CodeBlock.Builder code =
        CodeBlock.builder()
            .addStatement("int index = context.globalIdx")
            .addStatement("int r = index / ($L)", all)
            .beginControlFlow("if (r < rowInfo.get(0))")
            .addStatement("int head = index % ($L)", all);
    String first = "0";
    for (int n = 0; n < norms.size(); n++) {
      Op.HeadRmsNorm norm = norms.get(n);
      String end = first.equals("0") ? heads(norm) : first + " + " + heads(norm);
      if (norms.size() > 1) {
        if (n == 0) {
          code.beginControlFlow("if (head < $L)", end);
        } else if (n < norms.size() - 1) {
          code.nextControlFlow("else if (head < $L)", end);
        } else {
          code.nextControlFlow("else");
        }
      }
      Param target = planner.location(task.kernel(), norm.target());
      String start =
          task.kernel().destination(norm.target()).kind() == Destination.Kind.KEY_CACHE
              ? "rowInfo.get(ROW_INFO_START + r * ROW_FIELDS + CACHE_OFFSET)"
              : "r * " + norm.target().width().constantName();
      String headIndex =
          first.equals("0")
              ? "head"
              : first.contains(" ") ? "(head - (" + first + "))" : "(head - " + first + ")";
      code.addStatement(
          "headRmsNorm($N, $L + $L * HEAD_DIM, $N)",
          target.name(),
          start,
          headIndex,
          norm.gain().fieldName());
      first = end;
    }
    if (norms.size() > 1) {
      code.endControlFlow();
    }
    return code.endControlFlow().build();
  }

  private CodeBlock rope(Task task) {
    CodeBlock.Builder code =
        CodeBlock.builder()
            .addStatement("int index = context.globalIdx")
            .addStatement("int r = index / (HEAD_DIM / 2)")
            .beginControlFlow("if (r < rowInfo.get(0))")
            .addStatement("int i = index % (HEAD_DIM / 2)")
            .addStatement(
                "int angle = rowInfo.get(ROW_INFO_START + r * ROW_FIELDS + POSITION) * (HEAD_DIM / 2) + i")
            .addStatement("float cos = ropeCos.get(angle)")
            .addStatement("float sin = ropeSin.get(angle)");
    for (Op.Rope rope : task.kernel().opsOf(Op.Rope.class)) {
      Param target = planner.location(task.kernel(), rope.target());
      String heads = rope.keyHeads() ? "NUM_KEY_VALUE_HEADS" : "NUM_ATTENTION_HEADS";
      String start =
          task.kernel().destination(rope.target()).kind() == Destination.Kind.KEY_CACHE
              ? "rowInfo.get(ROW_INFO_START + r * ROW_FIELDS + CACHE_OFFSET)"
              : "r * " + rope.target().width().constantName();
      code.addStatement("int $LStart = $L", rope.target().name(), start)
          .beginControlFlow("for (int head = 0; head < $L; head++)", heads)
          .addStatement(
              "rotate($N, $LStart + head * HEAD_DIM + i, cos, sin)",
              target.name(),
              rope.target().name())
          .endControlFlow();
    }
    return code.endControlFlow().build();
  }

  private CodeBlock attention(Task task) {
    Op.AttentionScores scores = (Op.AttentionScores) task.kernel().ops().getFirst();
    Op.WeightedValues weighted = (Op.WeightedValues) task.kernel().ops().getLast();
    boolean softmax = spec.scoreNormalization() == ScoreNormalization.SOFTMAX;
    String q = scores.q().name();
    String out = weighted.out().name();
    CodeBlock.Builder code =
        CodeBlock.builder()
            .addStatement("int index = context.globalIdx")
            .addStatement("int r = index / NUM_ATTENTION_HEADS")
            .beginControlFlow("if (r < rowInfo.get(0))")
            .addStatement("int head = index % NUM_ATTENTION_HEADS")
            .addStatement("int qHead = r * $L + head * HEAD_DIM", scores.q().width().constantName())
            .addStatement(
                "int outHead = r * $L + head * HEAD_DIM", weighted.out().width().constantName())
            .addStatement(
                "int kvHead = rowInfo.get(ROW_INFO_START + r * ROW_FIELDS + SEQUENCE_START) + head / KV_GROUP_SIZE * HEAD_DIM")
            .addStatement("int end = rowInfo.get(ROW_INFO_START + r * ROW_FIELDS + ATTEND_END)");
    String start = "0";
    if (scores.windowed()) {
      code.add(
              "// this layer's sliding window (0: none): the last slidingWindow positions up to this one\n")
          .addStatement("int window = slidingWindow.get(0)")
          .addStatement("int start = window > 0 && end > window ? end - window : 0");
      start = "start";
    }
    code.beginControlFlow("for (int d = 0; d < HEAD_DIM; d++)")
        .addStatement("$N.set(outHead + d, 0f)", out)
        .endControlFlow();
    if (softmax) {
      code.addStatement("float max = Float.NEGATIVE_INFINITY").addStatement("float sum = 0f");
    }
    code.beginControlFlow("for (int t = $L; t < end; t++)", start)
        .addStatement("int kv = kvHead + t * KV_DIM")
        .addStatement("float score = 0f")
        .beginControlFlow("for (int d = 0; d < HEAD_DIM; d++)")
        .addStatement("score += $N.get(qHead + d) * keyCache.get(kv + d)", q)
        .endControlFlow()
        .addStatement("score *= ATTENTION_SCALE");
    if (scores.softcapped()) {
      code.addStatement(
          "score = ATTN_LOGIT_SOFTCAPPING * $T.tanh(score / ATTN_LOGIT_SOFTCAPPING)",
          GeneratedTypes.MATH);
    }
    String weight = "score";
    if (softmax) {
      code.beginControlFlow("if (score > max)")
          .addStatement("float rescale = $T.exp(max - score)", GeneratedTypes.MATH)
          .addStatement("sum *= rescale")
          .beginControlFlow("for (int d = 0; d < HEAD_DIM; d++)")
          .addStatement("$N.set(outHead + d, $N.get(outHead + d) * rescale)", out, out)
          .endControlFlow()
          .addStatement("max = score")
          .endControlFlow()
          .addStatement("float weight = $T.exp(score - max)", GeneratedTypes.MATH)
          .addStatement("sum += weight");
      weight = "weight";
    }
    code.beginControlFlow("for (int d = 0; d < HEAD_DIM; d++)")
        .addStatement(
            "$N.set(outHead + d, $N.get(outHead + d) + $L * valueCache.get(kv + d))",
            out,
            out,
            weight)
        .endControlFlow()
        .endControlFlow();
    if (softmax) {
      code.addStatement("float inverse = 1f / sum")
          .beginControlFlow("for (int d = 0; d < HEAD_DIM; d++)")
          .addStatement("$N.set(outHead + d, $N.get(outHead + d) * inverse)", out, out)
          .endControlFlow();
    }
    return code.endControlFlow().build();
  }

  /**
   * {@code x += branch * normScale * gain}: the branch's RMSNorm applied as it is added to the
   * stream.
   */
  private static CodeBlock normResidualAdd(Task task) {
    Op.RmsNorm norm = (Op.RmsNorm) task.kernel().ops().get(0);
    return CodeBlock.builder()
        .addStatement("int index = context.globalIdx")
        .addStatement("int r = index / HIDDEN_SIZE")
        .beginControlFlow("if (r < rowInfo.get(0))")
        .addStatement("int i = index % HIDDEN_SIZE")
        .addStatement(
            "x.set(index, x.get(index) + branch.get(index) * normScale.get(r) * $L)",
            gain("gain", "i", norm.unitOffset()))
        .endControlFlow()
        .build();
  }

  private static CodeBlock residualAdd(Task task) {
    Op.Add add = (Op.Add) task.kernel().single();
    String target = add.out().name();
    String addend = add.b().name();
    return CodeBlock.builder()
        .addStatement("int index = context.globalIdx")
        .beginControlFlow("if (index < rowInfo.get(0) * HIDDEN_SIZE)")
        .addStatement("$N.set(index, $N.get(index) + $N.get(index))", target, target, addend)
        .endControlFlow()
        .build();
  }
}
