package dev.kiln.processor.backend.tornado;

import com.palantir.javapoet.ClassName;

/**
 * Every TornadoVM type the generated TornadoVM decoder uses, by name only: the processor never
 * loads TornadoVM, so the default build needs none of it.
 */
final class TornadoTypes {
  private static final String API = "uk.ac.manchester.tornado.api";

  static final ClassName TASK_GRAPH = ClassName.get(API, "TaskGraph");
  static final ClassName IMMUTABLE_TASK_GRAPH = ClassName.get(API, "ImmutableTaskGraph");
  static final ClassName EXECUTION_PLAN = ClassName.get(API, "TornadoExecutionPlan");
  static final ClassName GRID_SCHEDULER = ClassName.get(API, "GridScheduler");
  static final ClassName WORKER_GRID_1D = ClassName.get(API, "WorkerGrid1D");
  static final ClassName KERNEL_CONTEXT = ClassName.get(API, "KernelContext");
  static final ClassName DATA_TRANSFER_MODE = ClassName.get(API + ".enums", "DataTransferMode");
  static final ClassName DEVICE = ClassName.get(API + ".common", "TornadoDevice");
  static final ClassName MATH = ClassName.get(API + ".math", "TornadoMath");
  static final ClassName FLOAT_ARRAY = ClassName.get(API + ".types.arrays", "FloatArray");
  static final ClassName BYTE_ARRAY = ClassName.get(API + ".types.arrays", "ByteArray");
  static final ClassName SHORT_ARRAY = ClassName.get(API + ".types.arrays", "ShortArray");
  static final ClassName DTYPE = ClassName.get("dev.kiln.weights", "Dtype");
  static final ClassName INT_ARRAY = ClassName.get(API + ".types.arrays", "IntArray");

  /** Kiln's TornadoVM support (module {@code kiln-tornado}, built only with TornadoVM). */
  static final ClassName SUPPORT = ClassName.get("dev.kiln.tornado", "TornadoSupport");
  static final ClassName DEVICE_ARRAYS = ClassName.get("dev.kiln.tornado", "DeviceArrays");

  /** The type whose presence on the processor's class path means the TornadoVM sources can be compiled. */
  static final String PROBE = API + ".TaskGraph";
  /** Likewise for Kiln's support classes. */
  static final String SUPPORT_PROBE = "dev.kiln.tornado.TornadoSupport";

  private TornadoTypes() {}
}
