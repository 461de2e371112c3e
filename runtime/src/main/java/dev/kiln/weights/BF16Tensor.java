package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A bfloat16 tensor, kept 16-bit in memory and widened exactly (a shift) as it is read. */
public final class BF16Tensor extends WeightTensor {
  private static final ValueLayout.OfShort HALF = F16Tensor.HALF;

  BF16Tensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.BF16, data, rowOrder);
  }

  @Override
  public BF16Tensor withRowOrder(int[] order) {
    return new BF16Tensor(name(), shape(), data(), order.clone());
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    MemorySegment data = data();
    long offset = rowOffset(row);
    int n = (int) columns();
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum += Dtype.bf16ToFloat(data.get(HALF, offset + 2L * i)) * vector[vectorStart + i];
    }
    return sum;
  }

  @Override
  public void readRow(long row, float[] out, int outStart) {
    MemorySegment data = data();
    long offset = rowOffset(row);
    int n = (int) columns();
    for (int i = 0; i < n; i++) {
      out[outStart + i] = Dtype.bf16ToFloat(data.get(HALF, offset + 2L * i));
    }
  }
}
