package dev.kiln.tornado;

import java.util.ArrayList;
import java.util.List;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TornadoBackend;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoRuntime;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.exceptions.TornadoExecutionPlanException;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

/**
 * What every generated TornadoVM decoder shares: device choice and listing, the execution plan's
 * options, and turning TornadoVM's failures (a bailout among them) into errors that say where.
 *
 * <p>System properties: {@value #DEVICE_PROPERTY} ({@code backend:device}, as {@link #devices()}
 * lists them; default TornadoVM's default device) and {@value #PRINT_KERNELS_PROPERTY}
 * ({@code true} prints the OpenCL C or PTX TornadoVM generates for each task).
 *
 * <p>A TornadoVM "bailout" (a task it cannot compile, run instead as sequential Java) would make
 * the decoder silently slow: Kiln sets TornadoVM's {@value #BAILOUT_PROPERTY} to {@code False}
 * unless the user set it, so a bailout is an error naming the graph.
 */
public final class TornadoSupport {
  public static final String DEVICE_PROPERTY = "kiln.tornado.device";
  public static final String PRINT_KERNELS_PROPERTY = "kiln.tornado.printKernels";
  public static final String BAILOUT_PROPERTY = "tornado.recover.bailout";

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
        result.add(b + ":" + d + " " + device.getPhysicalDevice().getDeviceName() + " (" + backend.getName() + ")");
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
      if (parts.length <= 2 && backend >= 0 && backend < runtime.getNumBackends() && device >= 0
          && device < runtime.getBackend(backend).getNumDevices()) {
        return runtime.getBackend(backend).getDevice(device);
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("TornadoVM device " + choice + " (kiln --device, or -D" + DEVICE_PROPERTY
        + ") names no device; devices: " + String.join("; ", devices()));
  }

  private static TornadoRuntime runtime() {
    try {
      return TornadoRuntimeProvider.getTornadoRuntime();
    } catch (LinkageError | RuntimeException e) {
      throw new IllegalStateException("TornadoVM's runtime is not in this JVM (run it with TornadoVM's JVM options:"
          + " java @$TORNADOVM_HOME/tornado-argfile ...): " + e, e);
    }
  }

  /** An execution plan of {@code graphs} on {@code device} with the grids of {@code grid}. */
  public static TornadoExecutionPlan plan(List<ImmutableTaskGraph> graphs, GridScheduler grid, TornadoDevice device) {
    TornadoExecutionPlan plan = new TornadoExecutionPlan(graphs.toArray(ImmutableTaskGraph[]::new))
        .withGridScheduler(grid)
        .withDevice(device);
    if (Boolean.getBoolean(PRINT_KERNELS_PROPERTY)) {
      plan.withPrintKernel();
    }
    return plan;
  }

  /** Executes graph {@code index} of the plan; a TornadoVM failure becomes an error naming the graph. */
  public static void execute(TornadoExecutionPlan plan, int index) {
    try {
      plan.withGraph(index).execute();
    } catch (RuntimeException e) {
      throw new IllegalStateException("TornadoVM failed in graph " + index + " of the decoder's plan"
          + (isBailout(e) ? " (a bailout: TornadoVM could not compile a task for the device)" : "") + ": " + e, e);
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
      throw new IllegalStateException("TornadoVM could not free the decoder's plan: " + e.getMessage(), e);
    }
  }
}
