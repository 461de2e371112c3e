// Test stub of Kiln's TornadoVM support (module kiln-tornado, tornado/src/main/java): the signatures
// generated TornadoVM decoders call, for TornadoStubCompileTest.
package dev.kiln.tornado;

import dev.kiln.weights.Dtype;
import dev.kiln.weights.FloatTensor;
import dev.kiln.weights.WeightTensor;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

public final class DeviceArrays {
  private DeviceArrays() {}

  public static Dtype deviceType(boolean gpu, WeightTensor... tensors) {
    throw new UnsupportedOperationException("stub");
  }

  public static Object matrix(WeightTensor tensor, Dtype type) {
    throw new UnsupportedOperationException("stub");
  }

  public static FloatArray vector(FloatTensor tensor) {
    throw new UnsupportedOperationException("stub");
  }
}
