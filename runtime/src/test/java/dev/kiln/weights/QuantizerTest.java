package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Quantizer#quantize}: rounding of the plain types checked on hand-picked values, Q8_0 and
 * Q4_0 checked against error bounds derived from llama.cpp's reference quantizers and on
 * hand-worked blocks, and the bookkeeping (shape, size, row order, unsupported targets).
 *
 * <p>Notation: u = 2^-24 (float32 unit roundoff); D is a block's scale computed exactly (in double)
 * from its values as the format defines it; d16 is the F16 scale the quantizer stored.
 */
class QuantizerTest {
  private static final double U = Math.scalb(1.0, -24);

  private static WeightTensor f32(String name, long[] shape, float[] values) {
    return FloatTensor.of(name, shape, values);
  }

  /** An F32 tensor over exact bit patterns (NaN payloads included). */
  private static WeightTensor f32Bits(int... bits) {
    byte[] bytes = new byte[4 * bits.length];
    MemorySegment segment = MemorySegment.ofArray(bytes);
    for (int i = 0; i < bits.length; i++) {
      segment.set(
          ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
          4L * i,
          bits[i]);
    }
    return WeightTensor.of("bits", new long[] {bits.length}, Dtype.F32, segment);
  }

  private static byte[] stored(WeightTensor tensor) {
    return tensor.data().toArray(ValueLayout.JAVA_BYTE);
  }

  private static int[] halves(WeightTensor tensor) {
    byte[] bytes = stored(tensor);
    int[] out = new int[bytes.length / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = GgmlReference.u16(bytes, 2 * i);
    }
    return out;
  }

  private static float[] randomValues(Random random, int rows, int columns) {
    double[] rowScales = {1e-6, 3e-3, 1, 250};
    float[] values = new float[rows * columns];
    for (int i = 0; i < values.length; i++) {
      double value = random.nextGaussian() * rowScales[(i / columns) % rowScales.length];
      if (random.nextInt(50) == 0) {
        value *= 8; // an outlier now and then
      }
      values[i] = (float) value;
    }
    return values;
  }

  // ---- F16, BF16, F32 ----

  @Test
  void f16RoundsToNearestEven() {
    float[] values = {
      1f,
      1f + 0x1p-11f,
      1f + 3 * 0x1p-11f,
      1f + 0x1p-11f + 0x1p-20f,
      65504f,
      65519.99f,
      65520f,
      -1e9f,
      0x1p-24f,
      0x1p-25f,
      3 * 0x1p-25f,
      -0f,
      Float.POSITIVE_INFINITY,
      0x1p-14f,
      -2.5f
    };
    int[] expected = {
      0x3c00, 0x3c00, 0x3c02, 0x3c01, 0x7bff, 0x7bff, 0x7c00, 0xfc00, 0x0001, 0x0000, 0x0002,
      0x8000, 0x7c00, 0x0400, 0xc100
    };
    WeightTensor out = Quantizer.quantize(f32("h", new long[] {values.length}, values), Dtype.F16);
    assertThat(out.dtype()).isEqualTo(Dtype.F16);
    assertThat(halves(out)).isEqualTo(expected);

    int[] nan = halves(Quantizer.quantize(f32Bits(0x7fc00000, 0xff800001), Dtype.F16));
    for (int bits : nan) {
      assertWithMessage("0x%s", Integer.toHexString(bits)).that(bits & 0x7c00).isEqualTo(0x7c00);
      assertWithMessage("0x%s", Integer.toHexString(bits)).that(bits & 0x03ff).isNotEqualTo(0);
    }
  }

  @Test
  void bf16RoundsToNearestEvenAndKeepsNaN() {
    int[] source = {
      0x3f800000, // 1
      0x3f808000, // 1 + 2^-8: a tie, to the even 0x3f80
      0x3f818000, // 1 + 3 * 2^-8: a tie, to the even 0x3f82
      0x3f808001, // just above the tie: up
      0xbf808001, // negative: away from zero too
      0x3f807fff, // just below the tie: down
      0x7f7fffff, // largest float: beyond the largest bfloat16, to +Inf
      0xff7fffff, // to -Inf
      0x7f7f8000, // a tie whose even neighbour is +Inf
      0x7f7e8000, // a tie whose even neighbour is 0x7f7e
      0x00000001, // smallest subnormal: to +0
      0x00018000, // a subnormal tie: to the even 0x0002
      0x80000000, // -0
      0x7f800000, // +Inf
      0xff800000, // -Inf
    };
    int[] expected = {
      0x3f80, 0x3f80, 0x3f82, 0x3f81, 0xbf81, 0x3f80, 0x7f80, 0xff80, 0x7f80, 0x7f7e, 0x0000,
      0x0002, 0x8000, 0x7f80, 0xff80
    };
    assertThat(halves(Quantizer.quantize(f32Bits(source), Dtype.BF16))).isEqualTo(expected);

    // NaNs whose payload lies only in the low half would become Inf if truncated, and 0x7fffffff
    // would carry into the sign bit if rounded naively: they must all stay NaN, with their sign.
    int[] nans = {0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, 0x7fc00000, 0xffc00000};
    int[] out = halves(Quantizer.quantize(f32Bits(nans), Dtype.BF16));
    for (int i = 0; i < nans.length; i++) {
      assertWithMessage("0x%s -> 0x%s", Integer.toHexString(nans[i]), Integer.toHexString(out[i]))
          .that(Dtype.bf16ToFloat((short) out[i]))
          .isNaN();
      assertThat(out[i] >>> 15).isEqualTo(nans[i] >>> 31);
      assertThat(Dtype.bf16ToFloat(Quantizer.floatToBf16(Float.intBitsToFloat(nans[i])))).isNaN();
    }
  }

  @Test
  void plainTypesRoundTripWithinTheirPrecision() {
    Random random = new Random(3);
    float[] values = new float[4 * 96];
    for (int i = 0; i < values.length; i++) {
      // Magnitudes in [2^-10, 2^10): inside F16's normal range, where its relative rounding error
      // is at most 2^-11.
      values[i] =
          (float)
              ((random.nextBoolean() ? -1 : 1)
                  * (1 + random.nextDouble())
                  * Math.pow(2, random.nextInt(20) - 10));
    }
    WeightTensor source = f32("p", new long[] {4, 96}, values);

    float[] f32 = Quantizer.quantize(source, Dtype.F32).toArray();
    for (int i = 0; i < values.length; i++) {
      assertThat(Float.floatToIntBits(f32[i])).isEqualTo(Float.floatToIntBits(values[i]));
    }
    // Rounding to nearest with an 11-bit (F16) or 8-bit (BF16) significand: relative error at most
    // 2^-11 or 2^-8.
    float[] f16 = Quantizer.quantize(source, Dtype.F16).toArray();
    float[] bf16 = Quantizer.quantize(source, Dtype.BF16).toArray();
    for (int i = 0; i < values.length; i++) {
      assertWithMessage("F16 %s -> %s", values[i], f16[i])
          .that(Math.abs((double) f16[i] - values[i]))
          .isAtMost(0x1p-11 * Math.abs(values[i]));
      assertWithMessage("BF16 %s -> %s", values[i], bf16[i])
          .that(Math.abs((double) bf16[i] - values[i]))
          .isAtMost(0x1p-8 * Math.abs(values[i]));
    }
  }

  // ---- Q8_0 ----

  /**
   * Q8_0 bound. llama.cpp computes d = fl(amax / 127) = D (1 + e), id = fl(1 / d), and q =
   * round(fl(x * id)) where fl(x * id) = (x / D)(1 + e'), |e'| <= 3.01 u, so |x / D - q| <= 1/2 +
   * 127 * 3.01 u (|x / D| <= 127; rounding to ±127 never needs the clamp). The value read back is
   * fl(d16 * q) with |q| <= 127, so |x - x'| <= |x - D q| + |q| |D - d16| + u |d16 q| <= D (1/2 +
   * 383 u) + 127 |D - d16| + 127 u |d16|; the test allows D (1/2 + 400 u) and 128 u |d16|.
   * Separately, d16 must be D rounded to F16: |d16 - D| <= 2^-11 D (normal F16) + 2^-25 (half the
   * F16 subnormal spacing) + 2 u D (the float rounding of d), which keeps the 127 |D - d16| term
   * honest.
   */
  private static void assertQ8_0WithinBounds(float[] x, WeightTensor quantized) {
    assertThat(quantized.dtype()).isEqualTo(Dtype.Q8_0);
    byte[] bytes = stored(quantized);
    float[] back = quantized.toArray();
    assertThat(bytes).hasLength(x.length / 32 * 34);
    for (int b = 0; b < x.length / 32; b++) {
      double amax = 0;
      int argmax = 0;
      for (int j = 0; j < 32; j++) {
        if (Math.abs(x[32 * b + j]) > amax) {
          amax = Math.abs(x[32 * b + j]);
          argmax = j;
        }
      }
      double scale = amax / 127;
      double d16 = GgmlReference.half(GgmlReference.u16(bytes, 34 * b));
      double scaleError = Math.abs(d16 - scale);
      assertWithMessage("block %s: stored d %s for amax / 127 = %s", b, d16, scale)
          .that(scaleError)
          .isAtMost(0x1p-11 * scale + 0x1p-25 + 2 * U * scale);
      if (amax > 0) {
        assertWithMessage("block %s: the largest element's q", b)
            .that(Math.abs((int) bytes[34 * b + 2 + argmax]))
            .isEqualTo(127);
      }
      for (int j = 0; j < 32; j++) {
        int i = 32 * b + j;
        assertWithMessage("block %s q[%s]", b, j).that((int) bytes[34 * b + 2 + j]).isAtLeast(-127);
        assertWithMessage("block %s q[%s]", b, j).that((int) bytes[34 * b + 2 + j]).isAtMost(127);
        double tolerance = scale * (0.5 + 400 * U) + 127 * scaleError + 128 * U * Math.abs(d16);
        assertWithMessage("element %s: %s quantized to %s (d %s)", i, x[i], back[i], d16)
            .that(Math.abs((double) x[i] - back[i]))
            .isAtMost(tolerance);
      }
    }
  }

  @Test
  void q8_0StaysWithinHalfAStepOfEveryValue() {
    Random random = new Random(11);
    float[] values = randomValues(random, 8, 256);
    WeightTensor source = f32("blk.0.ffn_down.weight", new long[] {8, 256}, values);
    WeightTensor quantized = Quantizer.quantize(source, Dtype.Q8_0);
    assertThat(quantized.name()).isEqualTo("blk.0.ffn_down.weight");
    assertThat(quantized.shape()).isEqualTo(new long[] {8, 256});
    assertQ8_0WithinBounds(values, quantized);
  }

  @Test
  void q8_0RoundsHalfAwayFromZeroLikeRoundf() {
    float[] x = new float[32];
    float[] given = {
      127f, 2.5f, -2.5f, 0.5f, -0.5f, -126.5f, 1.4999999f, 0.49999997f, -0.49999997f, 64.49f
    };
    System.arraycopy(given, 0, x, 0, given.length);
    // amax = 127: d = 1 exactly (0x3c00) and x * (1 / d) = x, so q is roundf(x) itself.
    byte[] bytes = stored(Quantizer.quantize(f32("r", new long[] {32}, x), Dtype.Q8_0));
    assertThat(GgmlReference.u16(bytes, 0)).isEqualTo(0x3c00);
    byte[] q = Arrays.copyOfRange(bytes, 2, 2 + given.length);
    assertThat(q).isEqualTo(new byte[] {127, 3, -3, 1, -1, -127, 1, 0, 0, 64});
    for (int j = given.length; j < 32; j++) {
      assertThat(bytes[2 + j]).isEqualTo((byte) 0);
    }
  }

  @Test
  void q8_0OfAQ8_0TensorGivesItBackUnchanged() {
    // Blocks whose largest |q| is 127 and whose d is positive: amax / 127 is d exactly and
    // x / d is q to within 2u, so quantizing the values again finds the same d and q.
    Random random = new Random(12);
    byte[] bytes = TestBlocks.finite(Dtype.Q8_0, 3, 128, random);
    for (int b = 0; b < bytes.length / 34; b++) {
      TestBlocks.putHalf(bytes, 34 * b, TestBlocks.randomHalf(random, 1, 29) & 0x7fff);
      for (int j = 0; j < 32; j++) {
        if (bytes[34 * b + 2 + j] == -128) {
          bytes[34 * b + 2 + j] = -127;
        }
      }
      bytes[34 * b + 2 + random.nextInt(32)] = (byte) (random.nextBoolean() ? 127 : -127);
    }
    WeightTensor source = TestBlocks.tensor("q8", Dtype.Q8_0, 3, 128, bytes);
    assertThat(stored(Quantizer.quantize(source, Dtype.Q8_0))).isEqualTo(bytes);
  }

  // ---- Q4_0 ----

  /**
   * Q4_0 bound. llama.cpp takes {@code max}, the first element of largest magnitude with its sign,
   * d = max / -8 (exact in float: a division by a power of two), id = fl(1 / d) and q = min(15,
   * trunc(fl(fl(x * id) + 8.5))). As |x| <= |max|, x / d lies in [-8, 8]; the two roundings move
   * fl(x * id) + 8.5 from x / d + 8.5 by at most delta = 16.1 u + 16.5 u < 40 u. Below the clamp,
   * trunc(x / d + 8.5 ± delta) is within 1/2 + delta of x / d + 8, so |x - d (q - 8)| <= |d| (1/2 +
   * 40 u). Clamped elements (x / d >= 7.5, the sign opposite to {@code max}) read back as 7 d while
   * x / d <= 8: |x - 7 d| <= |d|. So the brief's |d| / 2 holds except for those, which get |d|.
   * Reading back fl(d16 (q - 8)) with |q - 8| <= 8 adds 8 |D - d16| + 8 u |d16|. As for Q8_0, d16
   * is separately checked to be D rounded to F16.
   */
  private static void assertQ4_0WithinBounds(float[] x, WeightTensor quantized) {
    assertThat(quantized.dtype()).isEqualTo(Dtype.Q4_0);
    byte[] bytes = stored(quantized);
    float[] back = quantized.toArray();
    assertThat(bytes).hasLength(x.length / 32 * 18);
    for (int b = 0; b < x.length / 32; b++) {
      double amax = 0;
      double max = 0;
      int argmax = -1;
      for (int j = 0; j < 32; j++) {
        double v = x[32 * b + j];
        if (Math.abs(v) > amax) {
          amax = Math.abs(v);
          max = v;
          argmax = j;
        }
      }
      double scale = max / -8;
      double d16 = GgmlReference.half(GgmlReference.u16(bytes, 18 * b));
      double scaleError = Math.abs(d16 - scale);
      assertWithMessage("block %s: stored d %s for max / -8 = %s", b, d16, scale)
          .that(scaleError)
          .isAtMost(0x1p-11 * Math.abs(scale) + 0x1p-25 + 2 * U * Math.abs(scale));
      for (int j = 0; j < 32; j++) {
        int i = 32 * b + j;
        int packed = bytes[18 * b + 2 + j % 16] & 0xff;
        int nibble = j < 16 ? packed & 0xf : packed >> 4;
        double ratio = scale == 0 ? 0 : x[i] / scale;
        if (j == argmax) {
          assertWithMessage("block %s: the largest element's q", b).that(nibble).isEqualTo(0);
        }
        if (ratio > 7.5 + 1e-3) {
          assertWithMessage("block %s element %s: x / d = %s is clamped", b, j, ratio)
              .that(nibble)
              .isEqualTo(15);
        }
        double step = ratio > 7.5 - 1e-3 ? Math.abs(scale) : Math.abs(scale) * (0.5 + 40 * U);
        double tolerance = step + 8 * scaleError + 8 * U * Math.abs(d16);
        assertWithMessage("element %s: %s quantized to %s (d %s)", i, x[i], back[i], d16)
            .that(Math.abs((double) x[i] - back[i]))
            .isAtMost(tolerance);
      }
    }
  }

  @Test
  void q4_0StaysWithinHalfAStepOfEveryValueButTheClamped() {
    Random random = new Random(13);
    float[] values = randomValues(random, 8, 256);
    WeightTensor quantized =
        Quantizer.quantize(f32("blk.2.attn_v.weight", new long[] {8, 256}, values), Dtype.Q4_0);
    assertThat(quantized.name()).isEqualTo("blk.2.attn_v.weight");
    assertQ4_0WithinBounds(values, quantized);
  }

  @Test
  void q4_0HandWorkedBlocks() {
    float[] x = new float[64];
    // Block 0: max = -8 comes first, so d = 1 and id = 1: q = min(15, trunc(x + 8.5)).
    float[] first = {-8f, 8f, 0.5f, -0.5f, 7.5f, 3.49f, -7.9f};
    System.arraycopy(first, 0, x, 0, first.length);
    x[16] = -3f; // high nibble of byte 0
    x[17] = 6.5f; // high nibble of byte 1
    // Block 1: max = 8 comes first, so d = -1 and id = -1: q = min(15, trunc(8.5 - x)).
    x[32] = 8f;
    x[33] = -8f;
    x[34] = 2f;
    byte[] bytes = stored(Quantizer.quantize(f32("h", new long[] {2, 32}, x), Dtype.Q4_0));
    assertThat(GgmlReference.u16(bytes, 0)).isEqualTo(0x3c00);
    // q: -8 -> 0; 8 -> 16 clamped to 15; 0.5 -> 9; -0.5 -> 8; 7.5 -> 15; 3.49 -> 11; -7.9 -> 0
    // (0.6); zeros -> 8.
    // High nibbles: -3 -> 5; 6.5 -> 15; zeros -> 8.
    assertThat(Arrays.copyOfRange(bytes, 2, 10))
        .isEqualTo(
            new byte[] {
              0x50,
              (byte) 0xff,
              (byte) 0x89,
              (byte) 0x88,
              (byte) 0x8f,
              (byte) 0x8b,
              (byte) 0x80,
              (byte) 0x88
            });
    assertThat(GgmlReference.u16(bytes, 18)).isEqualTo(0xbc00);
    // 8 -> 0; -8 -> 16.5 clamped to 15; 2 -> 6.5 -> 6; zeros -> 8.
    assertThat(Arrays.copyOfRange(bytes, 20, 24))
        .isEqualTo(new byte[] {(byte) 0x80, (byte) 0x8f, (byte) 0x86, (byte) 0x88});
    float[] back =
        WeightTensor.of("h", new long[] {2, 32}, Dtype.Q4_0, MemorySegment.ofArray(bytes))
            .toArray();
    assertThat(
            new float[] {back[0], back[1], back[2], back[3], back[4], back[32], back[33], back[34]})
        .usingExactEquality()
        .containsExactly(-8f, 7f, 1f, 0f, 7f, 8f, -7f, 2f)
        .inOrder();
  }

  @Test
  void q4_0OfAQ4_0TensorGivesItBackUnchanged() {
    // Blocks holding a q = 0 element (x = -8 d, the only magnitude 8 |d|): max / -8 is d exactly.
    Random random = new Random(14);
    byte[] bytes = TestBlocks.finite(Dtype.Q4_0, 3, 128, random);
    for (int b = 0; b < bytes.length / 18; b++) {
      TestBlocks.putHalf(bytes, 18 * b, TestBlocks.randomHalf(random, 1, 29));
      int at = 18 * b + 2 + random.nextInt(16);
      bytes[at] = (byte) (random.nextBoolean() ? bytes[at] & 0xf0 : bytes[at] & 0x0f);
    }
    WeightTensor source = TestBlocks.tensor("q4", Dtype.Q4_0, 3, 128, bytes);
    assertThat(stored(Quantizer.quantize(source, Dtype.Q4_0))).isEqualTo(bytes);
  }

  // ---- shared ----

  @ParameterizedTest
  @EnumSource(names = {"Q8_0", "Q4_0", "F16", "BF16", "F32"})
  void allZeroBlocksStayZero(Dtype target) {
    float[] x = new float[4 * 32];
    x[32] = -0f;
    for (int i = 64; i < 96; i++) {
      x[i] = i - 80; // one non-zero block among zero ones
    }
    float[] back = Quantizer.quantize(f32("z", new long[] {2, 64}, x), target).toArray();
    for (int i = 0; i < x.length; i++) {
      if (i < 64 || i >= 96) {
        assertWithMessage("%s element %s", target, i).that(back[i]).isZero(); // +0 or -0, not NaN
      }
    }
    assertThat(back[65]).isNotEqualTo(0f);
  }

  @Test
  void q8_0OfANaNBlockIsNaNAndLeavesOtherBlocksAlone() {
    float[] x = new float[64];
    Arrays.fill(x, 127f); // d = 1 exactly
    x[3] = Float.NaN;
    float[] back = Quantizer.quantize(f32("n", new long[] {64}, x), Dtype.Q8_0).toArray();
    for (int i = 0; i < 32; i++) {
      assertThat(back[i]).isNaN();
    }
    for (int i = 32; i < 64; i++) {
      assertThat(back[i]).isEqualTo(127f);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"Q8_0", "Q4_0", "F16", "BF16", "F32"})
  void rowOrderedViewsAreQuantizedInLogicalOrder(Dtype target) {
    Random random = new Random(15);
    int rows = 4;
    int columns = 64;
    float[] values = randomValues(random, rows, columns);
    FloatTensor base = FloatTensor.of("blk.0.attn_q.weight", new long[] {rows, columns}, values);
    int[] order = {2, 0, 3, 1};
    WeightTensor fromView = Quantizer.quantize(base.withRowOrder(order), target);
    byte[] fromBase = stored(Quantizer.quantize(base, target));
    byte[] viewBytes = stored(fromView);
    int rowBytes = Math.toIntExact(target.byteSize(columns));
    float[] logical = new float[rows * columns];
    for (int r = 0; r < rows; r++) {
      assertWithMessage("%s logical row %s", target, r)
          .that(Arrays.copyOfRange(viewBytes, r * rowBytes, (r + 1) * rowBytes))
          .isEqualTo(Arrays.copyOfRange(fromBase, order[r] * rowBytes, (order[r] + 1) * rowBytes));
      System.arraycopy(values, order[r] * columns, logical, r * columns, columns);
    }
    if (target == Dtype.Q8_0) {
      assertQ8_0WithinBounds(logical, fromView);
    } else if (target == Dtype.Q4_0) {
      assertQ4_0WithinBounds(logical, fromView);
    }
  }

  @Test
  void anySourceTypeIsReadThroughItsDequantizedRows() {
    Random random = new Random(16);
    for (Dtype type : Dtype.values()) {
      byte[] bytes = TestBlocks.finite(type, 2, 256, random);
      WeightTensor source = TestBlocks.tensor("s", type, 2, 256, bytes);
      float[] values = source.toArray();
      assertQ8_0WithinBounds(values, Quantizer.quantize(source, Dtype.Q8_0));
      assertQ4_0WithinBounds(values, Quantizer.quantize(source, Dtype.Q4_0));
      float[] same = Quantizer.quantize(source, Dtype.F32).toArray();
      for (int i = 0; i < values.length; i++) {
        assertThat(Float.floatToIntBits(same[i])).isEqualTo(Float.floatToIntBits(values[i]));
      }
    }
  }

  @Test
  void outputHasTheSourcesNameShapeAndTheTargetsSize() {
    float[] values = randomValues(new Random(17), 6, 64);
    WeightTensor source = f32("token_embd.weight", new long[] {2, 3, 64}, values);
    // 6 rows of 64: 384 elements, or 12 blocks of 32.
    Map<Dtype, Long> bytes =
        Map.of(
            Dtype.F32,
            384L * 4,
            Dtype.F16,
            384L * 2,
            Dtype.BF16,
            384L * 2,
            Dtype.Q8_0,
            12L * 34,
            Dtype.Q4_0,
            12L * 18);
    for (Map.Entry<Dtype, Long> entry : bytes.entrySet()) {
      Dtype target = entry.getKey();
      WeightTensor out = Quantizer.quantize(source, target);
      assertThat(out.name()).isEqualTo("token_embd.weight");
      assertThat(out.shape()).isEqualTo(new long[] {2, 3, 64});
      assertThat(out.dtype()).isEqualTo(target);
      assertWithMessage("%s bytes", target).that(out.data().byteSize()).isEqualTo(entry.getValue());
      assertThat(out.data()).isNotSameInstanceAs(source.data());
    }
  }

  @Test
  void kQuantTargetsAndPartialBlocksAreRejected() {
    WeightTensor source = f32("blk.5.ffn_gate.weight", new long[] {2, 256}, new float[512]);
    for (Dtype target : new Dtype[] {Dtype.Q4_K, Dtype.Q6_K}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Quantizer.quantize(source, target));
      assertThat(e).hasMessageThat().contains("blk.5.ffn_gate.weight");
      assertThat(e).hasMessageThat().contains(target.toString());
      assertThat(e).hasMessageThat().contains("llama.cpp");
    }
    WeightTensor ragged = f32("blk.5.ffn_norm.weight", new long[] {2, 48}, new float[96]);
    for (Dtype target : new Dtype[] {Dtype.Q8_0, Dtype.Q4_0}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Quantizer.quantize(ragged, target));
      assertThat(e).hasMessageThat().contains("blk.5.ffn_norm.weight");
    }
    // Plain targets have no blocks: 48 columns are fine.
    assertThat(Quantizer.quantize(ragged, Dtype.F16).elementCount()).isEqualTo(96L);
  }
}
