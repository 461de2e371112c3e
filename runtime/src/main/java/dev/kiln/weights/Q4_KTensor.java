package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML's {@code Q4_K}, kept in its blocks of 256 elements (144 bytes): F16 {@code d} and
 * {@code dmin}, 12 bytes packing eight 6-bit sub-block scales and mins, then 128 bytes of 4-bit
 * {@code q}. The block is four groups of 64 elements; group g uses bytes {@code 32g .. 32g+31}:
 * their low nibbles are sub-block 2g, their high nibbles sub-block 2g+1. Element
 * x = d * scale[s] * q - dmin * min[s].
 */
public final class Q4_KTensor extends WeightTensor {
  static final int BLOCK = 256;
  static final int BLOCK_BYTES = 144;
  private static final int SCALES = 4;
  private static final int QS = 16;

  Q4_KTensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.Q4_K, data, rowOrder);
  }

  @Override
  public Q4_KTensor withRowOrder(int[] order) {
    return new Q4_KTensor(name(), shape(), data(), order.clone());
  }

  /** The 6-bit scale of sub-block {@code j} (0..7) of the block at {@code block}. */
  static int scale(MemorySegment data, long block, int j) {
    if (j < 4) {
      return u8(data, block + SCALES + j) & 63;
    }
    return (u8(data, block + SCALES + j + 4) & 0x0f) | ((u8(data, block + SCALES + j - 4) >>> 6) << 4);
  }

  /** The 6-bit min of sub-block {@code j} (0..7) of the block at {@code block}. */
  static int min(MemorySegment data, long block, int j) {
    if (j < 4) {
      return u8(data, block + SCALES + j + 4) & 63;
    }
    return (u8(data, block + SCALES + j + 4) >>> 4) | ((u8(data, block + SCALES + j) >>> 6) << 4);
  }

  private static int u8(MemorySegment data, long offset) {
    return data.get(ValueLayout.JAVA_BYTE, offset) & 0xff;
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    MemorySegment data = data();
    long block = rowOffset(row);
    int blocks = (int) (columns() / BLOCK);
    float sum = 0f;
    for (int b = 0; b < blocks; b++, block += BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(F16Tensor.HALF, block));
      float dmin = Float.float16ToFloat(data.get(F16Tensor.HALF, block + 2));
      for (int group = 0; group < 4; group++) {
        int x = vectorStart + b * BLOCK + group * 64;
        long qs = block + QS + group * 32L;
        float lowDot = 0f, highDot = 0f, lowSum = 0f, highSum = 0f;
        for (int l = 0; l < 32; l++) {
          int packed = u8(data, qs + l);
          float low = vector[x + l];
          float high = vector[x + 32 + l];
          lowDot += (packed & 0x0f) * low;
          highDot += (packed >>> 4) * high;
          lowSum += low;
          highSum += high;
        }
        sum += d * scale(data, block, 2 * group) * lowDot - dmin * min(data, block, 2 * group) * lowSum;
        sum += d * scale(data, block, 2 * group + 1) * highDot - dmin * min(data, block, 2 * group + 1) * highSum;
      }
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
      float dmin = Float.float16ToFloat(data.get(F16Tensor.HALF, block + 2));
      for (int group = 0; group < 4; group++) {
        int y = outStart + b * BLOCK + group * 64;
        long qs = block + QS + group * 32L;
        float d1 = d * scale(data, block, 2 * group);
        float m1 = dmin * min(data, block, 2 * group);
        float d2 = d * scale(data, block, 2 * group + 1);
        float m2 = dmin * min(data, block, 2 * group + 1);
        for (int l = 0; l < 32; l++) {
          int packed = u8(data, qs + l);
          out[y + l] = d1 * (packed & 0x0f) - m1;
          out[y + 32 + l] = d2 * (packed >>> 4) - m2;
        }
      }
    }
  }
}
