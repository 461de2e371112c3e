// Test stub of TornadoVM's API: only what generated TornadoVM decoders use, so that javac can
// type-check them without TornadoVM (see TornadoStubCompileTest). Signatures as in TornadoVM 5.2.
package uk.ac.manchester.tornado.api.math;

public final class TornadoMath {
  private TornadoMath() {}

  public static float exp(float value) {
    return (float) Math.exp(value);
  }

  public static float sqrt(float value) {
    return (float) Math.sqrt(value);
  }

  public static float tanh(float value) {
    return (float) Math.tanh(value);
  }
}
