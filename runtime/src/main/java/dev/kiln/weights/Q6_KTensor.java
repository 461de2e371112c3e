package dev.kiln.weights;

import dev.kiln.kernel.VectorKernels;
import java.lang.foreign.MemorySegment;

/**
 * GGML's {@code Q6_K}, kept in its blocks of 256 elements (210 bytes): 128 bytes {@code ql} (low 4
 * bits), 64 bytes {@code qh} (high 2 bits), 16 signed 8-bit sub-block scales, F16 {@code d}. Each
 * half of 128 elements uses 64 bytes of ql, 32 of qh and 8 scales; within it, element {@code 32k +
 * l} (k = 0..3, l = 0..31) takes nibble {@code k / 2} of {@code ql[l + 32 (k % 2)]} and bits {@code
 * 2k, 2k+1} of {@code qh[l]}, and scale {@code l / 16 + 2k}. x = d * scale * (q - 32).
 */
public final class Q6_KTensor extends WeightTensor {
  /** Elements per block: the one place this type's block size is stated. */
  public static final int BLOCK = 256;

  /** Bytes per block (128 bytes of low bits, 64 of high bits, 16 scales, F16 d). */
  public static final int BLOCK_BYTES = 210;

  Q6_KTensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.Q6_K, data, rowOrder);
  }

  @Override
  public Q6_KTensor withRowOrder(int[] order) {
    return new Q6_KTensor(name(), shape(), data(), order.clone());
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    return VectorKernels.dotQ6_K(
        data(), rowOffset(row), (int) (columns() / BLOCK), vector, vectorStart);
  }

  @Override
  public void readRow(long row, float[] out, int outStart) {
    VectorKernels.readQ6_K(data(), rowOffset(row), (int) (columns() / BLOCK), out, outStart);
  }
}
