// Test stub of TornadoVM's API: only what generated TornadoVM decoders use, so that javac can
// type-check them without TornadoVM (see TornadoStubCompileTest). Signatures as in TornadoVM 5.2.
package uk.ac.manchester.tornado.api.enums;

public class DataTransferMode {
  public static final int FIRST_EXECUTION = 0;
  public static final int EVERY_EXECUTION = 1;
}
