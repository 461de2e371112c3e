package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** GGML's {@code Q8_0}, kept in its blocks: per 32 elements an F16 scale {@code d} and 32 signed bytes {@code q}; x = d * q. */
public final class Q8_0Tensor extends WeightTensor {
  static final int BLOCK = 32;
  static final int BLOCK_BYTES = 34;

  Q8_0Tensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.Q8_0, data, rowOrder);
  }

  @Override
  public Q8_0Tensor withRowOrder(int[] order) {
    return new Q8_0Tensor(name(), shape(), data(), order.clone());
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    MemorySegment data = data();
    long block = rowOffset(row);
    int blocks = (int) (columns() / BLOCK);
    float sum = 0f;
    for (int b = 0; b < blocks; b++, block += BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(F16Tensor.HALF, block));
      int x = vectorStart + b * BLOCK;
      float blockSum = 0f;
      for (int j = 0; j < BLOCK; j++) {
        blockSum += data.get(ValueLayout.JAVA_BYTE, block + 2 + j) * vector[x + j];
      }
      sum += d * blockSum;
    }
    return sum;
  }

  @Override
  public void readRow(long row, float[] out, int outStart) {
    MemorySegment data = data();
    long block = rowOffset(row);
    int blocks = (int) (columns() / BLOCK);
    for (int b = 0; b < blocks; b++, block += BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(F16Tensor.HALF, block));
      int y = outStart + b * BLOCK;
      for (int j = 0; j < BLOCK; j++) {
        out[y + j] = d * data.get(ValueLayout.JAVA_BYTE, block + 2 + j);
      }
    }
  }
}
