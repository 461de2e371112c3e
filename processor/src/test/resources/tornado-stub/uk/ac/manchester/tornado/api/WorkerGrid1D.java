// Test stub of TornadoVM's API: only what generated TornadoVM decoders use, so that javac can
// type-check them without TornadoVM (see TornadoStubCompileTest). Signatures as in TornadoVM 5.2.
package uk.ac.manchester.tornado.api;

public class WorkerGrid1D implements WorkerGrid {
  public WorkerGrid1D(int size) {}

  @Override
  public void setLocalWork(long x, long y, long z) {}
}
