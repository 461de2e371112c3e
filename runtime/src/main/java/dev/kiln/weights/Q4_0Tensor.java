package dev.kiln.weights;

import dev.kiln.kernel.QuantizedRows;
import dev.kiln.kernel.VectorKernels;
import java.lang.foreign.MemorySegment;

/**
 * GGML's {@code Q4_0}, kept in its blocks: per 32 elements an F16 scale {@code d} and 16 bytes of
 * 4-bit {@code q} (element j in the low nibble of byte j, element j + 16 in the high nibble); x = d
 * * (q - 8).
 */
public final class Q4_0Tensor extends WeightTensor {
  /** Elements per block: the one place this type's block size is stated. */
  public static final int BLOCK = 32;

  /** Bytes per block (an F16 scale and 16 bytes of nibbles). */
  public static final int BLOCK_BYTES = 18;

  Q4_0Tensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.Q4_0, data, rowOrder);
  }

  @Override
  public Q4_0Tensor withRowOrder(int[] order) {
    return new Q4_0Tensor(name(), shape(), data(), order.clone());
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    return VectorKernels.dotQ4_0(
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
    return VectorKernels.dotQ4_0Int(data(), rowOffset(row), (int) (columns() / BLOCK), x, xRow, 0);
  }

  @Override
  public void readRow(long row, float[] out, int outStart) {
    VectorKernels.readQ4_0(data(), rowOffset(row), (int) (columns() / BLOCK), out, outStart);
  }
}
