package dev.kiln.tornado;

import dev.kiln.weights.Dtype;
import dev.kiln.weights.FloatTensor;
import dev.kiln.weights.WeightTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Weights as TornadoVM arrays, in logical row order (a GGUF row permutation is applied while
 * copying): Q8_0 matrices as their raw blocks, everything else as float32.
 */
public final class DeviceArrays {
  private DeviceArrays() {}

  /** Whether every tensor is stored as Q8_0, so a task over them can run on the blocks. */
  public static boolean allQ8_0(WeightTensor... tensors) {
    for (WeightTensor tensor : tensors) {
      if (tensor.dtype() != Dtype.Q8_0) {
        return false;
      }
    }
    return true;
  }

  /** {@link #blocks} if {@code q8}, else {@link #floats}. */
  public static Object matrix(WeightTensor tensor, boolean q8) {
    return q8 ? blocks(tensor) : floats(tensor);
  }

  /** A norm gain or bias. */
  public static FloatArray vector(FloatTensor tensor) {
    return floats(tensor);
  }

  /** The tensor as float32, dequantized if stored otherwise. */
  public static FloatArray floats(WeightTensor tensor) {
    long elements = tensor.rows() * tensor.columns();
    if (elements > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException(tensor.name() + ": " + elements + " elements do not fit one TornadoVM FloatArray");
    }
    int columns = (int) tensor.columns();
    FloatArray array = new FloatArray((int) elements);
    MemorySegment target = array.getSegment();
    float[] row = new float[columns];
    for (long r = 0; r < tensor.rows(); r++) {
      long at = r * columns * Float.BYTES;
      if (tensor.dtype() == Dtype.F32) {
        MemorySegment.copy(tensor.storedRow(r), 0, target, at, (long) columns * Float.BYTES);
      } else {
        tensor.readRow(r, row, 0);
        MemorySegment.copy(row, 0, target, ValueLayout.JAVA_FLOAT, at, columns);
      }
    }
    return array;
  }

  /** A Q8_0 tensor's blocks, row after row: per 32 weights a float16 scale and 32 int8. */
  public static ByteArray blocks(WeightTensor tensor) {
    if (tensor.dtype() != Dtype.Q8_0) {
      throw new IllegalArgumentException(tensor.name() + " is " + tensor.dtype() + ", not Q8_0");
    }
    long bytes = tensor.data().byteSize();
    if (bytes > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException(tensor.name() + ": " + bytes + " bytes do not fit one TornadoVM ByteArray");
    }
    ByteArray array = new ByteArray((int) bytes);
    MemorySegment target = array.getSegment();
    long rowBytes = bytes / Math.max(1, tensor.rows());
    for (long r = 0; r < tensor.rows(); r++) {
      MemorySegment.copy(tensor.storedRow(r), 0, target, r * rowBytes, rowBytes);
    }
    return array;
  }
}
