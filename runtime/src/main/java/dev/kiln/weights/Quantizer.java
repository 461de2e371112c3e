package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Converts a tensor to another element type: F32, F16 and BF16 (round to nearest, ties to even),
 * and GGML's Q8_0 and Q4_0 (as llama.cpp's {@code quantize_row_q8_0_ref} and {@code
 * quantize_row_q4_0_ref} do). The source is read in its logical row order, so a {@link
 * WeightTensor#withRowOrder row-ordered view} comes out stored in that order. K-quants (Q4_K, Q6_K)
 * are not produced: their scales are fitted by a search that llama.cpp's {@code llama-quantize}
 * does.
 */
public final class Quantizer {
  private static final ValueLayout.OfShort HALF = F16Tensor.HALF;

  private Quantizer() {}

  /**
   * {@code source} converted to {@code target}, with the same name and shape, in new memory ({@link
   * WeightTensor#allocateData}).
   *
   * @throws IllegalArgumentException naming the tensor when {@code target} is a K-quant, or when
   *     the source's rows do not fill whole blocks of {@code target}
   */
  public static WeightTensor quantize(WeightTensor source, Dtype target) {
    String name = source.name();
    if (target == Dtype.Q4_K || target == Dtype.Q6_K) {
      throw new IllegalArgumentException(
          name
              + ": quantizing to "
              + target
              + " is not supported; convert with llama.cpp (llama-quantize)");
    }
    long columns = source.columns();
    if (columns % target.blockSize() != 0) {
      throw new IllegalArgumentException(
          name
              + ": rows of "
              + columns
              + " elements do not fill whole "
              + target
              + " blocks of "
              + target.blockSize());
    }
    long bytes = target.byteSize(source.elementCount());
    if (bytes < 0) {
      throw new IllegalArgumentException(
          name + ": " + source.elementCount() + " elements are too many for " + target);
    }
    MemorySegment out = WeightTensor.allocateData(bytes);
    long rowBytes = target.byteSize(columns);
    float[] row = new float[Math.toIntExact(columns)];
    for (long r = 0; r < source.rows(); r++) {
      source.readRow(r, row, 0);
      long at = r * rowBytes;
      switch (target) {
        case F32 -> MemorySegment.copy(row, 0, out, FloatTensor.LAYOUT, at, row.length);
        case F16 -> {
          for (int i = 0; i < row.length; i++) {
            out.set(HALF, at + 2L * i, Float.floatToFloat16(row[i]));
          }
        }
        case BF16 -> {
          for (int i = 0; i < row.length; i++) {
            out.set(HALF, at + 2L * i, floatToBf16(row[i]));
          }
        }
        case Q8_0 -> {
          for (int b = 0; b < row.length; b += Q8_0Tensor.BLOCK) {
            q8_0Block(row, b, out, at + (long) b / Q8_0Tensor.BLOCK * Q8_0Tensor.BLOCK_BYTES);
          }
        }
        case Q4_0 -> {
          for (int b = 0; b < row.length; b += Q4_0Tensor.BLOCK) {
            q4_0Block(row, b, out, at + (long) b / Q4_0Tensor.BLOCK * Q4_0Tensor.BLOCK_BYTES);
          }
        }
        case Q4_K, Q6_K -> throw new AssertionError(target);
      }
    }
    return WeightTensor.of(name, source.shape(), target, out);
  }

  /**
   * float32 to bfloat16, rounding to nearest with ties to even; NaN stays NaN (quiet, sign kept),
   * and values beyond the largest bfloat16 round to infinity.
   */
  public static short floatToBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if (Float.isNaN(value)) {
      return (short)
          ((bits >>> 16)
              | 0x0040); // keep the sign and upper payload, force quiet so it cannot become Inf
    }
    int lsb = (bits >>> 16) & 1;
    return (short) ((bits + 0x7fff + lsb) >>> 16);
  }

  /**
   * llama.cpp's quantize_row_q8_0_ref on {@code x[from .. from+31]}: d = amax / 127 stored as F16,
   * q = round(x / d) (half away from zero, through the reciprocal of the unrounded d), 0 for an
   * all-zero block. A NaN or infinite element makes the whole block NaN when read back.
   */
  private static void q8_0Block(float[] x, int from, MemorySegment out, long at) {
    float amax = 0f;
    for (int j = 0; j < Q8_0Tensor.BLOCK; j++) {
      amax = Math.max(amax, Math.abs(x[from + j]));
    }
    float d = amax / 127;
    float id = d != 0 ? 1f / d : 0f;
    out.set(HALF, at, Float.floatToFloat16(d));
    for (int j = 0; j < Q8_0Tensor.BLOCK; j++) {
      int q = roundHalfAwayFromZero(x[from + j] * id);
      out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) Math.clamp(q, -127, 127));
    }
  }

  /**
   * C's roundf: to nearest, ties away from zero (in double, so 0.49999997f does not round up); NaN
   * gives 0.
   */
  private static int roundHalfAwayFromZero(float value) {
    double rounded = Math.floor(Math.abs((double) value) + 0.5);
    return (int) Math.copySign(rounded, value);
  }

  /**
   * llama.cpp's quantize_row_q4_0_ref on {@code x[from .. from+31]}: {@code max} is the first
   * element of largest magnitude (with its sign), d = max / -8 stored as F16, and q = min(15,
   * trunc(x / d + 8.5)) through the reciprocal of the unrounded d; element j goes to the low nibble
   * of byte j, element j + 16 to its high nibble. So {@code max} itself is q = 0 (x = -8 d) and
   * values of the other sign reach q = 15 (x = 7 d) at most.
   */
  private static void q4_0Block(float[] x, int from, MemorySegment out, long at) {
    float amax = 0f;
    float max = 0f;
    for (int j = 0; j < Q4_0Tensor.BLOCK; j++) {
      float v = x[from + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    float d = max / -8;
    float id = d != 0 ? 1f / d : 0f;
    out.set(HALF, at, Float.floatToFloat16(d));
    for (int j = 0; j < 16; j++) {
      int low = q4(x[from + j] * id);
      int high = q4(x[from + 16 + j] * id);
      out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (low | high << 4));
    }
  }

  private static int q4(float scaled) {
    return Math.clamp((int) (scaled + 8.5f), 0, 15); // (int) truncates toward zero like C's cast
  }
}
