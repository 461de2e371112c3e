package dev.kiln.processor.backend.tornado;

import com.palantir.javapoet.ArrayTypeName;
import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.FieldSpec;
import com.palantir.javapoet.JavaFile;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.ParameterizedTypeName;
import com.palantir.javapoet.TypeName;
import com.palantir.javapoet.TypeSpec;
import dev.kiln.Activation;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.RopeScaling;
import dev.kiln.ir.Value;
import dev.kiln.processor.GeneratedNames;
import dev.kiln.processor.backend.GeneratedFile;
import dev.kiln.processor.backend.GeneratedTypes;
import dev.kiln.processor.backend.SpecConstants;
import dev.kiln.processor.backend.tornado.TaskPlanner.Param;
import dev.kiln.processor.backend.tornado.TaskPlanner.Role;
import dev.kiln.processor.backend.tornado.TaskPlanner.Task;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.processor.plan.KernelPlan;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.Dtype;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.Q8_0Tensor;
import dev.kiln.weights.TensorKind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.lang.model.element.Modifier;

/**
 * Emits {@code XTornadoDecoder}: the plan's kernels as TornadoVM tasks (see {@link TaskPlanner}),
 * an embedding graph, one graph per layer and a logits graph in one execution plan, with weights
 * and the KV cache resident on the device.
 */
final class TornadoDecoderWriter {
  /** Threads per work-group of the one-dimensional tasks. */
  static final int LOCAL_SIZE = 64;

  private final KernelPlan plan;
  private final ResolvedSpec spec;
  private final GeneratedNames names;
  private final TaskPlanner planner;
  private final TaskPlanner gpuPlanner;

  /** The cpu layout's tasks. */
  private final List<Task> tasks;

  /** The gpu layout's tasks. */
  private final List<Task> gpuTasks;

  /** Both, for what they share (weights, activations, methods). */
  private final List<Task> allTasks;

  private final KernelBodies bodies;
  private final ClassName self;

  TornadoDecoderWriter(KernelPlan plan, GeneratedNames names) {
    this.plan = plan;
    this.spec = plan.spec();
    this.names = names;
    this.planner = new TaskPlanner(plan, false);
    this.tasks = planner.plan();
    this.gpuPlanner = new TaskPlanner(plan, true);
    this.gpuTasks = gpuPlanner.plan();
    this.allTasks = concatTasks(tasks, gpuTasks);
    this.bodies = new KernelBodies(spec, planner);
    this.self = names.tornadoDecoder();
  }

  /** Each task of the cpu layout as {@code graph.task <- planned kernel}, in execution order. */
  List<String> taskLines() {
    return taskLines(tasks);
  }

  /** Likewise for the gpu layout. */
  List<String> gpuTaskLines() {
    return taskLines(gpuTasks);
  }

  private List<String> taskLines(List<Task> list) {
    return list.stream()
        .map(t -> t.graph() + "." + t.name() + " <- " + planner.kernelName(t.kernel()))
        .toList();
  }

  private static List<Task> concatTasks(List<Task> a, List<Task> b) {
    List<Task> result = new ArrayList<>(a);
    result.addAll(b);
    return List.copyOf(result);
  }

  /** The weight types a layout's matrix tasks come in. */
  private static List<Dtype> types(boolean gpu) {
    return gpu
        ? List.of(Dtype.F32, Dtype.F16, Dtype.Q8_0, Dtype.Q4_0)
        : List.of(Dtype.F32, Dtype.Q8_0);
  }

  JavaFile write() {
    TypeSpec.Builder type =
        GeneratedFile.publicFinalClass(self, names)
            .superclass(GeneratedTypes.GENERATED_DECODER)
            .addSuperinterface(AutoCloseable.class);
    classJavadoc(type);
    type.addField(
        FieldSpec.builder(
                GeneratedTypes.MODEL_SPEC, "SPEC", Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
            .addJavadoc("The spec this decoder was generated from.\n")
            .initializer("$T.SPEC", names.decoder())
            .build());
    // the decoder's kernels and attention in one class: every constant, once
    type.addFields(SpecConstants.fields(spec));
    layoutConstants(type);
    type.addField(
        FieldSpec.builder(
                ParameterizedTypeName.get(GeneratedTypes.LIST, ClassName.get(String.class)),
                "PLANNED_KERNELS",
                Modifier.PUBLIC,
                Modifier.STATIC,
                Modifier.FINAL)
            .addJavadoc(
                "The kernel plan this decoder runs, by kernel name: the same plan, in the same order, as\n")
            .addJavadoc("{@link $T}'s kernel methods.\n", names.decoder())
            .initializer(
                "$T.of($L)",
                GeneratedTypes.LIST,
                String.join(", ", plannedKernels().stream().map(k -> "\"" + k + "\"").toList()))
            .build());
    type.addField(
        FieldSpec.builder(
                ParameterizedTypeName.get(GeneratedTypes.LIST, ClassName.get(String.class)),
                "TASKS",
                Modifier.PUBLIC,
                Modifier.STATIC,
                Modifier.FINAL)
            .addJavadoc(
                "Every task of the cpu layout as {@code graph.task <- planned kernel}; {@code layer} stands for each\n")
            .addJavadoc("{@code layer_i}.\n")
            .initializer(
                "$T.of($L)",
                GeneratedTypes.LIST,
                String.join(",\n    ", taskLines().stream().map(t -> "\"" + t + "\"").toList()))
            .build());
    type.addField(
        FieldSpec.builder(
                ParameterizedTypeName.get(GeneratedTypes.LIST, ClassName.get(String.class)),
                "GPU_TASKS",
                Modifier.PUBLIC,
                Modifier.STATIC,
                Modifier.FINAL)
            .addJavadoc("Every task of the gpu layout, as {@link #TASKS}.\n")
            .initializer(
                "$T.of($L)",
                GeneratedTypes.LIST,
                String.join(",\n    ", gpuTaskLines().stream().map(t -> "\"" + t + "\"").toList()))
            .build());

    fields(type);
    type.addType(layerArrays());
    type.addMethod(constructor());
    type.addMethod(
        MethodSpec.constructorBuilder()
            .addModifiers(Modifier.PUBLIC)
            .addJavadoc(
                "A decoder on the device chosen by {@link $T#selectedDevice()}.\n",
                GeneratedTypes.TORNADO_SUPPORT)
            .addParameter(names.weights(), "weights")
            .addStatement("this(weights, $T.selectedDevice())", GeneratedTypes.TORNADO_SUPPORT)
            .build());
    type.addMethod(buildPlan(tasks, "buildCpuPlan", false));
    type.addMethod(buildPlan(gpuTasks, "buildGpuPlan", true));
    type.addMethod(grid());
    type.addMethod(forward());
    type.addMethod(
        MethodSpec.methodBuilder("device")
            .addModifiers(Modifier.PUBLIC)
            .addJavadoc("The device the tasks run on.\n")
            .returns(GeneratedTypes.DEVICE)
            .addStatement("return device")
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("layout")
            .addModifiers(Modifier.PUBLIC)
            .addJavadoc(
                "The kernels' layout: {@code gpu} or {@code cpu} ({@link $T#layout}).\n",
                GeneratedTypes.TORNADO_SUPPORT)
            .returns(String.class)
            .addStatement("return gpu ? $S : $S", "gpu", "cpu")
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("close")
            .addAnnotation(Override.class)
            .addModifiers(Modifier.PUBLIC)
            .addJavadoc("Frees the device memory of the plan.\n")
            .addStatement("$T.close(executionPlan)", GeneratedTypes.TORNADO_SUPPORT)
            .build());
    if (spec.positionEncoding() == PositionEncoding.ROPE) {
      if (spec.ropeScaling() != RopeScaling.NONE) {
        type.addField(scaledFrequencies());
      }
      type.addMethod(ropeTable());
    }
    Set<String> emitted = new LinkedHashSet<>();
    for (Task task : allTasks) {
      // one method serves every task of the same template (the RMSNorm steps, the layouts' shared
      // tasks)
      if (task.matrices().isEmpty()) {
        if (emitted.add(task.method())) {
          type.addMethod(taskMethod(task, Dtype.F32, task.method()));
        }
      } else {
        for (Dtype weightType : types(task.gpu())) {
          if (emitted.add(task.method() + weightType.name())) {
            type.addMethod(taskMethod(task, weightType, task.method() + weightType.name()));
          }
        }
      }
    }
    helpers(type);
    return GeneratedFile.of(names, type.build());
  }

  private List<String> plannedKernels() {
    Map<Kernel, String> kernelNames = plan.uniqueNames();
    List<String> result = new ArrayList<>();
    for (List<Kernel> section : plan.sections()) {
      for (Kernel kernel : section) {
        result.add(kernelNames.get(kernel));
      }
    }
    return result;
  }

  private void classJavadoc(TypeSpec.Builder type) {
    type.addJavadoc(
            "Decoder for {@link $L} on a TornadoVM device (GPU, or CPU OpenCL), generated by Kiln from the same\n",
            names.specType())
        .addJavadoc(
            "kernel plan as {@link $T}: fusion is decided once and emitted twice.\n",
            names.decoder())
        .addJavadoc(
            "\n<p>One TornadoVM execution plan holds an {@code embedding} graph, a graph per layer\n")
        .addJavadoc(
            "({@code layer_0} ... {@code layer_$L}) and a {@code logits} graph. Weights and each layer's KV cache\n",
            spec.numHiddenLayers() - 1)
        .addJavadoc(
            "are sent to the device on the first execution and stay there; the activations pass from graph to\n")
        .addJavadoc(
            "graph on the device; per call only the rows' tokens and positions go in, and only the wanted\n")
        .addJavadoc(
            "logits come back. Up to ROW_CAPACITY rows (positions of one or more sequences) run per execution.\n")
        .addJavadoc("\n<p>Tasks of each layer:\n<ol>\n");
    for (Task task : tasks) {
      if (task.graph().equals("layer")) {
        type.addJavadoc("  <li>{@code $L}: $L\n", task.name(), describe(task));
      }
    }
    type.addJavadoc("</ol>\n")
        .addJavadoc(
            "\n<p>That is the {@code cpu} layout. The {@code gpu} layout ({@code -Dkiln.tornado.layout=gpu}, the\n")
        .addJavadoc(
            "default on GPUs) runs the same graphs with its own projections (a work-group per output row),\n")
        .addJavadoc(
            "RMSNorm (one task, a work-group per row) and attention (split over positions, then combined):\n<ol>\n");
    for (Task task : gpuTasks) {
      if (task.graph().equals("layer")) {
        type.addJavadoc("  <li>{@code $L}: $L\n", task.name(), describe(task));
      }
    }
    type.addJavadoc("</ol>\n")
        .addJavadoc(
            "\n<p>Matrices stored as Q8_0 run on the device as raw blocks ({@code ByteArray}, scale decoded\n")
        .addJavadoc(
            "arithmetically), in the gpu layout also F16 (raw halves, {@code ShortArray}) and Q4_0 (blocks);\n")
        .addJavadoc(
            "every other weight type runs as float32. The KV cache holds, per layer, keys and\n")
        .addJavadoc(
            "values of (2 x MAX_BATCH_SIZE, MAX_POSITION_EMBEDDINGS, KV_DIM) float32: the second half serves\n")
        .addJavadoc(
            "{@code forwardNoCache} so that it leaves the cache of {@code prefill}/{@code step} untouched.\n");
  }

  private String describe(Task task) {
    String kernel = planner.kernelName(task.kernel());
    return switch (task.kind()) {
      case NORM_REDUCE ->
          "RMSNorm step 1 of 2 (kernel {@code "
              + kernel
              + "}): sums of squares, a work-group reduction per"
              + " slice of each row";
      case NORM_FINALIZE ->
          "RMSNorm step 2 of 2 (kernel {@code "
              + kernel
              + "}): each row's scale from its partial sums";
      case NORM_ROW ->
          "RMSNorm (kernel {@code "
              + kernel
              + "}): each row's scale, a work-group per row reducing in local"
              + " memory";
      case ATTENTION_SPLIT ->
          "kernel {@code "
              + kernel
              + "}, step 1 of 2: a work-group per row, head and split of"
              + " ATTENTION_SPLIT positions: the split's softmax maximum, sum and unnormalized output";
      case ATTENTION_COMBINE ->
          "kernel {@code "
              + kernel
              + "}, step 2 of 2: the splits combined, a thread per row, head and"
              + " dimension";
      case ROPE ->
          "RoPE of kernel {@code " + kernel + "}, on q and on the keys just written to the cache";
      case HEAD_NORM ->
          "per-head RMSNorm of kernel {@code "
              + kernel
              + "} (over HEAD_DIM), on q and on the keys just written"
              + " to the cache, before RoPE";
      case NORM_RESIDUAL_ADD ->
          "kernel {@code "
              + kernel
              + "}: "
              + task.kernel().fusionDescription()
              + ", the RMSNorm of the two steps above applied to the branch as it is added to the stream";
      default -> "kernel {@code " + kernel + "}: " + task.kernel().fusionDescription();
    };
  }

  private void layoutConstants(TypeSpec.Builder type) {
    int rowCapacity =
        spec.causalMask()
            ? Math.min(64, spec.maxBatchSize() * spec.maxPositionEmbeddings())
            : spec.maxBatchSize() * spec.maxPositionEmbeddings();
    int normLocal = Math.min(256, Integer.highestOneBit(Math.max(1, spec.hiddenSize() - 1)) << 1);
    type.addField(
        constant(
            "ROW_CAPACITY",
            rowCapacity,
            spec.causalMask()
                ? "Rows per execution: GeneratedDecoder.CHUNK_ROWS (64), or fewer if the cache holds fewer"
                : "Rows per execution: MAX_BATCH_SIZE x MAX_POSITION_EMBEDDINGS, since without a causal mask a call's rows run at once"));
    type.addField(
        constant("LOCAL_SIZE", LOCAL_SIZE, "Threads per work-group of the one-dimensional tasks"));
    if (spec.norm() == NormKind.RMS_NORM) {
      type.addField(
          constant(
              "NORM_LOCAL_SIZE",
              normLocal,
              "Threads per work-group of the RMSNorm reduction (a power of two)"));
      type.addField(
          FieldSpec.builder(TypeName.INT, "NORM_GROUPS", Modifier.STATIC, Modifier.FINAL)
              .addJavadoc("Work-groups per row of the RMSNorm reduction\n")
              .initializer("(HIDDEN_SIZE + NORM_LOCAL_SIZE - 1) / NORM_LOCAL_SIZE")
              .build());
    }
    int headDim = spec.headDim();
    int split =
        Math.max(
            16,
            Math.min(
                256,
                Integer.highestOneBit(Math.max(1, (spec.maxPositionEmbeddings() + 15) / 16 - 1))
                    << 1));
    type.addField(
        constant(
            "PROJECTION_LOCAL",
            128,
            "gpu layout: threads per work-group of a projection (at most; fewer if the"
                + " device allows fewer), a power of two"));
    type.addField(
        constant(
            "ROW_TILE", 4, "gpu layout: rows a projection's work-group computes per weight read"));
    type.addField(
        constant(
            "ATTENTION_SPLIT",
            split,
            "gpu layout: positions per attention split (about"
                + " MAX_POSITION_EMBEDDINGS / 16, a power of two in [16, 256])"));
    type.addField(
        FieldSpec.builder(TypeName.INT, "ATTENTION_SPLITS", Modifier.STATIC, Modifier.FINAL)
            .addJavadoc("gpu layout: attention splits per row and head\n")
            .initializer("(MAX_POSITION_EMBEDDINGS + ATTENTION_SPLIT - 1) / ATTENTION_SPLIT")
            .build());
    type.addField(
        constant(
            "ATTENTION_LOCAL",
            Math.min(128, Math.max(32, Integer.highestOneBit(Math.max(1, headDim - 1)) << 1)),
            "gpu layout: threads per work-group of an attention split (at most), a power of two"));
    type.addField(
        constant(
            "ROW_FIELDS",
            5,
            "Ints per row in rowInfo: TOKEN, POSITION, CACHE_OFFSET, SEQUENCE_START, ATTEND_END"));
    type.addField(
        constant(
            "ROW_INFO_START",
            1,
            "Index of row 0's fields in rowInfo; rowInfo[0] is the number of rows"));
    String[] fields = {"TOKEN", "POSITION", "CACHE_OFFSET", "SEQUENCE_START", "ATTEND_END"};
    String[] docs = {
      "the row's token id",
      "the row's position in its sequence",
      "index of the row's keys and values in the layer's cache",
      "index of the row's sequence's position 0 in the cache",
      "positions the row attends to: [0, ATTEND_END)"
    };
    for (int i = 0; i < fields.length; i++) {
      type.addField(constant(fields[i], i, "rowInfo field: " + docs[i]));
    }
    type.addField(
        FieldSpec.builder(TypeName.INT, "CACHE_REGION", Modifier.STATIC, Modifier.FINAL)
            .addJavadoc(
                "Floats of one half of a layer's key (or value) cache: MAX_BATCH_SIZE x MAX_POSITION_EMBEDDINGS x KV_DIM\n")
            .initializer("MAX_BATCH_SIZE * MAX_POSITION_EMBEDDINGS * KV_DIM")
            .build());
  }

  private static FieldSpec constant(String name, int value, String doc) {
    return FieldSpec.builder(TypeName.INT, name, Modifier.STATIC, Modifier.FINAL)
        .addJavadoc("$L\n", doc)
        .initializer("$L", value)
        .build();
  }

  /** Activation arrays, in the order graphs pass them on. */
  private List<String> activationNames() {
    Set<String> result = new LinkedHashSet<>();
    for (Value value : planner.activations()) {
      result.add(value.name());
    }
    for (Value value : gpuPlanner.activations()) {
      result.add(value.name());
    }
    if (planner.usesNorm()) {
      result.add("normPartials");
      result.add("normScale");
    }
    if (gpuPlanner.usesSplits()) {
      result.add("splitMax");
      result.add("splitSum");
      result.add("splitOut");
    }
    return List.copyOf(result);
  }

  private String activationSize(String name) {
    return switch (name) {
      case "normPartials" -> "ROW_CAPACITY * NORM_GROUPS";
      case "normScale" -> "ROW_CAPACITY";
      case "splitMax", "splitSum" -> "ROW_CAPACITY * NUM_ATTENTION_HEADS * ATTENTION_SPLITS";
      case "splitOut" -> "ROW_CAPACITY * NUM_ATTENTION_HEADS * ATTENTION_SPLITS * HEAD_DIM";
      default ->
          "ROW_CAPACITY * "
              + java.util.stream.Stream.concat(
                      planner.activations().stream(), gpuPlanner.activations().stream())
                  .filter(v -> v.name().equals(name))
                  .findFirst()
                  .orElseThrow()
                  .width()
                  .constantName();
    };
  }

  private Set<TensorKind> globalTensors() {
    Set<TensorKind> result = new LinkedHashSet<>();
    for (Task task : allTasks) {
      for (Param param : task.params()) {
        for (GlobalTensor global : GlobalTensor.values()) {
          if (param.role() == Role.RESIDENT && param.argument().equals(global.fieldName())) {
            result.add(global);
          }
        }
      }
    }
    return result;
  }

  private Set<LayerTensor> layerTensors() {
    Set<LayerTensor> result = new LinkedHashSet<>();
    for (Task task : allTasks) {
      for (Param param : task.params()) {
        for (LayerTensor tensor : LayerTensor.values()) {
          if (param.argument().equals("layer." + tensor.fieldName())) {
            result.add(tensor);
          }
        }
      }
    }
    return result;
  }

  private static boolean isMatrix(TensorKind kind) {
    return kind.dims().size() == 2;
  }

  private void fields(TypeSpec.Builder type) {
    type.addField(
        FieldSpec.builder(GeneratedTypes.DEVICE, "device", Modifier.PRIVATE, Modifier.FINAL)
            .build());
    type.addField(
        FieldSpec.builder(TypeName.BOOLEAN, "gpu", Modifier.PRIVATE, Modifier.FINAL)
            .addJavadoc("Whether the tasks run in the gpu layout (else the cpu layout).\n")
            .build());
    for (String local : List.of("projectionLocal", "normLocal", "attentionLocal", "elementLocal")) {
      type.addField(
          FieldSpec.builder(TypeName.INT, local, Modifier.PRIVATE, Modifier.FINAL)
              .addJavadoc("gpu layout: threads per work-group, within the device's limit\n")
              .build());
    }
    type.addField(
        FieldSpec.builder(
                GeneratedTypes.KERNEL_CONTEXT, "context", Modifier.PRIVATE, Modifier.FINAL)
            .addJavadoc("Thread and work-group indices inside the tasks.\n")
            .initializer("new $T()", GeneratedTypes.KERNEL_CONTEXT)
            .build());
    type.addField(
        FieldSpec.builder(GeneratedTypes.INT_ARRAY, "rowInfo", Modifier.PRIVATE, Modifier.FINAL)
            .addJavadoc(
                "The rows of one execution: the count, then ROW_FIELDS ints per row; sent every execution.\n")
            .initializer(
                "new $T(ROW_INFO_START + ROW_CAPACITY * ROW_FIELDS)", GeneratedTypes.INT_ARRAY)
            .build());
    for (String name : activationNames()) {
      type.addField(
          FieldSpec.builder(GeneratedTypes.FLOAT_ARRAY, name, Modifier.PRIVATE, Modifier.FINAL)
              .addJavadoc("($L); lives on the device\n", activationSize(name))
              .initializer("new $T($L)", GeneratedTypes.FLOAT_ARRAY, activationSize(name))
              .build());
    }
    type.addField(
        FieldSpec.builder(GeneratedTypes.INT_ARRAY, "logitsRow", Modifier.PRIVATE, Modifier.FINAL)
            .addJavadoc(
                "Which row the logits graph computes; sent every execution of that graph.\n")
            .initializer("new $T(1)", GeneratedTypes.INT_ARRAY)
            .build());
    type.addField(
        FieldSpec.builder(GeneratedTypes.FLOAT_ARRAY, "logits", Modifier.PRIVATE, Modifier.FINAL)
            .addJavadoc("(VOCAB_SIZE), brought back after every execution of the logits graph.\n")
            .initializer("new $T(VOCAB_SIZE)", GeneratedTypes.FLOAT_ARRAY)
            .build());
    if (spec.positionEncoding() == PositionEncoding.ROPE) {
      for (String name : List.of("ropeCos", "ropeSin")) {
        type.addField(
            FieldSpec.builder(GeneratedTypes.FLOAT_ARRAY, name, Modifier.PRIVATE, Modifier.FINAL)
                .addJavadoc(
                    "(MAX_POSITION_EMBEDDINGS, HEAD_DIM / 2): $L(position x $L), as the Java backend computes it\n",
                    name.equals("ropeCos") ? "cos" : "sin",
                    spec.ropeScaling() == RopeScaling.NONE
                        ? "ROPE_THETA^(-2i / HEAD_DIM)"
                        : "INV_FREQ[i]")
                .build());
      }
    }
    for (TensorKind global : globalTensors()) {
      type.addField(
          FieldSpec.builder(
                  isMatrix(global) ? ClassName.OBJECT : GeneratedTypes.FLOAT_ARRAY,
                  global.fieldName(),
                  Modifier.PRIVATE,
                  Modifier.FINAL)
              .addJavadoc(
                  isMatrix(global)
                      ? "$L on the device: ByteArray of blocks, ShortArray of halves or FloatArray\n"
                      : "$L on the device\n",
                  global.fieldName())
              .build());
    }
    for (Task task : tasks) {
      if (!task.matrices().isEmpty() && !task.graph().equals("layer")) {
        type.addField(
            FieldSpec.builder(
                    GeneratedTypes.DTYPE, typeField(task), Modifier.PRIVATE, Modifier.FINAL)
                .addJavadoc(
                    "The type {@code $L.$L}'s matrices have on the device.\n",
                    task.graph(),
                    task.name())
                .build());
      }
    }
    type.addField(
        FieldSpec.builder(
                ArrayTypeName.of(ClassName.get("", "LayerArrays")),
                "layers",
                Modifier.PRIVATE,
                Modifier.FINAL)
            .build());
    type.addField(
        FieldSpec.builder(
                GeneratedTypes.EXECUTION_PLAN, "executionPlan", Modifier.PRIVATE, Modifier.FINAL)
            .build());
  }

  /** The field holding the device type of a matrix task's weights (the same in both layouts). */
  private static String typeField(Task task) {
    return TaskPlanner.camel(task.name()) + "Type";
  }

  private TypeSpec layerArrays() {
    TypeSpec.Builder type =
        TypeSpec.classBuilder("LayerArrays")
            .addModifiers(Modifier.PRIVATE, Modifier.STATIC, Modifier.FINAL)
            .addJavadoc("One layer's weights and KV cache as device arrays.\n");
    MethodSpec.Builder constructor =
        MethodSpec.constructorBuilder()
            .addParameter(names.weights().nestedClass("Layer"), "w")
            .addParameter(TypeName.BOOLEAN, "gpu");
    Map<String, Task> layerTasks = new LinkedHashMap<>();
    for (Task task : tasks) {
      if (task.graph().equals("layer") && !task.matrices().isEmpty()) {
        layerTasks.put(typeField(task), task);
      }
    }
    for (var entry : layerTasks.entrySet()) {
      type.addField(
          FieldSpec.builder(GeneratedTypes.DTYPE, entry.getKey(), Modifier.FINAL)
              .addJavadoc(
                  "The type {@code $L}'s matrices have on the device ({@link $T#deviceType}).\n",
                  entry.getValue().name(),
                  GeneratedTypes.DEVICE_ARRAYS)
              .build());
      constructor.addStatement(
          "$N = $T.deviceType(gpu, $L)",
          entry.getKey(),
          GeneratedTypes.DEVICE_ARRAYS,
          String.join(
              ", ", entry.getValue().matrices().stream().map(m -> "w." + m.fieldName()).toList()));
    }
    for (LayerTensor tensor : layerTensors()) {
      boolean matrix = isMatrix(tensor);
      type.addField(
          FieldSpec.builder(
                  matrix ? ClassName.OBJECT : GeneratedTypes.FLOAT_ARRAY,
                  tensor.fieldName(),
                  Modifier.FINAL)
              .build());
      if (matrix) {
        Task owner =
            layerTasks.values().stream()
                .filter(t -> t.matrices().contains(tensor))
                .findFirst()
                .orElseThrow();
        constructor.addStatement(
            "$N = $T.matrix(w.$N, $N)",
            tensor.fieldName(),
            GeneratedTypes.DEVICE_ARRAYS,
            tensor.fieldName(),
            typeField(owner));
      } else {
        constructor.addStatement(
            "$N = $T.vector(w.$N)",
            tensor.fieldName(),
            GeneratedTypes.DEVICE_ARRAYS,
            tensor.fieldName());
      }
    }
    if (spec.slidingWindow() > 0) {
      type.addField(
          FieldSpec.builder(GeneratedTypes.INT_ARRAY, "slidingWindow", Modifier.FINAL)
              .addJavadoc(
                  "(1): the layer's sliding window in positions, 0 where it attends to every earlier position\n")
              .initializer("new $T(1)", GeneratedTypes.INT_ARRAY)
              .build());
    }
    type.addField(
        FieldSpec.builder(GeneratedTypes.FLOAT_ARRAY, "keyCache", Modifier.FINAL)
            .addJavadoc(
                "(2 x MAX_BATCH_SIZE, MAX_POSITION_EMBEDDINGS, KV_DIM), only ever on the device\n")
            .initializer("new $T(2 * CACHE_REGION)", GeneratedTypes.FLOAT_ARRAY)
            .build());
    type.addField(
        FieldSpec.builder(GeneratedTypes.FLOAT_ARRAY, "valueCache", Modifier.FINAL)
            .addJavadoc("Laid out as keyCache\n")
            .initializer("new $T(2 * CACHE_REGION)", GeneratedTypes.FLOAT_ARRAY)
            .build());
    return type.addMethod(constructor.build()).build();
  }

  private MethodSpec constructor() {
    MethodSpec.Builder method =
        MethodSpec.constructorBuilder()
            .addModifiers(Modifier.PUBLIC)
            .addJavadoc(
                "A decoder over {@code weights} on {@code device}, in the layout {@link $T#layout} chooses for it:\n",
                GeneratedTypes.TORNADO_SUPPORT)
            .addJavadoc(
                "copies the weights into device arrays (in the types {@link $T#deviceType} keeps) and builds the\n",
                GeneratedTypes.DEVICE_ARRAYS)
            .addJavadoc(
                "execution plan, its work-group sizes within the device's limits; TornadoVM compiles the tasks on\n")
            .addJavadoc("the first call.\n")
            .addParameter(names.weights(), "weights")
            .addParameter(GeneratedTypes.DEVICE, "device")
            .addStatement("super(SPEC, $T.withoutStorage(SPEC))", GeneratedTypes.KV_CACHE)
            .addStatement("this.device = device")
            .addStatement(
                "this.gpu = $T.layout(device).equals($S)", GeneratedTypes.TORNADO_SUPPORT, "gpu")
            .addStatement(
                "projectionLocal = $T.localSize(device, PROJECTION_LOCAL)",
                GeneratedTypes.TORNADO_SUPPORT)
            .addStatement(
                "normLocal = $T.localSize(device, $L)",
                GeneratedTypes.TORNADO_SUPPORT,
                spec.norm() == NormKind.RMS_NORM ? "NORM_LOCAL_SIZE" : "LOCAL_SIZE")
            .addStatement(
                "attentionLocal = $T.localSize(device, ATTENTION_LOCAL)",
                GeneratedTypes.TORNADO_SUPPORT)
            .addStatement(
                "elementLocal = $T.localSize(device, LOCAL_SIZE)", GeneratedTypes.TORNADO_SUPPORT);
    Set<String> checked = new LinkedHashSet<>();
    method.beginControlFlow("if (gpu)");
    for (Task task : gpuTasks) {
      String floats = KernelBodies.localFloats(task);
      if (!floats.equals("0") && checked.add(task.method())) {
        method.addStatement(
            "$T.checkLocalMemory(device, 4L * ($L), $S)",
            GeneratedTypes.TORNADO_SUPPORT,
            floats,
            task.name());
      }
    }
    method.endControlFlow();
    for (Task task : tasks) {
      if (!task.matrices().isEmpty() && !task.graph().equals("layer")) {
        method.addStatement(
            "$N = $T.deviceType(gpu, $L)",
            typeField(task),
            GeneratedTypes.DEVICE_ARRAYS,
            String.join(
                ", ", task.matrices().stream().map(m -> "weights." + m.fieldName()).toList()));
      }
    }
    for (TensorKind global : globalTensors()) {
      if (isMatrix(global)) {
        Task owner =
            tasks.stream()
                .filter(t -> !t.graph().equals("layer") && t.matrices().contains(global))
                .findFirst()
                .orElseThrow();
        // tied embeddings: embed_tokens and lm_head read the same tensor, so their types agree
        method.addStatement(
            "$N = $T.matrix(weights.$N, $L)",
            global.fieldName(),
            GeneratedTypes.DEVICE_ARRAYS,
            global.fieldName(),
            typeField(owner));
      } else {
        method.addStatement(
            "$N = $T.vector(weights.$N)",
            global.fieldName(),
            GeneratedTypes.DEVICE_ARRAYS,
            global.fieldName());
      }
    }
    if (spec.positionEncoding() == PositionEncoding.ROPE) {
      method.addStatement("ropeCos = ropeTable(true)").addStatement("ropeSin = ropeTable(false)");
    }
    return method
        .addStatement("layers = new LayerArrays[NUM_HIDDEN_LAYERS]")
        .beginControlFlow("for (int i = 0; i < NUM_HIDDEN_LAYERS; i++)")
        .addStatement("layers[i] = new LayerArrays(weights.layer(i), gpu)")
        .addCode(
            spec.slidingWindow() > 0
                ? CodeBlock.builder()
                    .addStatement("layers[i].slidingWindow.set(0, SPEC.slidingWindow(i))")
                    .build()
                : CodeBlock.of(""))
        .endControlFlow()
        .addStatement("executionPlan = gpu ? buildGpuPlan() : buildCpuPlan()")
        .build();
  }

  /** The arguments of one role that a graph kind's tasks take, each once, in order of use. */
  private List<String> argumentsOf(List<Task> tasks, String graph, Role role) {
    Set<String> result = new LinkedHashSet<>();
    for (Task task : tasks) {
      if (task.graph().equals(graph)) {
        for (Param param : task.params()) {
          if (param.role() == role) {
            result.add(param.argument());
          }
        }
      }
    }
    return List.copyOf(result);
  }

  private List<String> activationsOf(List<Task> tasks, String graph) {
    return argumentsOf(tasks, graph, Role.ACTIVATION);
  }

  /** Arguments sent once to a graph: its weights, caches and tables. */
  private List<String> residents(List<Task> tasks, String graph) {
    return concat(
        argumentsOf(tasks, graph, Role.RESIDENT), argumentsOf(tasks, graph, Role.RESIDENT_INTS));
  }

  private MethodSpec buildPlan(List<Task> tasks, String methodName, boolean gpu) {
    // What the embedding graph creates (the residual stream) passes from graph to graph on the
    // device; every other activation is a scratch array of the graphs that use it.
    List<String> passed = new ArrayList<>(List.of("rowInfo"));
    passed.addAll(activationsOf(tasks, "embedding"));
    String chained = String.join(", ", passed);
    MethodSpec.Builder method =
        MethodSpec.methodBuilder(methodName)
            .addModifiers(Modifier.PRIVATE)
            .returns(GeneratedTypes.EXECUTION_PLAN)
            .addJavadoc(
                "The $L layout's graphs, in execution order: embedding, layer_0 .. layer_(NUM_HIDDEN_LAYERS - 1), logits.\n",
                gpu ? "gpu" : "cpu")
            .addJavadoc("The rows'\n")
            .addJavadoc(
                "info and the residual stream pass from graph to graph on the device ({@code persistOnDevice},\n")
            .addJavadoc(
                "{@code consumeFromDevice}); weights, caches, tables and scratch activations are sent once.\n")
            .addStatement(
                "$T grid = new $T()", GeneratedTypes.GRID_SCHEDULER, GeneratedTypes.GRID_SCHEDULER)
            .addStatement(
                "$T<$T> graphs = new $T<>()",
                GeneratedTypes.LIST,
                GeneratedTypes.IMMUTABLE_TASK_GRAPH,
                GeneratedTypes.ARRAY_LIST);

    method
        .addCode("\n// embedding: the rows' tokens in, the residual stream created on the device\n")
        .addStatement(
            "$T embedding = new $T($S)",
            GeneratedTypes.TASK_GRAPH,
            GeneratedTypes.TASK_GRAPH,
            "embedding")
        .addStatement(
            "embedding.transferToDevice($T.EVERY_EXECUTION, rowInfo)",
            GeneratedTypes.DATA_TRANSFER_MODE)
        .addStatement(
            "embedding.transferToDevice($T.FIRST_EXECUTION, $L)",
            GeneratedTypes.DATA_TRANSFER_MODE,
            String.join(
                ", ", concat(activationsOf(tasks, "embedding"), residents(tasks, "embedding"))));
    addTasks(method, tasks, "embedding", "embedding");
    method
        .addStatement("embedding.persistOnDevice($L)", chained)
        .addStatement("graphs.add(embedding.snapshot())");

    method
        .addCode(
            "\n// one graph per layer: its weights and KV cache resident, the residual stream passed on\n")
        .addStatement("String previous = $S", "embedding")
        .beginControlFlow("for (int i = 0; i < NUM_HIDDEN_LAYERS; i++)")
        .addStatement("LayerArrays layer = layers[i]")
        .addStatement("String name = $S + i", "layer_")
        .addStatement(
            "$T graph = new $T(name)", GeneratedTypes.TASK_GRAPH, GeneratedTypes.TASK_GRAPH)
        .addStatement("graph.consumeFromDevice(previous, $L)", chained);
    List<String> layerOnce =
        without(concat(activationsOf(tasks, "layer"), residents(tasks, "layer")), passed);
    if (!layerOnce.isEmpty()) {
      method.addStatement(
          "graph.transferToDevice($T.FIRST_EXECUTION, $L)",
          GeneratedTypes.DATA_TRANSFER_MODE,
          String.join(", ", layerOnce));
    }
    addTasks(method, tasks, "layer", "graph");
    method
        .addStatement("graph.persistOnDevice($L)", chained)
        .addStatement("graphs.add(graph.snapshot())")
        .addStatement("previous = name")
        .endControlFlow();

    method
        .addCode("\n// logits: one row's logits per execution, brought back to the host\n")
        .addStatement(
            "$T logitsGraph = new $T($S)",
            GeneratedTypes.TASK_GRAPH,
            GeneratedTypes.TASK_GRAPH,
            "logits")
        .addStatement("logitsGraph.consumeFromDevice(previous, $L)", chained)
        .addStatement(
            "logitsGraph.transferToDevice($T.EVERY_EXECUTION, logitsRow)",
            GeneratedTypes.DATA_TRANSFER_MODE)
        .addStatement(
            "logitsGraph.transferToDevice($T.FIRST_EXECUTION, $L)",
            GeneratedTypes.DATA_TRANSFER_MODE,
            String.join(
                ", ",
                without(
                    concat(
                        List.of("logits"),
                        concat(activationsOf(tasks, "logits"), residents(tasks, "logits"))),
                    passed)));
    addTasks(method, tasks, "logits", "logitsGraph");
    method
        .addStatement(
            "logitsGraph.transferToHost($T.EVERY_EXECUTION, logits)",
            GeneratedTypes.DATA_TRANSFER_MODE)
        .addStatement("graphs.add(logitsGraph.snapshot())")
        .addCode("\n")
        .addStatement("return $T.plan(graphs, grid, device)", GeneratedTypes.TORNADO_SUPPORT);
    return method.build();
  }

  private static List<String> without(List<String> list, List<String> removed) {
    return list.stream().filter(s -> !removed.contains(s)).toList();
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> result = new ArrayList<>(a);
    for (String s : b) {
      if (!result.contains(s)) {
        result.add(s);
      }
    }
    return result;
  }

  private void addTasks(
      MethodSpec.Builder method, List<Task> tasks, String graph, String variable) {
    for (Task task : tasks) {
      if (!task.graph().equals(graph)) {
        continue;
      }
      String graphName = graph.equals("layer") ? "name" : "\"" + graph + "\"";
      if (task.matrices().isEmpty()) {
        method.addStatement(
            "$N.task($S, $T::$N, $L)",
            variable,
            task.name(),
            self,
            task.method(),
            arguments(task, Dtype.F32));
      } else {
        String field = graph.equals("layer") ? "layer." + typeField(task) : typeField(task);
        List<Dtype> kept = types(task.gpu()).subList(1, types(task.gpu()).size());
        for (int t = 0; t < kept.size(); t++) {
          String condition = field + " == $T." + kept.get(t).name();
          if (t == 0) {
            method.beginControlFlow("if (" + condition + ")", GeneratedTypes.DTYPE);
          } else {
            method.nextControlFlow("else if (" + condition + ")", GeneratedTypes.DTYPE);
          }
          method.addStatement(
              "$N.task($S, $T::$N, $L)",
              variable,
              task.name(),
              self,
              task.method() + kept.get(t).name(),
              arguments(task, kept.get(t)));
        }
        method
            .nextControlFlow("else")
            .addStatement(
                "$N.task($S, $T::$N, $L)",
                variable,
                task.name(),
                self,
                task.method() + "F32",
                arguments(task, Dtype.F32))
            .endControlFlow();
      }
      method.addStatement(
          "grid.addWorkerGrid($L + $S, grid($L, $L))",
          graphName,
          "." + task.name(),
          KernelBodies.globalSize(task),
          KernelBodies.localSize(task));
    }
  }

  /** The array type a matrix of {@code type} has on the device. */
  static ClassName matrixType(Dtype type) {
    return switch (type) {
      case Q8_0, Q4_0 -> GeneratedTypes.BYTE_ARRAY;
      case F16 -> GeneratedTypes.SHORT_ARRAY;
      default -> GeneratedTypes.FLOAT_ARRAY;
    };
  }

  private static CodeBlock arguments(Task task, Dtype type) {
    List<CodeBlock> args = new ArrayList<>();
    for (Param param : task.params()) {
      if (param.matrix()) {
        args.add(CodeBlock.of("($T) $L", matrixType(type), param.argument()));
      } else {
        args.add(CodeBlock.of("$L", param.argument()));
      }
    }
    return CodeBlock.join(args, ", ");
  }

  private static MethodSpec grid() {
    return MethodSpec.methodBuilder("grid")
        .addModifiers(Modifier.PRIVATE, Modifier.STATIC)
        .addJavadoc(
            "A one-dimensional grid of at least {@code threads} threads in work-groups of {@code local}.\n")
        .returns(GeneratedTypes.WORKER_GRID_1D)
        .addParameter(TypeName.INT, "threads")
        .addParameter(TypeName.INT, "local")
        .addStatement(
            "$T grid = new $T((threads + local - 1) / local * local)",
            GeneratedTypes.WORKER_GRID_1D,
            GeneratedTypes.WORKER_GRID_1D)
        .addStatement("grid.setLocalWork(local, 1, 1)")
        .addStatement("return grid")
        .build();
  }

  private MethodSpec forward() {
    return MethodSpec.methodBuilder("forward")
        .addAnnotation(Override.class)
        .addModifiers(Modifier.PROTECTED)
        .addParameter(GeneratedTypes.ROWS, "rows")
        .addParameter(GeneratedTypes.KV_CACHE, "cache")
        .addJavadoc(
            "Runs the rows through the graphs: embedding, every layer, then the logits graph once per row that\n")
        .addJavadoc("wants logits.\n")
        .addStatement("int count = rows.count()")
        .beginControlFlow("if (count > ROW_CAPACITY)")
        .addStatement(
            "throw new $T($S + count + $S + ROW_CAPACITY)",
            IllegalStateException.class,
            "[Kiln/Internal] ",
            " rows in one call; the TornadoVM decoder runs at most ")
        .endControlFlow()
        .addStatement("int region = isOwnCache(cache) ? 0 : CACHE_REGION")
        .addStatement("rowInfo.set(0, count)")
        .beginControlFlow("for (int r = 0; r < count; r++)")
        .addStatement("int at = ROW_INFO_START + r * ROW_FIELDS")
        .addStatement("rowInfo.set(at + TOKEN, rows.token(r))")
        .addStatement("rowInfo.set(at + POSITION, rows.position(r))")
        .addStatement("rowInfo.set(at + CACHE_OFFSET, region + rows.cacheOffset(r))")
        .addStatement("rowInfo.set(at + SEQUENCE_START, region + rows.sequenceStart(r))")
        .addStatement("rowInfo.set(at + ATTEND_END, rows.attendEnd(r))")
        .endControlFlow()
        .beginControlFlow("for (int graph = 0; graph <= NUM_HIDDEN_LAYERS; graph++)")
        .addStatement("$T.execute(executionPlan, graph)", GeneratedTypes.TORNADO_SUPPORT)
        .endControlFlow()
        .beginControlFlow("for (int r = 0; r < count; r++)")
        .beginControlFlow("if (rows.wantsLogits(r))")
        .addStatement("logitsRow.set(0, r)")
        .addStatement(
            "$T.execute(executionPlan, NUM_HIDDEN_LAYERS + 1)", GeneratedTypes.TORNADO_SUPPORT)
        .addStatement(
            "$T.copy(logits.getSegment(), $T.JAVA_FLOAT, 0, rows.logits(r), 0, VOCAB_SIZE)",
            GeneratedTypes.MEMORY_SEGMENT,
            GeneratedTypes.VALUE_LAYOUT)
        .endControlFlow()
        .endControlFlow()
        .build();
  }

  private MethodSpec ropeTable() {
    return MethodSpec.methodBuilder("ropeTable")
        .addModifiers(Modifier.PRIVATE, Modifier.STATIC)
        .addJavadoc(
            spec.ropeScaling() == RopeScaling.NONE
                ? "cos (or sin) of position x ROPE_THETA^(-2i / HEAD_DIM), in double as the Java backend, then float.\n"
                : "cos (or sin) of position x INV_FREQ[i] (the scaled frequencies), in double as the Java backend, then float.\n")
        .returns(GeneratedTypes.FLOAT_ARRAY)
        .addParameter(TypeName.BOOLEAN, "cos")
        .addStatement(
            "$T table = new $T(MAX_POSITION_EMBEDDINGS * (HEAD_DIM / 2))",
            GeneratedTypes.FLOAT_ARRAY,
            GeneratedTypes.FLOAT_ARRAY)
        .beginControlFlow("for (int i = 0; i < HEAD_DIM / 2; i++)")
        .addStatement(
            spec.ropeScaling() == RopeScaling.NONE
                ? "double frequency = Math.pow(ROPE_THETA, -2.0 * i / HEAD_DIM)"
                : "double frequency = INV_FREQ[i]")
        .beginControlFlow("for (int position = 0; position < MAX_POSITION_EMBEDDINGS; position++)")
        .addStatement("double angle = position * frequency")
        .addStatement(
            "table.set(position * (HEAD_DIM / 2) + i, (float) (cos ? Math.cos(angle) : Math.sin(angle)))")
        .endControlFlow()
        .endControlFlow()
        .addStatement("return table")
        .build();
  }

  /** RoPE frequencies with the spec's scaling, computed at build time as the Java backend's are. */
  private FieldSpec scaledFrequencies() {
    double[] frequencies = spec.ropeInverseFrequencies();
    StringBuilder literals = new StringBuilder();
    for (int i = 0; i < frequencies.length; i++) {
      literals.append(Double.toString(frequencies[i]));
      if (i + 1 < frequencies.length) {
        literals.append(i % 4 == 3 ? ",\n" : ", ");
      }
    }
    return FieldSpec.builder(
            ArrayTypeName.of(TypeName.DOUBLE),
            "INV_FREQ",
            Modifier.PRIVATE,
            Modifier.STATIC,
            Modifier.FINAL)
        .addJavadoc(
            "RoPE frequencies ROPE_THETA^(-2i / HEAD_DIM) with $L scaling (ropeScalingFactor $L), (HEAD_DIM / 2)\n",
            spec.ropeScaling(),
            spec.ropeScalingFactor())
        .initializer("{\n$>$L$<\n}", literals)
        .build();
  }

  private MethodSpec taskMethod(Task task, Dtype weightType, String methodName) {
    MethodSpec.Builder method = MethodSpec.methodBuilder(methodName).addModifiers(Modifier.STATIC);
    String kernel = planner.kernelName(task.kernel());
    if (task.kind() == TaskPlanner.Kind.NORM_REDUCE) {
      method
          .addJavadoc(
              "Tasks {@code *_reduce}: RMSNorm step 1 of 2, the sums of squares of each row as a work-group\n")
          .addJavadoc(
              "reduction per slice of NORM_LOCAL_SIZE elements into normPartials (rows, NORM_GROUPS). The slices are\n")
          .addJavadoc(
              "summed by a separate task because one kernel cannot safely combine the results of its work-groups.\n");
    } else if (task.kind() == TaskPlanner.Kind.NORM_FINALIZE) {
      method
          .addJavadoc(
              "Tasks {@code *_finalize}: RMSNorm step 2 of 2, each row's {@code 1 / sqrt(mean(x^2) + RMS_NORM_EPS)}\n")
          .addJavadoc(
              "from its partial sums, into normScale; the projection that follows applies it with the gain.\n");
    } else if (task.kind() == TaskPlanner.Kind.ROPE || task.kind() == TaskPlanner.Kind.HEAD_NORM) {
      method.addJavadoc("Task {@code $L.$L}: $L.\n", task.graph(), task.name(), describe(task));
    } else if (task.kind() == TaskPlanner.Kind.NORM_ROW) {
      method.addJavadoc("gpu layout, tasks {@code *_scale}: $L.\n", describe(task));
    } else if (task.kind() == TaskPlanner.Kind.ATTENTION_SPLIT
        || task.kind() == TaskPlanner.Kind.ATTENTION_COMBINE) {
      method.addJavadoc(
          "gpu layout, task {@code $L.$L}: $L.\n", task.graph(), task.name(), describe(task));
    } else if (task.kind() == TaskPlanner.Kind.PROJECTION && task.gpu()) {
      method
          .addJavadoc(
              "gpu layout, task {@code $L.$L}, kernel {@code $L}: fuses $L. A work-group per output feature, its\n",
              task.graph(),
              task.name(),
              kernel,
              task.kernel().fusionDescription())
          .addJavadoc(
              "threads striding the weight row over ROW_TILE rows at a time, reduced in local memory.\n");
      method.addJavadoc("Task {@code $L.$L}: $L.\n", task.graph(), task.name(), describe(task));
    } else if (task.kind() == TaskPlanner.Kind.NORM_RESIDUAL_ADD) {
      method
          .addJavadoc(
              "Tasks {@code *_add}, kernel {@code $L} (and the other post norms): fuses $L. The branch times\n",
              kernel,
              task.kernel().fusionDescription())
          .addJavadoc(
              "its row's normScale (from the norm's two steps, the tasks before) and the gain, added to the stream.\n");
    } else {
      method.addJavadoc(
          "Task {@code $L.$L}, kernel {@code $L}: fuses $L.\n",
          task.graph(),
          task.name(),
          kernel,
          task.kernel().fusionDescription());
    }
    if (!task.matrices().isEmpty()) {
      method.addJavadoc(
          switch (weightType) {
            case Q8_0 ->
                "Matrices as Q8_0 blocks: per 32 weights a float16 scale (2 bytes) and 32 int8.\n";
            case Q4_0 ->
                "Matrices as Q4_0 blocks: per 32 weights a float16 scale (2 bytes) and 16 bytes of 4-bit weights.\n";
            case F16 -> "Matrices as float16 bits (ShortArray), decoded with integer arithmetic.\n";
            default -> "Matrices as float32.\n";
          });
    }
    method.addJavadoc("Threads: $L.\n", KernelBodies.globalSize(task));
    for (Param param : task.params()) {
      TypeName type =
          switch (param.role()) {
            case CONTEXT -> GeneratedTypes.KERNEL_CONTEXT;
            case ROW_INFO, LOGITS_ROW, RESIDENT_INTS -> GeneratedTypes.INT_ARRAY;
            default -> param.matrix() ? matrixType(weightType) : GeneratedTypes.FLOAT_ARRAY;
          };
      method.addParameter(type, param.name());
    }
    return method.addCode(bodies.body(task, weightType)).build();
  }

  /**
   * {@code dotF32}, {@code dotQ8_0}, {@code normedDotF32}, {@code normedDotQ8_0}: a weight row (F32
   * from element {@code wStart}, or Q8_0 blocks from byte {@code rowStart}) times {@code x[xStart
   * ..]}, or times x with RMSNorm applied on the fly ({@code x * scale * gain}, over HIDDEN_SIZE
   * elements).
   */
  private static MethodSpec dotHelper(boolean q8, boolean normed, boolean unitOffset) {
    String name = (normed ? "normedDot" : "dot") + (q8 ? "Q8_0" : "F32");
    String length = normed ? "HIDDEN_SIZE" : "n";
    String input =
        normed
            ? "(x.get(xStart + i) * scale * " + KernelBodies.gain("gain", "i", unitOffset) + ")"
            : "x.get(xStart + i)";
    MethodSpec.Builder method =
        MethodSpec.methodBuilder(name)
            .addModifiers(Modifier.STATIC)
            .addJavadoc(
                "{@code sum_i w[i] * $L} over the row's $L elements$L.\n",
                normed
                    ? (unitOffset ? "x[i] * scale * (1 + gain[i])" : "x[i] * scale * gain[i]")
                    : "x[i]",
                length,
                q8
                    ? ", the weights in Q8_0 blocks (a float16 scale and 32 int8) from byte {@code rowStart}"
                    : "")
            .returns(TypeName.FLOAT)
            .addParameter(q8 ? GeneratedTypes.BYTE_ARRAY : GeneratedTypes.FLOAT_ARRAY, "w")
            .addParameter(TypeName.INT, q8 ? "rowStart" : "wStart")
            .addParameter(GeneratedTypes.FLOAT_ARRAY, "x")
            .addParameter(TypeName.INT, "xStart");
    if (normed) {
      method.addParameter(TypeName.FLOAT, "scale").addParameter(GeneratedTypes.FLOAT_ARRAY, "gain");
    } else {
      method.addParameter(TypeName.INT, "n");
    }
    method.addStatement("float sum = 0f");
    if (q8) {
      method
          .beginControlFlow(
              "for (int block = 0; block < $L / $L; block++)", length, Q8_0Tensor.BLOCK)
          .addStatement("int at = rowStart + block * $L", Q8_0Tensor.BLOCK_BYTES)
          .addStatement("float blockSum = 0f")
          .beginControlFlow("for (int j = 0; j < $L; j++)", Q8_0Tensor.BLOCK)
          .addStatement("int i = block * $L + j", Q8_0Tensor.BLOCK)
          .addStatement("blockSum += w.get(at + 2 + j) * $L", input)
          .endControlFlow()
          .addStatement("sum += halfToFloat(w.get(at), w.get(at + 1)) * blockSum")
          .endControlFlow();
    } else {
      method
          .beginControlFlow("for (int i = 0; i < $L; i++)", length)
          .addStatement("sum += w.get(wStart + i) * $L", input)
          .endControlFlow();
    }
    return method.addStatement("return sum").build();
  }

  private void helpers(TypeSpec.Builder type) {
    boolean norm = planner.usesNorm();
    boolean unitOffset = spec.rmsNormUnitOffset();
    type.addMethod(dotHelper(false, false, false));
    type.addMethod(dotHelper(true, false, false));
    if (norm) {
      type.addMethod(dotHelper(false, true, unitOffset));
      type.addMethod(dotHelper(true, true, unitOffset));
    }
    type.addMethod(
        MethodSpec.methodBuilder("halfToFloat")
            .addModifiers(Modifier.STATIC)
            .addJavadoc(
                "A float16 from its two little-endian bytes, decoded with integer arithmetic only: some OpenCL devices\n")
            .addJavadoc("(CPU OpenCL among them) have no half type. Exact for every finite half.\n")
            .returns(TypeName.FLOAT)
            .addParameter(TypeName.BYTE, "low")
            .addParameter(TypeName.BYTE, "high")
            .addStatement("int bits = (low & 0xFF) | ((high & 0xFF) << 8)")
            .addStatement("int exponent = (bits >> 10) & 0x1F")
            .addStatement("int mantissa = bits & 0x3FF")
            .addComment(
                "subnormal: mantissa x 2^-24; normal: (1024 + mantissa) x 2^(exponent - 25)")
            .addStatement(
                "float magnitude = exponent == 0 ? mantissa * (1f / 16777216f)"
                    + " : (1024 + mantissa) * (float) (1 << exponent) * (1f / 33554432f)")
            .addStatement("return (bits & 0x8000) != 0 ? -magnitude : magnitude")
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("f16ToFloat")
            .addModifiers(Modifier.STATIC)
            .addJavadoc(
                "A float16 from its bits (an F16 weight kept as a short), decoded as {@link #halfToFloat}.\n")
            .returns(TypeName.FLOAT)
            .addParameter(TypeName.SHORT, "half")
            .addStatement("int bits = half & 0xFFFF")
            .addStatement("int exponent = (bits >> 10) & 0x1F")
            .addStatement("int mantissa = bits & 0x3FF")
            .addStatement(
                "float magnitude = exponent == 0 ? mantissa * (1f / 16777216f)"
                    + " : (1024 + mantissa) * (float) (1 << exponent) * (1f / 33554432f)")
            .addStatement("return (bits & 0x8000) != 0 ? -magnitude : magnitude")
            .build());
    type.addMethod(
        MethodSpec.methodBuilder("nibble")
            .addModifiers(Modifier.STATIC)
            .addJavadoc(
                "Weight j (0..31) of a Q4_0 block from its byte (j % 16): the low nibble for j < 16, else the high one.\n")
            .returns(TypeName.INT)
            .addParameter(TypeName.BYTE, "packed")
            .addParameter(TypeName.INT, "j")
            .addStatement("int bits = packed & 0xFF")
            .addStatement("return j < 16 ? bits & 0xF : bits >> 4")
            .build());
    if (spec.mlp() == MlpKind.SWIGLU && spec.hiddenAct() == Activation.GELU_TANH) {
      type.addMethod(
          MethodSpec.methodBuilder("geluTanh")
              .addModifiers(Modifier.STATIC)
              .addJavadoc(
                  "GELU, tanh approximation: {@code 0.5 v (1 + tanh(sqrt(2 / pi) (v + 0.044715 v^3)))}.\n")
              .returns(TypeName.FLOAT)
              .addParameter(TypeName.FLOAT, "v")
              .addStatement(
                  "return 0.5f * v * (1f + $T.tanh(0.7978846f * (v + 0.044715f * v * v * v)))",
                  GeneratedTypes.MATH)
              .build());
    }
    if (allTasks.stream().anyMatch(t -> t.kind() == TaskPlanner.Kind.HEAD_NORM)) {
      type.addMethod(
          MethodSpec.methodBuilder("headRmsNorm")
              .addModifiers(Modifier.STATIC)
              .addJavadoc(
                  "RMSNorm of one head in place: {@code v[start + i] * (1 / sqrt(mean(v^2) + RMS_NORM_EPS)) * $L} over\n",
                  unitOffset ? "(1 + gain[i])" : "gain[i]")
              .addJavadoc("HEAD_DIM elements.\n")
              .addParameter(GeneratedTypes.FLOAT_ARRAY, "v")
              .addParameter(TypeName.INT, "start")
              .addParameter(GeneratedTypes.FLOAT_ARRAY, "gain")
              .addStatement("float sum = 0f")
              .beginControlFlow("for (int i = 0; i < HEAD_DIM; i++)")
              .addStatement("float value = v.get(start + i)")
              .addStatement("sum += value * value")
              .endControlFlow()
              .addStatement(
                  "float scale = 1f / $T.sqrt(sum / HEAD_DIM + (float) RMS_NORM_EPS)",
                  GeneratedTypes.MATH)
              .beginControlFlow("for (int i = 0; i < HEAD_DIM; i++)")
              .addStatement(
                  "v.set(start + i, v.get(start + i) * scale * $L)",
                  KernelBodies.gain("gain", "i", unitOffset))
              .endControlFlow()
              .build());
    }
    if (spec.mlp() == MlpKind.SWIGLU && spec.hiddenAct() == Activation.SILU) {
      type.addMethod(
          MethodSpec.methodBuilder("silu")
              .addModifiers(Modifier.STATIC)
              .addJavadoc("{@code v * sigmoid(v)}.\n")
              .returns(TypeName.FLOAT)
              .addParameter(TypeName.FLOAT, "v")
              .addStatement("return v / (1f + $T.exp(-v))", GeneratedTypes.MATH)
              .build());
    }
    if (spec.positionEncoding() == PositionEncoding.ROPE) {
      type.addMethod(
          MethodSpec.methodBuilder("rotate")
              .addModifiers(Modifier.STATIC)
              .addJavadoc(
                  "Rotates the pair (v[first], v[first + HEAD_DIM / 2]) by the angle of cos and sin.\n")
              .addParameter(GeneratedTypes.FLOAT_ARRAY, "v")
              .addParameter(TypeName.INT, "first")
              .addParameter(TypeName.FLOAT, "cos")
              .addParameter(TypeName.FLOAT, "sin")
              .addStatement("float a = v.get(first)")
              .addStatement("float b = v.get(first + HEAD_DIM / 2)")
              .addStatement("v.set(first, a * cos - b * sin)")
              .addStatement("v.set(first + HEAD_DIM / 2, b * cos + a * sin)")
              .build());
    }
  }
}
