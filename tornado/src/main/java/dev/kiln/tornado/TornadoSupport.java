package dev.kiln.tornado;

import java.util.ArrayList;
import java.util.List;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TornadoBackend;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoRuntime;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.exceptions.TornadoExecutionPlanException;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

/**
 * What every generated TornadoVM decoder shares: device choice and listing, the execution plan's
 * options, and turning TornadoVM's failures (a bailout among them) into errors that say where.
 *
 * <p>System properties: {@value #DEVICE_PROPERTY} ({@code backend:device}, as {@link #devices()}
 * lists them; default TornadoVM's default device) and {@value #PRINT_KERNELS_PROPERTY} ({@code
 * true} prints the OpenCL C or PTX TornadoVM generates for each task) and {@value #LAYOUT_PROPERTY}
 * ({@code gpu} or {@code cpu}: the kernels' layout, see {@link #layout}).
 *
 * <p>A TornadoVM "bailout" (a task it cannot compile, run instead as sequential Java) would make
 * the decoder silently slow: Kiln sets TornadoVM's {@value #BAILOUT_PROPERTY} to {@code False}
 * unless the user set it, so a bailout is an error naming the graph.
 */
public final class TornadoSupport {
  public static final String DEVICE_PROPERTY = "kiln.tornado.device";
  public static final String PRINT_KERNELS_PROPERTY = "kiln.tornado.printKernels";
  public static final String BAILOUT_PROPERTY = "tornado.recover.bailout";
  public static final String LAYOUT_PROPERTY = "kiln.tornado.layout";

  static {
    if (System.getProperty(BAILOUT_PROPERTY) == null) {
      System.setProperty(BAILOUT_PROPERTY, "False");
    }
  }

  private TornadoSupport() {}

  /** Every device as {@code backend:device name (backend)}, one per line of the list. */
  public static List<String> devices() {
    TornadoRuntime runtime = runtime();
    List<String> result = new ArrayList<>();
    for (int b = 0; b < runtime.getNumBackends(); b++) {
      TornadoBackend backend = runtime.getBackend(b);
      for (int d = 0; d < backend.getNumDevices(); d++) {
        TornadoDevice device = backend.getDevice(d);
        result.add(
            b
                + ":"
                + d
                + " "
                + device.getPhysicalDevice().getDeviceName()
                + " ("
                + backend.getName()
                + ", "
                + device.getDeviceType()
                + ", default layout "
                + defaultLayout(device)
                + ")");
      }
    }
    return result;
  }

  /** The device {@value #DEVICE_PROPERTY} names, or TornadoVM's default. */
  public static TornadoDevice selectedDevice() {
    String choice = System.getProperty(DEVICE_PROPERTY);
    TornadoRuntime runtime = runtime();
    if (choice == null || choice.isBlank()) {
      return runtime.getDefaultDevice();
    }
    String[] parts = choice.trim().split(":");
    try {
      int backend = parts.length == 2 ? Integer.parseInt(parts[0]) : 0;
      int device = Integer.parseInt(parts[parts.length - 1]);
      if (parts.length <= 2
          && backend >= 0
          && backend < runtime.getNumBackends()
          && device >= 0
          && device < runtime.getBackend(backend).getNumDevices()) {
        return runtime.getBackend(backend).getDevice(device);
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        "TornadoVM device "
            + choice
            + " (kiln --device, or -D"
            + DEVICE_PROPERTY
            + ") names no device; devices: "
            + String.join("; ", devices()));
  }

  /**
   * The kernels' layout on {@code device}: {@value #LAYOUT_PROPERTY} if set ({@code gpu} or {@code
   * cpu}), else {@link #defaultLayout}. {@code gpu}: a work-group per projection row with a local
   * reduction, attention split over positions and combined, weights in their stored type; {@code
   * cpu}: a thread per output feature and per (row, head).
   */
  public static String layout(TornadoDevice device) {
    String choice = System.getProperty(LAYOUT_PROPERTY);
    if (choice == null || choice.isBlank()) {
      return defaultLayout(device);
    }
    String layout = choice.trim().toLowerCase(java.util.Locale.ROOT);
    if (!layout.equals("gpu") && !layout.equals("cpu")) {
      throw new IllegalArgumentException(
          "TornadoVM layout " + choice + " (-D" + LAYOUT_PROPERTY + "): expected gpu or cpu");
    }
    return layout;
  }

  /** {@code gpu} on a GPU, {@code cpu} on every other device (CPU OpenCL devices among them). */
  public static String defaultLayout(TornadoDevice device) {
    return device.getDeviceType() == TornadoDeviceType.GPU ? "gpu" : "cpu";
  }

  /**
   * The threads per work-group to use for a task that wants {@code wanted} (a power of two): the
   * largest power of two no larger than {@code wanted} and the device's maximum work-group size.
   */
  public static int localSize(TornadoDevice device, int wanted) {
    long limit = wanted;
    long[] groupSize = device.getPhysicalDevice().getDeviceMaxWorkGroupSize();
    if (groupSize != null && groupSize.length > 0 && groupSize[0] > 0) {
      limit = Math.min(limit, groupSize[0]);
    }
    long[] dimensions = device.getDeviceMaxWorkgroupDimensions();
    if (dimensions != null && dimensions.length > 0 && dimensions[0] > 0) {
      limit = Math.min(limit, dimensions[0]);
    }
    return Integer.highestOneBit((int) Math.max(1, limit));
  }

  /** Fails unless the device's local memory holds {@code bytes} (a task's work-group arrays). */
  public static void checkLocalMemory(TornadoDevice device, long bytes, String task) {
    long available = device.getDeviceLocalMemorySize();
    if (available > 0 && bytes > available) {
      throw new IllegalStateException(
          "task "
              + task
              + " needs "
              + bytes
              + " bytes of local memory per work-group; device "
              + device.getPhysicalDevice().getDeviceName()
              + " has "
              + available
              + " (use -D"
              + LAYOUT_PROPERTY
              + "=cpu)");
    }
  }

  private static TornadoRuntime runtime() {
    try {
      return TornadoRuntimeProvider.getTornadoRuntime();
    } catch (LinkageError | RuntimeException e) {
      throw new IllegalStateException(
          "TornadoVM's runtime is not in this JVM (run it with TornadoVM's JVM options:"
              + " java @$TORNADOVM_HOME/tornado-argfile ...): "
              + e,
          e);
    }
  }

  /** An execution plan of {@code graphs} on {@code device} with the grids of {@code grid}. */
  public static TornadoExecutionPlan plan(
      List<ImmutableTaskGraph> graphs, GridScheduler grid, TornadoDevice device) {
    TornadoExecutionPlan plan =
        new TornadoExecutionPlan(graphs.toArray(ImmutableTaskGraph[]::new))
            .withGridScheduler(grid)
            .withDevice(device);
    if (Boolean.getBoolean(PRINT_KERNELS_PROPERTY)) {
      plan.withPrintKernel();
    }
    return plan;
  }

  /**
   * Executes graph {@code index} of the plan; a TornadoVM failure becomes an error naming the
   * graph.
   */
  public static void execute(TornadoExecutionPlan plan, int index) {
    try {
      plan.withGraph(index).execute();
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "TornadoVM failed in graph "
              + index
              + " of the decoder's plan"
              + (isBailout(e)
                  ? " (a bailout: TornadoVM could not compile a task for the device)"
                  : "")
              + ": "
              + e,
          e);
    }
  }

  private static boolean isBailout(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getClass().getSimpleName().contains("Bailout")) {
        return true;
      }
    }
    return false;
  }

  /** Frees the plan's device memory. */
  public static void close(TornadoExecutionPlan plan) {
    try {
      plan.close();
    } catch (TornadoExecutionPlanException e) {
      throw new IllegalStateException(
          "TornadoVM could not free the decoder's plan: " + e.getMessage(), e);
    }
  }
}
