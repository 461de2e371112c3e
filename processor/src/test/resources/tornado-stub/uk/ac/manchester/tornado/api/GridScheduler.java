// Test stub of TornadoVM's API: only what generated TornadoVM decoders use, so that javac can
// type-check them without TornadoVM (see TornadoStubCompileTest). Signatures as in TornadoVM 5.2.
package uk.ac.manchester.tornado.api;

public class GridScheduler {
  public void addWorkerGrid(String taskName, WorkerGrid grid) {}
}
