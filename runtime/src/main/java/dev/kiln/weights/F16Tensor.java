package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** An IEEE binary16 tensor, kept 16-bit in memory and widened exactly (subnormals included) as it is read. */
public final class F16Tensor extends WeightTensor {
  static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  F16Tensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.F16, data, rowOrder);
  }

  @Override
  public F16Tensor withRowOrder(int[] order) {
    return new F16Tensor(name(), shape(), data(), order.clone());
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    MemorySegment data = data();
    long offset = rowOffset(row);
    int n = (int) columns();
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum += Float.float16ToFloat(data.get(HALF, offset + 2L * i)) * vector[vectorStart + i];
    }
    return sum;
  }

  @Override
  public void readRow(long row, float[] out, int outStart) {
    MemorySegment data = data();
    long offset = rowOffset(row);
    int n = (int) columns();
    for (int i = 0; i < n; i++) {
      out[outStart + i] = Float.float16ToFloat(data.get(HALF, offset + 2L * i));
    }
  }
}
