package dev.kiln.weights;

import dev.kiln.kernel.QuantizedRows;
import dev.kiln.kernel.VectorKernels;
import java.lang.foreign.MemorySegment;

/**
 * GGML's {@code Q8_0}, kept in its blocks: per 32 elements an F16 scale {@code d} and 32 signed
 * bytes {@code q}; x = d * q.
 */
public final class Q8_0Tensor extends WeightTensor {
  /** Elements per block: the one place this type's block size is stated. */
  public static final int BLOCK = 32;

  /** Bytes per block (an F16 scale and 32 signed bytes). */
  public static final int BLOCK_BYTES = 34;

  Q8_0Tensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.Q8_0, data, rowOrder);
  }

  @Override
  public Q8_0Tensor withRowOrder(int[] order) {
    return new Q8_0Tensor(name(), shape(), data(), order.clone());
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    return VectorKernels.dotQ8_0(
        data(), rowOffset(row), (int) (columns() / BLOCK), vector, vectorStart);
  }

  @Override
  public boolean takesInt8() {
    return true;
  }

  @Override
  public float dotInt8(long row, QuantizedRows x, int xRow) {
    if (x.columns() != columns()) {
      throw new IllegalArgumentException(
          name() + ": rows of " + columns() + " elements times inputs of " + x.columns());
    }
    return VectorKernels.dotQ8_0Int(data(), rowOffset(row), (int) (columns() / BLOCK), x, xRow, 0);
  }

  @Override
  public void readRow(long row, float[] out, int outStart) {
    VectorKernels.readQ8_0(data(), rowOffset(row), (int) (columns() / BLOCK), out, outStart);
  }
}
