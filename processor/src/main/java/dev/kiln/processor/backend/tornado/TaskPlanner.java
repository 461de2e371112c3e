package dev.kiln.processor.backend.tornado;

import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.plan.Destination;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.processor.plan.KernelPlan;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.TensorKind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns the kernel plan (the same plan the Java backend emits) into TornadoVM tasks: one or more
 * tasks per planned kernel, in plan order, grouped into the embedding graph, one graph per layer
 * and the logits graph. A planned kernel becomes several tasks only where a GPU needs a boundary
 * the CPU does not: an RMSNorm's reduction and its finalize step run before the projection (or the
 * residual add) that applies it, and the per-head norms of q and k and RoPE run after the
 * projection that produces q and k.
 *
 * <p>Two layouts of the same plan: {@code cpu} (a thread per output feature, a thread per row and
 * head over the whole cache, the RMSNorm in a reduce and a finalize task) and {@code gpu} (a
 * work-group per projection row with a local reduction, attention split over positions and heads
 * with a combine task, the RMSNorm in one work-group per row). Both have the same task graphs and
 * share the element-wise tasks.
 */
final class TaskPlanner {
  /** TornadoVM's {@code TaskGraph.task} overloads take at most this many arguments. */
  static final int MAX_TASK_ARGUMENTS = 20;

  /** What a task method's parameter is, which decides how the graph transfers it. */
  enum Role {
    /** The {@code KernelContext}. */
    CONTEXT,
    /**
     * Per-row token, position and cache offsets: sent every execution, then passed graph to graph.
     */
    ROW_INFO,
    /**
     * An activation array, created on the device by the embedding graph and passed graph to graph.
     */
    ACTIVATION,
    /**
     * Weights, the layer's KV cache and RoPE tables: sent once, on the first execution of their
     * graph.
     */
    RESIDENT,
    /**
     * Ints of a layer sent once with its weights (the layer's sliding window): an {@code IntArray}.
     */
    RESIDENT_INTS,
    /** Which row the logits graph computes: sent every execution of the logits graph. */
    LOGITS_ROW,
    /** The logits: brought back to the host after every execution of the logits graph. */
    LOGITS
  }

  /**
   * One parameter of a task method.
   *
   * @param argument the expression the graph passes (for a matrix, without the cast to its array
   *     type)
   * @param matrix whether the array type depends on the weight type (FloatArray for F32, ByteArray
   *     for Q8_0)
   */
  record Param(String name, String argument, Role role, boolean matrix) {}

  enum Kind {
    EMBEDDING,
    NORM_REDUCE,
    NORM_FINALIZE,
    PROJECTION,
    HEAD_NORM,
    ROPE,
    ATTENTION,
    NORM_RESIDUAL_ADD,
    RESIDUAL_ADD,
    /** gpu layout: a row's RMSNorm scale, one work-group per row. */
    NORM_ROW,
    /**
     * gpu layout: attention over one split of the positions, one work-group per (row, head, split).
     */
    ATTENTION_SPLIT,
    /**
     * gpu layout: the splits' partial softmax results combined, one thread per (row, head,
     * dimension).
     */
    ATTENTION_COMBINE
  }

  /**
   * One TornadoVM task.
   *
   * @param graph {@code embedding}, {@code layer} (one graph per layer) or {@code logits}
   * @param name the task's name within its graph, e.g. {@code qkv_projection}
   * @param method the task method's name, before any weight-type suffix
   * @param kernel the planned kernel this task (partly) implements
   * @param matrices the weight matrices the task reads; non-empty tasks come in a variant per
   *     weight type the device keeps (cpu layout: F32, Q8_0; gpu layout: F32, F16, Q8_0, Q4_0)
   * @param gpu whether the task belongs to the gpu layout
   */
  record Task(
      String graph,
      String name,
      String method,
      Kind kind,
      Kernel kernel,
      List<Param> params,
      List<TensorKind> matrices,
      boolean gpu) {}

  private final KernelPlan plan;
  private final Map<Kernel, String> kernelNames;
  private final Set<Value> activations = new LinkedHashSet<>();
  private boolean usesNorm;
  private boolean usesSplits;
  private final boolean gpu;

  TaskPlanner(KernelPlan plan, boolean gpu) {
    this.plan = plan;
    this.gpu = gpu;
    this.kernelNames = plan.uniqueNames();
  }

  /** The activation arrays the tasks pass from graph to graph (known after {@link #plan()}). */
  Set<Value> activations() {
    return activations;
  }

  boolean usesNorm() {
    return usesNorm;
  }

  /** Whether attention runs split over positions (the gpu layout), with its scratch arrays. */
  boolean usesSplits() {
    return usesSplits;
  }

  boolean gpu() {
    return gpu;
  }

  List<Task> plan() {
    List<Task> tasks = new ArrayList<>();
    String[] graphs = {"embedding", "layer", "logits"};
    for (int s = 0; s < 3; s++) {
      Map<String, Integer> seen = new HashMap<>();
      for (Kernel kernel : plan.sections().get(s)) {
        for (Task task : tasksOf(graphs[s], kernel)) {
          int count = seen.merge(task.name(), 1, Integer::sum);
          Task named =
              count == 1
                  ? task
                  : new Task(
                      task.graph(),
                      task.name() + "_" + count,
                      task.method() + count,
                      task.kind(),
                      task.kernel(),
                      task.params(),
                      task.matrices(),
                      task.gpu());
          check(named);
          tasks.add(named);
        }
      }
    }
    return tasks;
  }

  private void check(Task task) {
    if (task.params().size() > MAX_TASK_ARGUMENTS) {
      throw new TornadoPlanException(
          "task "
              + task.graph()
              + "."
              + task.name()
              + " (kernel "
              + kernelNames.get(task.kernel())
              + ") needs "
              + task.params().size()
              + " arguments; a TornadoVM task takes at most "
              + MAX_TASK_ARGUMENTS);
    }
  }

  String kernelName(Kernel kernel) {
    return kernelNames.get(kernel);
  }

  private List<Task> tasksOf(String graph, Kernel kernel) {
    if (kernel.shape() == null) {
      throw new TornadoPlanException("kernel " + kernel + " fits no TornadoVM template");
    }
    return switch (kernel.shape()) {
      case EMBEDDING -> List.of(embedding(graph, (Op.Embed) kernel.single(), kernel));
      case RESIDUAL_ADD -> List.of(residualAdd(graph, (Op.Add) kernel.single(), kernel));
      case NORM_RESIDUAL_ADD -> normResidualAdd(graph, kernel);
      case ATTENTION -> attention(graph, kernel);
      case PROJECTION -> projection(graph, kernel);
    };
  }

  private Task embedding(String graph, Op.Embed embed, Kernel kernel) {
    return task(
        graph,
        "embed_tokens",
        "embedTokens",
        Kind.EMBEDDING,
        kernel,
        List.of(
            context(),
            rowInfo(),
            resident(GlobalTensor.EMBED_TOKENS, true),
            activation(embed.out())),
        List.of(GlobalTensor.EMBED_TOKENS));
  }

  private Task residualAdd(String graph, Op.Add add, Kernel kernel) {
    if (!add.a().equals(add.out())) {
      throw new TornadoPlanException(
          "residual add " + add + " does not add into its first operand");
    }
    return task(
        graph,
        "residual_add",
        "residualAdd",
        Kind.RESIDUAL_ADD,
        kernel,
        List.of(context(), rowInfo(), activation(add.out()), activation(add.b())),
        List.of());
  }

  private List<Task> attention(String graph, Kernel kernel) {
    Op.AttentionScores scores = (Op.AttentionScores) kernel.ops().getFirst();
    Op.WeightedValues weighted = (Op.WeightedValues) kernel.ops().getLast();
    Param window = new Param("slidingWindow", "layer.slidingWindow", Role.RESIDENT_INTS, false);
    if (gpu) {
      List<Param> split =
          new ArrayList<>(
              List.of(
                  context(),
                  rowInfo(),
                  activation(scores.q()),
                  cache("keyCache"),
                  cache("valueCache"),
                  normBuffer("splitMax"),
                  normBuffer("splitSum"),
                  normBuffer("splitOut")));
      if (scores.windowed()) {
        split.add(window);
      }
      usesSplits = true;
      return List.of(
          task(
              graph,
              "attention_split",
              "attentionSplit",
              Kind.ATTENTION_SPLIT,
              kernel,
              split,
              List.of()),
          task(
              graph,
              "attention_combine",
              "attentionCombine",
              Kind.ATTENTION_COMBINE,
              kernel,
              List.of(
                  context(),
                  rowInfo(),
                  normBuffer("splitMax"),
                  normBuffer("splitSum"),
                  normBuffer("splitOut"),
                  activation(weighted.out())),
              List.of()));
    }
    List<Param> params =
        new ArrayList<>(
            List.of(
                context(),
                rowInfo(),
                activation(scores.q()),
                cache("keyCache"),
                cache("valueCache"),
                activation(weighted.out())));
    if (scores.windowed()) {
      params.add(window);
    }
    return List.of(
        task(graph, "attention", "attention", Kind.ATTENTION, kernel, params, List.of()));
  }

  /**
   * A residual branch's output normalized and added to the stream (sandwich norms): the norm's two
   * steps over the branch, then one task adding {@code branch * scale * gain} into the stream.
   */
  private List<Task> normResidualAdd(String graph, Kernel kernel) {
    Op.RmsNorm rms = (Op.RmsNorm) kernel.ops().get(0);
    Op.Add add = (Op.Add) kernel.ops().get(1);
    if (!add.a().equals(add.out())) {
      throw new TornadoPlanException(
          "residual add " + add + " does not add into its first operand");
    }
    List<Task> tasks = new ArrayList<>(normTasks(graph, kernel, rms));
    String normName = snake(rms.gain().fieldName());
    tasks.add(
        task(
            graph,
            normName + "_add",
            "normResidualAdd",
            Kind.NORM_RESIDUAL_ADD,
            kernel,
            List.of(
                context(),
                rowInfo(),
                activation(add.out()),
                renamed(activation(rms.in()), "branch"),
                normBuffer("normScale"),
                renamed(resident(rms.gain(), false), "gain")),
            List.of()));
    return tasks;
  }

  /**
   * An RMSNorm's reduction and finalize tasks, which leave each row's scale in normScale. Their
   * methods serve every norm (the input is passed as {@code x}).
   */
  private List<Task> normTasks(String graph, Kernel kernel, Op.RmsNorm rms) {
    usesNorm = true;
    String normName = snake(rms.gain().fieldName());
    if (gpu) {
      return List.of(
          task(
              graph,
              normName + "_scale",
              "rmsNormRow",
              Kind.NORM_ROW,
              kernel,
              List.of(
                  context(),
                  rowInfo(),
                  renamed(activation(rms.in()), "x"),
                  normBuffer("normScale")),
              List.of()));
    }
    return List.of(
        task(
            graph,
            normName + "_reduce",
            "rmsNormReduce",
            Kind.NORM_REDUCE,
            kernel,
            List.of(
                context(),
                rowInfo(),
                renamed(activation(rms.in()), "x"),
                normBuffer("normPartials")),
            List.of()),
        task(
            graph,
            normName + "_finalize",
            "rmsNormFinalize",
            Kind.NORM_FINALIZE,
            kernel,
            List.of(context(), rowInfo(), normBuffer("normPartials"), normBuffer("normScale")),
            List.of()));
  }

  private Task task(
      String graph,
      String name,
      String method,
      Kind kind,
      Kernel kernel,
      List<Param> params,
      List<TensorKind> matrices) {
    return new Task(graph, name, method, kind, kernel, params, matrices, gpu);
  }

  /**
   * The same argument under another parameter name (for a task method that serves several arrays).
   */
  private static Param renamed(Param param, String name) {
    return new Param(name, param.argument(), param.role(), param.matrix());
  }

  private List<Task> projection(String graph, Kernel kernel) {
    List<Task> tasks = new ArrayList<>();
    List<Op.Linear> linears = kernel.opsOf(Op.Linear.class);
    Optional<Op.RmsNorm> norm = kernel.opsOf(Op.RmsNorm.class).stream().findFirst();
    boolean logits = linears.stream().anyMatch(l -> l.out().equals(Value.LOGITS));
    String base = projectionName(kernel, linears);

    Value input = linears.getFirst().in();
    for (Op.Linear linear : linears) {
      if (!linear.in().equals(input)) {
        throw new TornadoPlanException(
            "projections of kernel " + kernelNames.get(kernel) + " read different inputs");
      }
    }
    List<Param> params = new ArrayList<>(List.of(context(), rowInfo()));
    if (logits) {
      params.add(new Param("logitsRow", "logitsRow", Role.LOGITS_ROW, false));
    }
    if (norm.isPresent()) {
      Op.RmsNorm rms = norm.get();
      if (!rms.out().equals(input)) {
        throw new TornadoPlanException(
            "kernel "
                + kernelNames.get(kernel)
                + " normalizes a value its projections do not read");
      }
      tasks.addAll(normTasks(graph, kernel, rms));
      params.add(activation(rms.in()));
      params.add(normBuffer("normScale"));
      params.add(resident(rms.gain(), false));
    } else {
      params.add(activation(input));
    }
    List<TensorKind> matrices = new ArrayList<>();
    for (Op.Linear linear : linears) {
      params.add(resident(linear.weight(), true));
      matrices.add(linear.weight());
      if (linear.bias() != null) {
        params.add(resident(linear.bias(), false));
      }
    }
    for (Param output : outputs(kernel, linears)) {
      if (params.stream().noneMatch(p -> p.name().equals(output.name()))) {
        params.add(output);
      }
    }
    tasks.add(
        task(
            graph,
            base,
            camel(base) + (gpu ? "Gpu" : ""),
            Kind.PROJECTION,
            kernel,
            params,
            matrices));

    List<Op.HeadRmsNorm> headNorms = kernel.opsOf(Op.HeadRmsNorm.class);
    if (!headNorms.isEmpty()) {
      List<Param> normParams = new ArrayList<>(List.of(context(), rowInfo()));
      for (Op.HeadRmsNorm headNorm : headNorms) {
        Param target = location(kernel, headNorm.target());
        if (normParams.stream().noneMatch(p -> p.name().equals(target.name()))) {
          normParams.add(target);
        }
        normParams.add(resident(headNorm.gain(), false));
      }
      String name =
          headNorms.stream().map(h -> h.target().name()).reduce("", String::concat) + "_norm";
      tasks.add(task(graph, name, camel(name), Kind.HEAD_NORM, kernel, normParams, List.of()));
    }

    List<Op.Rope> ropes = kernel.opsOf(Op.Rope.class);
    if (!ropes.isEmpty()) {
      List<Param> ropeParams = new ArrayList<>(List.of(context(), rowInfo()));
      for (Op.Rope rope : ropes) {
        Param target = location(kernel, rope.target());
        if (ropeParams.stream().noneMatch(p -> p.name().equals(target.name()))) {
          ropeParams.add(target);
        }
      }
      ropeParams.add(new Param("ropeCos", "ropeCos", Role.RESIDENT, false));
      ropeParams.add(new Param("ropeSin", "ropeSin", Role.RESIDENT, false));
      tasks.add(task(graph, "rope", "rope", Kind.ROPE, kernel, ropeParams, List.of()));
    }
    return tasks;
  }

  /** Where the projection's results go: buffers, the cache, the residual stream, the logits. */
  private List<Param> outputs(Kernel kernel, List<Op.Linear> linears) {
    List<Value> produced = new ArrayList<>();
    List<Op.Multiply> multiplies = kernel.opsOf(Op.Multiply.class);
    if (!kernel.opsOf(Op.Activate.class).isEmpty()) {
      produced.add(multiplies.getFirst().out());
    } else {
      linears.forEach(l -> produced.add(l.out()));
    }
    List<Param> params = new ArrayList<>();
    for (Value value : produced) {
      params.add(location(kernel, value));
    }
    return params;
  }

  /** The array that holds {@code value} once the kernel has stored it. */
  Param location(Kernel kernel, Value value) {
    Destination destination = kernel.destination(value);
    return switch (destination.kind()) {
      case LOGITS -> new Param("logits", "logits", Role.LOGITS, false);
      case KEY_CACHE -> cache("keyCache");
      case VALUE_CACHE -> cache("valueCache");
      case ADD_INTO, STORE -> activation(destination.value());
    };
  }

  private static String projectionName(Kernel kernel, List<Op.Linear> linears) {
    List<TensorKind> weights = linears.stream().map(Op.Linear::weight).toList();
    if (weights.equals(List.of(LayerTensor.Q_PROJ, LayerTensor.K_PROJ, LayerTensor.V_PROJ))) {
      return "qkv_projection";
    }
    if (weights.equals(List.of(LayerTensor.GATE_PROJ, LayerTensor.UP_PROJ))
        && !kernel.opsOf(Op.Activate.class).isEmpty()) {
      return switch (kernel.opsOf(Op.Activate.class).getFirst().function()) {
        case SILU -> "gate_up_silu";
        case GELU_TANH -> "gate_up_gelu";
      };
    }
    if (weights.equals(List.of(LayerTensor.O_PROJ))) {
      return "output_projection";
    }
    if (weights.equals(List.of(LayerTensor.DOWN_PROJ))) {
      return "down_projection";
    }
    if (weights.equals(List.of(GlobalTensor.LM_HEAD))
        || weights.equals(List.of(GlobalTensor.EMBED_TOKENS))) {
      return "lm_head";
    }
    return String.join("_", weights.stream().map(w -> snake(w.fieldName())).toList())
        + "_projection";
  }

  private Param activation(Value value) {
    if (value.width() == null) {
      throw new TornadoPlanException(value + " cannot be stored as rows");
    }
    activations.add(value);
    return new Param(value.name(), value.name(), Role.ACTIVATION, false);
  }

  private static Param normBuffer(String name) {
    return new Param(name, name, Role.ACTIVATION, false);
  }

  private static Param context() {
    return new Param("context", "context", Role.CONTEXT, false);
  }

  private static Param rowInfo() {
    return new Param("rowInfo", "rowInfo", Role.ROW_INFO, false);
  }

  private static Param cache(String name) {
    return new Param(name, "layer." + name, Role.RESIDENT, false);
  }

  /** A weight tensor: the layer's ({@code layer.qProj}) or the model's ({@code lmHead}). */
  private static Param resident(TensorKind kind, boolean matrix) {
    String owner = kind instanceof LayerTensor ? "layer." : "";
    return new Param(kind.fieldName(), owner + kind.fieldName(), Role.RESIDENT, matrix);
  }

  static String snake(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
  }

  static String camel(String snake) {
    StringBuilder out = new StringBuilder();
    boolean upper = false;
    for (char c : snake.toCharArray()) {
      if (c == '_') {
        upper = true;
      } else {
        out.append(upper ? Character.toUpperCase(c) : c);
        upper = false;
      }
    }
    return out.toString();
  }
}
