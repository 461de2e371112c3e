package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Exact conversion of F16 and BF16 to float32. */
class DtypeTest {

  private static int bits(float f) {
    return Float.floatToRawIntBits(f);
  }

  private static float f16(int bits) {
    return Dtype.f16ToFloat((short) bits);
  }

  private static float bf16(int bits) {
    return Dtype.bf16ToFloat((short) bits);
  }

  /** binary16 decoded from its fields: sign, 5-bit exponent (bias 15), 10-bit fraction. */
  private static float decodeHalf(int h) {
    int sign = (h >> 15) & 1;
    int exponent = (h >> 10) & 0x1f;
    int fraction = h & 0x3ff;
    double magnitude;
    if (exponent == 0) {
      magnitude = Math.scalb((double) fraction, -24); // subnormal: fraction x 2^-14 x 2^-10
    } else if (exponent == 31) {
      magnitude = fraction == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
    } else {
      magnitude = Math.scalb(1024.0 + fraction, exponent - 15 - 10);
    }
    return (float) (sign == 1 ? -magnitude : magnitude);
  }

  /** bfloat16 decoded from its fields: sign, 8-bit exponent (bias 127), 7-bit fraction. */
  private static float decodeBfloat(int b) {
    int sign = (b >> 15) & 1;
    int exponent = (b >> 7) & 0xff;
    int fraction = b & 0x7f;
    double magnitude;
    if (exponent == 0) {
      magnitude = Math.scalb((double) fraction, -126 - 7);
    } else if (exponent == 255) {
      magnitude = fraction == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
    } else {
      magnitude = Math.scalb(128.0 + fraction, exponent - 127 - 7);
    }
    return (float) (sign == 1 ? -magnitude : magnitude);
  }

  @Test
  void elementSizes() {
    assertThat(Dtype.F32.blockBytes()).isEqualTo(4);
    assertThat(Dtype.F16.blockBytes()).isEqualTo(2);
    assertThat(Dtype.BF16.blockBytes()).isEqualTo(2);
    assertThat(Dtype.F32.byteSize(3)).isEqualTo(12);
    assertThat(Dtype.Q8_0.byteSize(64)).isEqualTo(68);
    assertThat(Dtype.Q4_K.byteSize(256)).isEqualTo(144);
    assertThat(Dtype.Q4_0.byteSize(33)).isEqualTo(-1);
  }

  @Test
  void f16SpecialValues() {
    assertThat(bits(f16(0x0000))).isEqualTo(bits(0.0f));
    assertThat(bits(f16(0x8000))).isEqualTo(bits(-0.0f));
    assertThat(f16(0x0001)).isEqualTo(0x1p-24f); // smallest subnormal
    assertThat(f16(0x8001)).isEqualTo(-0x1p-24f);
    assertThat(f16(0x03ff)).isEqualTo(1023 * 0x1p-24f); // largest subnormal
    assertThat(f16(0x0400)).isEqualTo(0x1p-14f); // smallest normal
    assertThat(f16(0x3c00)).isEqualTo(1.0f);
    assertThat(f16(0x3c01)).isEqualTo(1.0f + 0x1p-10f);
    assertThat(f16(0xc000)).isEqualTo(-2.0f);
    assertThat(f16(0x3555)).isEqualTo(0x1.554p-2f); // the half closest to 1/3
    assertThat(f16(0x7bff)).isEqualTo(65504.0f); // largest normal
    assertThat(f16(0xfbff)).isEqualTo(-65504.0f);
    assertThat(f16(0x7c00)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(f16(0xfc00)).isEqualTo(Float.NEGATIVE_INFINITY);
    assertThat(f16(0x7e00)).isNaN();
    assertThat(f16(0x7c01)).isNaN(); // signalling-style payload stays NaN, not infinity
    assertThat(f16(0xfe00)).isNaN();
  }

  @Test
  void bf16SpecialValues() {
    assertThat(bits(bf16(0x0000))).isEqualTo(bits(0.0f));
    assertThat(bits(bf16(0x8000))).isEqualTo(bits(-0.0f));
    assertThat(bf16(0x0001)).isEqualTo(0x1p-133f); // smallest subnormal
    assertThat(bf16(0x007f)).isEqualTo(127 * 0x1p-133f); // largest subnormal
    assertThat(bf16(0x0080)).isEqualTo(0x1p-126f); // smallest normal = Float.MIN_NORMAL
    assertThat(bf16(0x3f80)).isEqualTo(1.0f);
    assertThat(bf16(0xc040)).isEqualTo(-3.0f);
    assertThat(bf16(0x7f7f)).isEqualTo(0x1.fep127f); // largest normal
    assertThat(bf16(0x7f80)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(bf16(0xff80)).isEqualTo(Float.NEGATIVE_INFINITY);
    assertThat(bf16(0x7fc0)).isNaN();
    assertThat(bf16(0x7f81)).isNaN();
    assertThat(bf16(0xffc0)).isNaN();
  }

  @Test
  void everyF16BitPattern() {
    for (int h = 0; h < 0x10000; h++) {
      float actual = f16(h);
      float platform = Float.float16ToFloat((short) h);
      float decoded = decodeHalf(h);
      if (Float.isNaN(decoded)) {
        assertWithMessage("0x%s", Integer.toHexString(h)).that(actual).isNaN();
        assertWithMessage("0x%s", Integer.toHexString(h)).that(platform).isNaN();
      } else {
        assertWithMessage("0x%s", Integer.toHexString(h))
            .that(bits(actual))
            .isEqualTo(bits(decoded));
        assertWithMessage("0x%s", Integer.toHexString(h))
            .that(bits(actual))
            .isEqualTo(bits(platform));
      }
    }
  }

  @Test
  void everyBf16BitPattern() {
    for (int b = 0; b < 0x10000; b++) {
      float actual = bf16(b);
      float upperHalf = Float.intBitsToFloat(b << 16);
      float decoded = decodeBfloat(b);
      if (Float.isNaN(decoded)) {
        assertWithMessage("0x%s", Integer.toHexString(b)).that(actual).isNaN();
        // bfloat16 is the upper half of a float32, NaN payload included.
        assertWithMessage("0x%s", Integer.toHexString(b)).that(bits(actual)).isEqualTo(b << 16);
      } else {
        assertWithMessage("0x%s", Integer.toHexString(b))
            .that(bits(actual))
            .isEqualTo(bits(decoded));
        assertWithMessage("0x%s", Integer.toHexString(b))
            .that(bits(actual))
            .isEqualTo(bits(upperHalf));
      }
    }
  }

  @Test
  void toFloatReadsLittleEndianHalvesAtAnyAlignment() {
    short[] halves = {0x3c00, (short) 0xc000, 0x0001, 0x7bff, (short) 0xfc00, 0x3555};
    try (Arena arena = Arena.ofConfined()) {
      // One byte in, so every element is misaligned.
      MemorySegment backing = arena.allocate(1 + 2L * halves.length);
      MemorySegment source = backing.asSlice(1);
      for (int i = 0; i < halves.length; i++) {
        source.set(ValueLayout.JAVA_BYTE, 2L * i, (byte) halves[i]); // low byte first
        source.set(ValueLayout.JAVA_BYTE, 2L * i + 1, (byte) (halves[i] >> 8));
      }
      FloatTensor f16 = WeightTensor.of("t", new long[] {2, 3}, Dtype.F16, source).toFloat();
      assertThat(f16.shape()).isEqualTo(new long[] {2, 3});
      assertThat(f16.toArray())
          .isEqualTo(new float[] {1f, -2f, 0x1p-24f, 65504f, Float.NEGATIVE_INFINITY, 0x1.554p-2f});

      FloatTensor bf16 = WeightTensor.of("t", new long[] {6}, Dtype.BF16, source).toFloat();
      for (int i = 0; i < halves.length; i++) {
        assertThat(bits(bf16.get(i))).isEqualTo((halves[i] & 0xffff) << 16);
      }
    }
  }

  @Test
  void f32IsAViewNotACopy() {
    MemorySegment source = MemorySegment.ofArray(new byte[8]);
    source.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, 1.5f);
    source.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4, -3.25f);
    FloatTensor tensor = WeightTensor.of("t", new long[] {2}, Dtype.F32, source).toFloat();
    assertThat(tensor.toArray()).isEqualTo(new float[] {1.5f, -3.25f});
    source.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, 7f);
    assertThat(tensor.get(0)).isEqualTo(7f);
  }
}
