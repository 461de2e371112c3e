package dev.kiln.kernel;

import dev.kiln.weights.Q4_0Tensor;
import dev.kiln.weights.Q4_KTensor;
import dev.kiln.weights.Q6_KTensor;
import dev.kiln.weights.Q8_0Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The scalar paths of {@link VectorKernels}: plain loops, one element at a time, which need no
 * Vector API. They are the reference the vector kernels are tested against ({@code readF16} and the
 * other row readers bit for bit) and what runs when the Vector API is missing or {@code
 * kiln.vector=scalar}. Arguments are as in {@link VectorKernels}.
 */
public final class ScalarKernels {
  static final ValueLayout.OfFloat FLOAT =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfShort HALF =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

  /** Q4_K: offset of the 12 bytes of sub-block scales and mins, and of the 128 bytes of quants. */
  static final int Q4_K_SCALES = 4;

  static final int Q4_K_QS = 16;

  /** Q6_K: offsets of qh (high 2 bits), the 16 signed scales and the F16 d. */
  static final int Q6_K_QH = 128;

  static final int Q6_K_SCALES = 192;
  static final int Q6_K_D = 208;

  private ScalarKernels() {}

  /** {@link VectorKernels#dot(float[], int, float[], int, int)}, one sum. */
  public static float dot(float[] a, int aStart, float[] b, int bStart, int n) {
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum += a[aStart + i] * b[bStart + i];
    }
    return sum;
  }

  /**
   * {@link VectorKernels#dot(MemorySegment, long, float[], int, int)} (F32; rowStart in floats).
   */
  public static float dotF32(
      MemorySegment weight, long rowStart, float[] vector, int vectorStart, int length) {
    float sum = 0f;
    for (int i = 0; i < length; i++) {
      sum += weight.getAtIndex(FLOAT, rowStart + i) * vector[vectorStart + i];
    }
    return sum;
  }

  /** {@link VectorKernels#dotF16}. */
  public static float dotF16(MemorySegment data, long offset, float[] x, int xStart, int n) {
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum += Float.float16ToFloat(data.get(HALF, offset + 2L * i)) * x[xStart + i];
    }
    return sum;
  }

  /** {@link VectorKernels#readF16}. */
  public static void readF16(MemorySegment data, long offset, float[] out, int outStart, int n) {
    for (int i = 0; i < n; i++) {
      out[outStart + i] = Float.float16ToFloat(data.get(HALF, offset + 2L * i));
    }
  }

  /** bfloat16 bits to float32: the upper half of a binary32. */
  static float bf16(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }

  /** {@link VectorKernels#dotBF16}. */
  public static float dotBF16(MemorySegment data, long offset, float[] x, int xStart, int n) {
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum += bf16(data.get(HALF, offset + 2L * i)) * x[xStart + i];
    }
    return sum;
  }

  /** {@link VectorKernels#readBF16}. */
  public static void readBF16(MemorySegment data, long offset, float[] out, int outStart, int n) {
    for (int i = 0; i < n; i++) {
      out[outStart + i] = bf16(data.get(HALF, offset + 2L * i));
    }
  }

  /** {@link VectorKernels#dotQ8_0}. */
  public static float dotQ8_0(MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    long block = offset;
    float sum = 0f;
    for (int b = 0; b < blocks; b++, block += Q8_0Tensor.BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(HALF, block));
      int xb = xStart + b * Q8_0Tensor.BLOCK;
      float blockSum = 0f;
      for (int j = 0; j < Q8_0Tensor.BLOCK; j++) {
        blockSum += data.get(BYTE, block + 2 + j) * x[xb + j];
      }
      sum += d * blockSum;
    }
    return sum;
  }

  /**
   * {@link VectorKernels#dotQ8_0Int}: exact integer sums per block, each times {@code d_w * d_x},
   * summed in float.
   */
  public static float dotQ8_0Int(
      MemorySegment data, long offset, int blocks, short[] q, int qStart, float[] d, int dStart) {
    long block = offset;
    float sum = 0f;
    for (int b = 0; b < blocks; b++, block += Q8_0Tensor.BLOCK_BYTES) {
      int qb = qStart + b * Q8_0Tensor.BLOCK;
      int blockSum = 0;
      for (int j = 0; j < Q8_0Tensor.BLOCK; j++) {
        blockSum += data.get(BYTE, block + 2 + j) * q[qb + j];
      }
      sum += blockSum * (Float.float16ToFloat(data.get(HALF, block)) * d[dStart + b]);
    }
    return sum;
  }

  /** {@link VectorKernels#dotQ4_0Int}: as {@link #dotQ8_0Int}, weights {@code q - 8}. */
  public static float dotQ4_0Int(
      MemorySegment data, long offset, int blocks, short[] q, int qStart, float[] d, int dStart) {
    long block = offset;
    float sum = 0f;
    for (int b = 0; b < blocks; b++, block += Q4_0Tensor.BLOCK_BYTES) {
      int qb = qStart + b * Q4_0Tensor.BLOCK;
      int blockSum = 0;
      for (int j = 0; j < 16; j++) {
        int packed = data.get(BYTE, block + 2 + j) & 0xff;
        blockSum += ((packed & 0x0f) - 8) * q[qb + j] + ((packed >>> 4) - 8) * q[qb + j + 16];
      }
      sum += blockSum * (Float.float16ToFloat(data.get(HALF, block)) * d[dStart + b]);
    }
    return sum;
  }

  /** {@link VectorKernels#readQ8_0}. */
  public static void readQ8_0(
      MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    long block = offset;
    for (int b = 0; b < blocks; b++, block += Q8_0Tensor.BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(HALF, block));
      int y = outStart + b * Q8_0Tensor.BLOCK;
      for (int j = 0; j < Q8_0Tensor.BLOCK; j++) {
        out[y + j] = d * data.get(BYTE, block + 2 + j);
      }
    }
  }

  /** {@link VectorKernels#dotQ4_0}. */
  public static float dotQ4_0(MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    long block = offset;
    float sum = 0f;
    for (int b = 0; b < blocks; b++, block += Q4_0Tensor.BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(HALF, block));
      int xb = xStart + b * Q4_0Tensor.BLOCK;
      float blockSum = 0f;
      for (int j = 0; j < 16; j++) {
        int packed = data.get(BYTE, block + 2 + j) & 0xff;
        blockSum += ((packed & 0x0f) - 8) * x[xb + j] + ((packed >>> 4) - 8) * x[xb + j + 16];
      }
      sum += d * blockSum;
    }
    return sum;
  }

  /** {@link VectorKernels#readQ4_0}. */
  public static void readQ4_0(
      MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    long block = offset;
    for (int b = 0; b < blocks; b++, block += Q4_0Tensor.BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(HALF, block));
      int y = outStart + b * Q4_0Tensor.BLOCK;
      for (int j = 0; j < 16; j++) {
        int packed = data.get(BYTE, block + 2 + j) & 0xff;
        out[y + j] = d * ((packed & 0x0f) - 8);
        out[y + j + 16] = d * ((packed >>> 4) - 8);
      }
    }
  }

  private static int u8(MemorySegment data, long offset) {
    return data.get(BYTE, offset) & 0xff;
  }

  /** Q4_K: the 6-bit scale of sub-block {@code j} (0..7) of the block at {@code block}. */
  static int q4kScale(MemorySegment data, long block, int j) {
    if (j < 4) {
      return u8(data, block + Q4_K_SCALES + j) & 63;
    }
    return (u8(data, block + Q4_K_SCALES + j + 4) & 0x0f)
        | ((u8(data, block + Q4_K_SCALES + j - 4) >>> 6) << 4);
  }

  /** Q4_K: the 6-bit min of sub-block {@code j} (0..7) of the block at {@code block}. */
  static int q4kMin(MemorySegment data, long block, int j) {
    if (j < 4) {
      return u8(data, block + Q4_K_SCALES + j + 4) & 63;
    }
    return (u8(data, block + Q4_K_SCALES + j + 4) >>> 4)
        | ((u8(data, block + Q4_K_SCALES + j) >>> 6) << 4);
  }

  /** {@link VectorKernels#dotQ4_K}. */
  public static float dotQ4_K(MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    long block = offset;
    float sum = 0f;
    for (int b = 0; b < blocks; b++, block += Q4_KTensor.BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(HALF, block));
      float dmin = Float.float16ToFloat(data.get(HALF, block + 2));
      for (int group = 0; group < 4; group++) {
        int xg = xStart + b * Q4_KTensor.BLOCK + group * 64;
        long qs = block + Q4_K_QS + group * 32L;
        float lowDot = 0f, highDot = 0f, lowSum = 0f, highSum = 0f;
        for (int l = 0; l < 32; l++) {
          int packed = u8(data, qs + l);
          float low = x[xg + l];
          float high = x[xg + 32 + l];
          lowDot += (packed & 0x0f) * low;
          highDot += (packed >>> 4) * high;
          lowSum += low;
          highSum += high;
        }
        sum +=
            d * q4kScale(data, block, 2 * group) * lowDot
                - dmin * q4kMin(data, block, 2 * group) * lowSum;
        sum +=
            d * q4kScale(data, block, 2 * group + 1) * highDot
                - dmin * q4kMin(data, block, 2 * group + 1) * highSum;
      }
    }
    return sum;
  }

  /** {@link VectorKernels#readQ4_K}. */
  public static void readQ4_K(
      MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    long block = offset;
    for (int b = 0; b < blocks; b++, block += Q4_KTensor.BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(HALF, block));
      float dmin = Float.float16ToFloat(data.get(HALF, block + 2));
      for (int group = 0; group < 4; group++) {
        int y = outStart + b * Q4_KTensor.BLOCK + group * 64;
        long qs = block + Q4_K_QS + group * 32L;
        float d1 = d * q4kScale(data, block, 2 * group);
        float m1 = dmin * q4kMin(data, block, 2 * group);
        float d2 = d * q4kScale(data, block, 2 * group + 1);
        float m2 = dmin * q4kMin(data, block, 2 * group + 1);
        for (int l = 0; l < 32; l++) {
          int packed = u8(data, qs + l);
          out[y + l] = d1 * (packed & 0x0f) - m1;
          out[y + 32 + l] = d2 * (packed >>> 4) - m2;
        }
      }
    }
  }

  /**
   * Q6_K: the 6-bit value (0..63, before subtracting 32) of element {@code 32k + l} in half {@code
   * half} of a block.
   */
  private static int q6k(MemorySegment data, long block, int half, int k, int l) {
    int low = u8(data, block + half * 64L + l + 32 * (k & 1));
    int high = u8(data, block + Q6_K_QH + half * 32L + l);
    return (k < 2 ? low & 0x0f : low >>> 4) | (((high >>> (2 * k)) & 3) << 4);
  }

  /** Q6_K: signed 8-bit scale {@code index} (0..15). */
  static int q6kScale(MemorySegment data, long block, int index) {
    return data.get(BYTE, block + Q6_K_SCALES + index);
  }

  /** {@link VectorKernels#dotQ6_K}. */
  public static float dotQ6_K(MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    long block = offset;
    float sum = 0f;
    for (int b = 0; b < blocks; b++, block += Q6_KTensor.BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(HALF, block + Q6_K_D));
      for (int half = 0; half < 2; half++) {
        for (int k = 0; k < 4; k++) {
          for (int sixteen = 0; sixteen < 2; sixteen++) {
            int xg = xStart + b * Q6_KTensor.BLOCK + half * 128 + k * 32 + sixteen * 16;
            float groupDot = 0f;
            for (int l = sixteen * 16; l < sixteen * 16 + 16; l++) {
              groupDot += (q6k(data, block, half, k, l) - 32) * x[xg + l - sixteen * 16];
            }
            sum += d * q6kScale(data, block, half * 8 + sixteen + 2 * k) * groupDot;
          }
        }
      }
    }
    return sum;
  }

  /** {@link VectorKernels#readQ6_K}. */
  public static void readQ6_K(
      MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    long block = offset;
    for (int b = 0; b < blocks; b++, block += Q6_KTensor.BLOCK_BYTES) {
      float d = Float.float16ToFloat(data.get(HALF, block + Q6_K_D));
      for (int half = 0; half < 2; half++) {
        for (int k = 0; k < 4; k++) {
          for (int l = 0; l < 32; l++) {
            float scale = d * q6kScale(data, block, half * 8 + l / 16 + 2 * k);
            out[outStart + b * Q6_KTensor.BLOCK + half * 128 + k * 32 + l] =
                scale * (q6k(data, block, half, k, l) - 32);
          }
        }
      }
    }
  }

  /** {@link VectorKernels#expShift}. */
  static float expShift(float[] a, int start, int count, float shift) {
    float sum = 0f;
    for (int i = 0; i < count; i++) {
      float e = (float) Math.exp(a[start + i] - shift);
      a[start + i] = e;
      sum += e;
    }
    return sum;
  }

  /** {@link VectorKernels#addWeightedRows}. */
  static void addWeightedRows(
      float[] weights,
      int count,
      float[] rows,
      int rowsStart,
      int rowStride,
      float[] out,
      int outStart,
      int n) {
    for (int j = 0; j < count; j++) {
      float w = weights[j];
      int row = rowsStart + j * rowStride;
      for (int d = 0; d < n; d++) {
        out[outStart + d] += w * rows[row + d];
      }
    }
  }

  /** {@link VectorKernels#rmsNorm}. */
  static void rmsNorm(
      float[] in,
      int inStart,
      MemorySegment gain,
      float[] out,
      int outStart,
      int n,
      double eps,
      float gainOffset) {
    float sumSquares = 0f;
    for (int i = 0; i < n; i++) {
      sumSquares += in[inStart + i] * in[inStart + i];
    }
    float scale = (float) (1.0 / Math.sqrt(sumSquares / n + eps));
    for (int i = 0; i < n; i++) {
      out[outStart + i] =
          in[inStart + i] * scale * (gainOffset + gain.get(FLOAT, (long) i * Float.BYTES));
    }
  }
}
