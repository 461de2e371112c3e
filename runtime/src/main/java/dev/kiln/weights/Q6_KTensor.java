package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML's {@code Q6_K}, kept in its blocks of 256 elements (210 bytes): 128 bytes {@code ql} (low 4
 * bits), 64 bytes {@code qh} (high 2 bits), 16 signed 8-bit sub-block scales, F16 {@code d}. Each
 * half of 128 elements uses 64 bytes of ql, 32 of qh and 8 scales; within it, element
 * {@code 32k + l} (k = 0..3, l = 0..31) takes nibble {@code k / 2} of {@code ql[l + 32 (k % 2)]}
 * and bits {@code 2k, 2k+1} of {@code qh[l]}, and scale {@code l / 16 + 2k}. x = d * scale * (q - 32).
 */
public final class Q6_KTensor extends WeightTensor {
  static final int BLOCK = 256;
  static final int BLOCK_BYTES = 210;
  private static final int QH = 128;
  private static final int SCALES = 192;
  private static final int D = 208;

  Q6_KTensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.Q6_K, data, rowOrder);
  }

  @Override
  public Q6_KTensor withRowOrder(int[] order) {
    return new Q6_KTensor(name(), shape(), data(), order.clone());
  }

  /** The 6-bit value (0..63, before subtracting 32) of element {@code 32k + l} in half {@code half} of a block. */
  private static int q(MemorySegment data, long block, int half, int k, int l) {
    int low = data.get(ValueLayout.JAVA_BYTE, block + half * 64L + l + 32 * (k & 1)) & 0xff;
    int high = data.get(ValueLayout.JAVA_BYTE, block + QH + half * 32L + l) & 0xff;
    return ((k < 2 ? low & 0x0f : low >>> 4) | (((high >>> (2 * k)) & 3) << 4));
  }

  private static int scale(MemorySegment data, long block, int index) {
    return data.get(ValueLayout.JAVA_BYTE, block + SCALES + index);
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    MemorySegment data = data();
    long block = rowOffset(row);
    int blocks = (int) (columns() / BLOCK);
    float sum = 0f;
    for (int b = 0; b < blocks; b++, block += BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(F16Tensor.HALF, block + D));
      for (int half = 0; half < 2; half++) {
        for (int k = 0; k < 4; k++) {
          for (int sixteen = 0; sixteen < 2; sixteen++) {
            int x = vectorStart + b * BLOCK + half * 128 + k * 32 + sixteen * 16;
            float groupDot = 0f;
            for (int l = sixteen * 16; l < sixteen * 16 + 16; l++) {
              groupDot += (q(data, block, half, k, l) - 32) * vector[x + l - sixteen * 16];
            }
            sum += d * scale(data, block, half * 8 + sixteen + 2 * k) * groupDot;
          }
        }
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
      float d = Float.float16ToFloat(data.get(F16Tensor.HALF, block + D));
      for (int half = 0; half < 2; half++) {
        for (int k = 0; k < 4; k++) {
          for (int l = 0; l < 32; l++) {
            float scale = d * scale(data, block, half * 8 + l / 16 + 2 * k);
            out[outStart + b * BLOCK + half * 128 + k * 32 + l] = scale * (q(data, block, half, k, l) - 32);
          }
        }
      }
    }
  }
}
