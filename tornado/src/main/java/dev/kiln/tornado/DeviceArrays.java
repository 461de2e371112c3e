package dev.kiln.tornado;

import dev.kiln.weights.Dtype;
import dev.kiln.weights.FloatTensor;
import dev.kiln.weights.WeightTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

/**
 * Weights as TornadoVM arrays, in logical row order (a GGUF row permutation is applied while
 * copying). The {@code cpu} layout keeps Q8_0 matrices as their raw blocks and makes everything
 * else float32; the {@code gpu} layout also keeps F16 matrices as their raw halves ({@code
 * ShortArray}: TornadoVM's {@code HalfFloatArray} needs the device's {@code half} type, which CPU
 * OpenCL devices may lack) and Q4_0 matrices as their blocks.
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

  /**
   * The type a task's matrices keep on the device: in the {@code gpu} layout, the type they are all
   * stored in when it is F16, Q8_0 or Q4_0; in the {@code cpu} layout, Q8_0 when they all are; F32
   * otherwise (every other type, and matrices of mixed types, are converted to float32).
   */
  public static Dtype deviceType(boolean gpu, WeightTensor... tensors) {
    Dtype common = tensors.length == 0 ? Dtype.F32 : tensors[0].dtype();
    for (WeightTensor tensor : tensors) {
      if (tensor.dtype() != common) {
        return Dtype.F32;
      }
    }
    if (common == Dtype.Q8_0 || (gpu && (common == Dtype.F16 || common == Dtype.Q4_0))) {
      return common;
    }
    return Dtype.F32;
  }

  /**
   * The tensor as {@code type} on the device (from {@link #deviceType}): blocks, halves or float32.
   */
  public static Object matrix(WeightTensor tensor, Dtype type) {
    return switch (type) {
      case Q8_0, Q4_0 -> blocks(tensor, type);
      case F16 -> halves(tensor);
      default -> floats(tensor);
    };
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
      throw new IllegalArgumentException(
          tensor.name() + ": " + elements + " elements do not fit one TornadoVM FloatArray");
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
    return blocks(tensor, Dtype.Q8_0);
  }

  /** An F16 tensor's raw halves (IEEE binary16 bits), row after row. */
  public static ShortArray halves(WeightTensor tensor) {
    if (tensor.dtype() != Dtype.F16) {
      throw new IllegalArgumentException(tensor.name() + " is " + tensor.dtype() + ", not F16");
    }
    long elements = tensor.rows() * tensor.columns();
    if (elements > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException(
          tensor.name() + ": " + elements + " elements do not fit one TornadoVM ShortArray");
    }
    ShortArray array = new ShortArray((int) elements);
    MemorySegment target = array.getSegment();
    long rowBytes = tensor.columns() * Short.BYTES;
    for (long r = 0; r < tensor.rows(); r++) {
      MemorySegment.copy(tensor.storedRow(r), 0, target, r * rowBytes, rowBytes);
    }
    return array;
  }

  /**
   * A quantized tensor's blocks, row after row: Q8_0 (per 32 weights a float16 scale and 32 int8)
   * or Q4_0 (a float16 scale and 16 bytes, weight j in the low nibble of byte j, weight j + 16 in
   * its high nibble, each minus 8).
   */
  public static ByteArray blocks(WeightTensor tensor, Dtype type) {
    if (tensor.dtype() != type || (type != Dtype.Q8_0 && type != Dtype.Q4_0)) {
      throw new IllegalArgumentException(tensor.name() + " is " + tensor.dtype() + ", not " + type);
    }
    long bytes = tensor.data().byteSize();
    if (bytes > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException(
          tensor.name() + ": " + bytes + " bytes do not fit one TornadoVM ByteArray");
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
