package dev.kiln.processor.backend;

import com.palantir.javapoet.ClassName;

/**
 * Every type the generated sources of both backends refer to, by name, in one place: Kiln's
 * runtime, the JDK, TornadoVM's API and Kiln's TornadoVM support. The processor loads none of them;
 * TornadoVM types in particular are names only, so the default build needs no TornadoVM.
 */
public final class GeneratedTypes {
  // Kiln's runtime
  public static final ClassName MODEL_SPEC = ClassName.get("dev.kiln.spec", "ResolvedSpec");
  public static final ClassName GENERATED_DECODER =
      ClassName.get("dev.kiln.kernel", "GeneratedDecoder");
  public static final ClassName ROWS = ClassName.get("dev.kiln.kernel", "Rows");
  public static final ClassName KV_CACHE = ClassName.get("dev.kiln", "KvCache");
  public static final ClassName FLOAT_TENSOR = ClassName.get("dev.kiln.weights", "FloatTensor");
  public static final ClassName WEIGHT_TENSOR = ClassName.get("dev.kiln.weights", "WeightTensor");
  public static final ClassName WEIGHTS = ClassName.get("dev.kiln.weights", "Weights");
  public static final ClassName GLOBAL_TENSOR = ClassName.get("dev.kiln.weights", "GlobalTensor");
  public static final ClassName LAYER_TENSOR = ClassName.get("dev.kiln.weights", "LayerTensor");
  public static final ClassName TENSOR_KIND = ClassName.get("dev.kiln.weights", "TensorKind");
  public static final ClassName DTYPE = ClassName.get("dev.kiln.weights", "Dtype");
  public static final ClassName PARALLEL = ClassName.get("dev.kiln.kernel", "Parallel");
  public static final ClassName QUANTIZED_ROWS = ClassName.get("dev.kiln.kernel", "QuantizedRows");
  public static final ClassName VECTOR_KERNELS = ClassName.get("dev.kiln.kernel", "VectorKernels");

  // The JDK
  public static final ClassName MEMORY_SEGMENT =
      ClassName.get("java.lang.foreign", "MemorySegment");
  public static final ClassName VALUE_LAYOUT = ClassName.get("java.lang.foreign", "ValueLayout");
  public static final ClassName VALUE_LAYOUT_OF_FLOAT = VALUE_LAYOUT.nestedClass("OfFloat");
  public static final ClassName PATH = ClassName.get("java.nio.file", "Path");
  public static final ClassName LIST = ClassName.get("java.util", "List");
  public static final ClassName ARRAY_LIST = ClassName.get("java.util", "ArrayList");
  public static final ClassName MAP = ClassName.get("java.util", "Map");
  public static final ClassName GENERATED =
      ClassName.get("javax.annotation.processing", "Generated");

  // TornadoVM's API
  private static final String TORNADO_API = "uk.ac.manchester.tornado.api";
  public static final ClassName TASK_GRAPH = ClassName.get(TORNADO_API, "TaskGraph");
  public static final ClassName IMMUTABLE_TASK_GRAPH =
      ClassName.get(TORNADO_API, "ImmutableTaskGraph");
  public static final ClassName EXECUTION_PLAN = ClassName.get(TORNADO_API, "TornadoExecutionPlan");
  public static final ClassName GRID_SCHEDULER = ClassName.get(TORNADO_API, "GridScheduler");
  public static final ClassName WORKER_GRID_1D = ClassName.get(TORNADO_API, "WorkerGrid1D");
  public static final ClassName KERNEL_CONTEXT = ClassName.get(TORNADO_API, "KernelContext");
  public static final ClassName DATA_TRANSFER_MODE =
      ClassName.get(TORNADO_API + ".enums", "DataTransferMode");
  public static final ClassName DEVICE = ClassName.get(TORNADO_API + ".common", "TornadoDevice");
  public static final ClassName MATH = ClassName.get(TORNADO_API + ".math", "TornadoMath");
  public static final ClassName FLOAT_ARRAY =
      ClassName.get(TORNADO_API + ".types.arrays", "FloatArray");
  public static final ClassName BYTE_ARRAY =
      ClassName.get(TORNADO_API + ".types.arrays", "ByteArray");
  public static final ClassName SHORT_ARRAY =
      ClassName.get(TORNADO_API + ".types.arrays", "ShortArray");
  public static final ClassName INT_ARRAY =
      ClassName.get(TORNADO_API + ".types.arrays", "IntArray");

  // Kiln's TornadoVM support (module kiln-tornado, built only with TornadoVM)
  public static final ClassName TORNADO_SUPPORT =
      ClassName.get("dev.kiln.tornado", "TornadoSupport");
  public static final ClassName DEVICE_ARRAYS = ClassName.get("dev.kiln.tornado", "DeviceArrays");

  /**
   * The type whose presence on the processor's class path means the TornadoVM sources can be
   * compiled.
   */
  public static final String TORNADO_PROBE = TASK_GRAPH.canonicalName();

  /** Likewise for Kiln's support classes. */
  public static final String TORNADO_SUPPORT_PROBE = TORNADO_SUPPORT.canonicalName();

  private GeneratedTypes() {}
}
