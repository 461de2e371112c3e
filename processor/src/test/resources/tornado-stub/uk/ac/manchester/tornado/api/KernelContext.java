// Test stub of TornadoVM's API: only what generated TornadoVM decoders use, so that javac can
// type-check them without TornadoVM (see TornadoStubCompileTest). Signatures as in TornadoVM 5.2.
package uk.ac.manchester.tornado.api;

public class KernelContext {
  public final Integer globalIdx = 0;
  public final Integer groupIdx = 0;
  public final Integer localIdx = 0;
  public final Integer localGroupSizeX = 1;

  public void localBarrier() {}

  public float[] allocateFloatLocalArray(int size) {
    return new float[size];
  }
}
