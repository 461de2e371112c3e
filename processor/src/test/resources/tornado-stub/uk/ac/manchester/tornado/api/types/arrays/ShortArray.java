// Test stub of TornadoVM's API: only what generated TornadoVM decoders use, so that javac can
// type-check them without TornadoVM (see TornadoStubCompileTest). Signatures as in TornadoVM 5.2.
package uk.ac.manchester.tornado.api.types.arrays;

import java.lang.foreign.MemorySegment;

public final class ShortArray {
  public ShortArray(int size) {}

  public short get(int index) {
    return 0;
  }

  public void set(int index, short value) {}

  public MemorySegment getSegment() {
    return MemorySegment.NULL;
  }
}
