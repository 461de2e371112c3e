package dev.kiln.weights;

import dev.kiln.kernel.VectorKernels;
import java.lang.foreign.MemorySegment;

/** A bfloat16 tensor, kept 16-bit in memory and widened exactly (a shift) as it is read. */
public final class BF16Tensor extends WeightTensor {
  BF16Tensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.BF16, data, rowOrder);
  }

  @Override
  public BF16Tensor withRowOrder(int[] order) {
    return new BF16Tensor(name(), shape(), data(), order.clone());
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    return VectorKernels.dotBF16(data(), rowOffset(row), vector, vectorStart, (int) columns());
  }

  @Override
  public void readRow(long row, float[] out, int outStart) {
    VectorKernels.readBF16(data(), rowOffset(row), out, outStart, (int) columns());
  }
}
