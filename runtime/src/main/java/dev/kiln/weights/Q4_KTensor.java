package dev.kiln.weights;

import dev.kiln.kernel.VectorKernels;
import java.lang.foreign.MemorySegment;

/**
 * GGML's {@code Q4_K}, kept in its blocks of 256 elements (144 bytes): F16 {@code d} and {@code
 * dmin}, 12 bytes packing eight 6-bit sub-block scales and mins, then 128 bytes of 4-bit {@code q}.
 * The block is four groups of 64 elements; group g uses bytes {@code 32g .. 32g+31}: their low
 * nibbles are sub-block 2g, their high nibbles sub-block 2g+1. Element x = d * scale[s] * q - dmin
 * * min[s].
 */
public final class Q4_KTensor extends WeightTensor {
  /** Elements per block: the one place this type's block size is stated. */
  public static final int BLOCK = 256;

  /** Bytes per block (F16 d and dmin, 12 bytes of scales and mins, 128 bytes of nibbles). */
  public static final int BLOCK_BYTES = 144;

  Q4_KTensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.Q4_K, data, rowOrder);
  }

  @Override
  public Q4_KTensor withRowOrder(int[] order) {
    return new Q4_KTensor(name(), shape(), data(), order.clone());
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    return VectorKernels.dotQ4_K(
        data(), rowOffset(row), (int) (columns() / BLOCK), vector, vectorStart);
  }

  @Override
  public void readRow(long row, float[] out, int outStart) {
    VectorKernels.readQ4_K(data(), rowOffset(row), (int) (columns() / BLOCK), out, outStart);
  }
}
