package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML's {@code Q4_0}, kept in its blocks: per 32 elements an F16 scale {@code d} and 16 bytes of
 * 4-bit {@code q} (element j in the low nibble of byte j, element j + 16 in the high nibble);
 * x = d * (q - 8).
 */
public final class Q4_0Tensor extends WeightTensor {
  static final int BLOCK = 32;
  static final int BLOCK_BYTES = 18;

  Q4_0Tensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.Q4_0, data, rowOrder);
  }

  @Override
  public Q4_0Tensor withRowOrder(int[] order) {
    return new Q4_0Tensor(name(), shape(), data(), order.clone());
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
      for (int j = 0; j < BLOCK / 2; j++) {
        int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + j) & 0xff;
        blockSum += ((packed & 0x0f) - 8) * vector[x + j] + ((packed >>> 4) - 8) * vector[x + j + BLOCK / 2];
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
      for (int j = 0; j < BLOCK / 2; j++) {
        int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + j) & 0xff;
        out[y + j] = d * ((packed & 0x0f) - 8);
        out[y + j + BLOCK / 2] = d * ((packed >>> 4) - 8);
      }
    }
  }
}
