// Test stub of Kiln's TornadoVM support (module kiln-tornado, tornado/src/main/java): the signatures
// generated TornadoVM decoders call, for TornadoStubCompileTest.
package dev.kiln.tornado;

import java.util.List;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.common.TornadoDevice;

public final class TornadoSupport {
  private TornadoSupport() {}

  public static TornadoDevice selectedDevice() {
    throw new UnsupportedOperationException("stub");
  }

  public static String layout(TornadoDevice device) {
    throw new UnsupportedOperationException("stub");
  }

  public static int localSize(TornadoDevice device, int wanted) {
    return wanted;
  }

  public static void checkLocalMemory(TornadoDevice device, long bytes, String task) {}

  public static TornadoExecutionPlan plan(List<ImmutableTaskGraph> graphs, GridScheduler grid, TornadoDevice device) {
    throw new UnsupportedOperationException("stub");
  }

  public static void execute(TornadoExecutionPlan plan, int index) {}

  public static void close(TornadoExecutionPlan plan) {}
}
