package dev.kiln.weights;

import dev.kiln.kernel.VectorKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * An IEEE binary16 tensor, kept 16-bit in memory and widened exactly (subnormals included) as it is
 * read.
 */
public final class F16Tensor extends WeightTensor {
  static final ValueLayout.OfShort HALF =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  F16Tensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.F16, data, rowOrder);
  }

  @Override
  public F16Tensor withRowOrder(int[] order) {
    return new F16Tensor(name(), shape(), data(), order.clone());
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    return VectorKernels.dotF16(data(), rowOffset(row), vector, vectorStart, (int) columns());
  }

  @Override
  public void readRow(long row, float[] out, int outStart) {
    VectorKernels.readF16(data(), rowOffset(row), out, outStart, (int) columns());
  }
}
