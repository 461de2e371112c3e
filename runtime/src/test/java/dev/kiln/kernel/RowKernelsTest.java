package dev.kiln.kernel;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import dev.kiln.kernel.RowKernel.Format;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The dot products and row readers of every stored element type, on every path (scalar, the
 * dispatching {@link VectorKernels} method, and the vector kernels at 128, 256 and 512 bits called
 * directly), against the scalar row reader: row readers bit for bit, dot products within the
 * rounding error of float32 summation. Rows lie in memory that is not aligned (a slice at byte 1 of
 * native memory, at byte 3 of a heap array) and ends where the tensor ends, so a kernel reading
 * past its row's last block fails; {@code x} has NaN around the used range.
 *
 * <p>Dot tolerance, as in {@code DotAccuracyTest}: with u = 2^-24 and S = sum_i |x_i| mag_i (mag_i
 * = |value_i| for plain types and Q8_0/Q4_0/Q6_K, |(d*sc)*q_i| + |dmin*m| for Q4_K, whose scalar
 * kernel sums q*x and x separately and whose vector kernel rounds d*sc*q - dmin*m once), every
 * kernel's result is within gamma_(n+8) S of the exact sum of dequantized products, and the
 * reference (the scalar reader's floats summed in double) within about 2u S of it; 2 (n + 8) u S
 * bounds both.
 */
class RowKernelsTest {
  private static final double U = Math.scalb(1.0, -24);
  private static final int X_START = 5;
  private static final int OUT_START = 3;
  private static final float SENTINEL = -12345.5f;

  static Stream<Arguments> kernelsAndSizes() {
    List<Arguments> all = new ArrayList<>();
    for (Format format : Format.values()) {
      for (RowKernel kernel : RowKernel.all(format)) {
        for (int n : format.sizes()) {
          all.add(Arguments.of(kernel, n));
        }
      }
    }
    return all.stream();
  }

  static Stream<RowKernel> halfKernels() {
    return RowKernel.all(Format.F16).stream();
  }

  static Stream<RowKernel> bf16Kernels() {
    return RowKernel.all(Format.BF16).stream();
  }

  // --- data -------------------------------------------------------------------------------------

  /** A finite, normal F16 with random sign and biased exponent in [5, 20] (2^-10 .. 2^5). */
  private static int randomHalf(Random random) {
    return (random.nextBoolean() ? 0x8000 : 0)
        | (5 + random.nextInt(16)) << 10
        | random.nextInt(1024);
  }

  private static void putShort(byte[] bytes, int at, int bits) {
    bytes[at] = (byte) bits;
    bytes[at + 1] = (byte) (bits >> 8);
  }

  /**
   * {@code rows} rows of {@code n} elements: every byte random, F16 scales included (so some are
   * subnormal, infinite, NaN).
   */
  static byte[] raw(Format format, int rows, int n, Random random) {
    byte[] bytes = new byte[Math.toIntExact(format.bytes((long) rows * n))];
    random.nextBytes(bytes);
    return bytes;
  }

  /** Random rows whose elements (plain types) or scales (block types) are finite and moderate. */
  static byte[] finite(Format format, int rows, int n, Random random) {
    byte[] bytes = raw(format, rows, n, random);
    switch (format) {
      case F32 -> {
        for (int i = 0; i < bytes.length; i += 4) {
          int bits =
              Float.floatToIntBits(
                  (float) (random.nextGaussian() * Math.pow(2, random.nextInt(16) - 10)));
          putShort(bytes, i, bits);
          putShort(bytes, i + 2, bits >>> 16);
        }
      }
      case F16 -> {
        for (int i = 0; i < bytes.length; i += 2) {
          putShort(bytes, i, randomHalf(random));
        }
      }
      case BF16 -> {
        for (int i = 0; i < bytes.length; i += 2) {
          putShort(
              bytes,
              i,
              (random.nextBoolean() ? 0x8000 : 0)
                  | (117 + random.nextInt(16)) << 7
                  | random.nextInt(128));
        }
      }
      default -> {
        for (int block = 0; block < bytes.length; block += format.blockBytes) {
          for (int field : format.halfFields) {
            putShort(bytes, block + field, randomHalf(random));
          }
        }
      }
    }
    return bytes;
  }

  /**
   * {@code bytes} in memory that is not aligned and ends where they end: native at byte 1, or a
   * heap array at byte 3.
   */
  static MemorySegment place(Arena arena, byte[] bytes, boolean heap) {
    MemorySegment memory =
        heap
            ? MemorySegment.ofArray(new byte[bytes.length + 3]).asSlice(3)
            : arena.allocate(bytes.length + 1L, 16).asSlice(1);
    MemorySegment.copy(bytes, 0, memory, ValueLayout.JAVA_BYTE, 0, bytes.length);
    return memory;
  }

  /** A random vector for a row of {@code n}, at {@link #X_START}, with NaN around it. */
  private static float[] vector(int n, Random random) {
    float[] x = new float[X_START + n + 3];
    Arrays.fill(x, Float.NaN);
    for (int i = 0; i < n; i++) {
      x[X_START + i] = (float) random.nextGaussian();
    }
    return x;
  }

  /** Row {@code row} as the scalar reader dequantizes it. */
  private static float[] reference(Format format, MemorySegment data, int row, int n) {
    float[] out = new float[n];
    RowKernel.scalar(format).read().read(data, row * format.bytes(n), n, out, 0);
    return out;
  }

  /** Per element, the size of the terms a dot product adds up (see the class comment). */
  private static double[] magnitudes(
      Format format, MemorySegment data, int row, int n, float[] values) {
    double[] magnitude = new double[n];
    if (format != Format.Q4_K) {
      for (int i = 0; i < n; i++) {
        magnitude[i] = Math.abs((double) values[i]);
      }
      return magnitude;
    }
    for (int b = 0; b < n / 256; b++) {
      long block = row * format.bytes(n) + 144L * b;
      float d = Float.float16ToFloat(data.get(ScalarKernels.HALF, block));
      float dmin = Float.float16ToFloat(data.get(ScalarKernels.HALF, block + 2));
      for (int i = 0; i < 256; i++) {
        int group = i / 64;
        boolean highNibble = i % 64 >= 32;
        int packed = data.get(ValueLayout.JAVA_BYTE, block + 16 + 32 * group + i % 32) & 0xff;
        int q = highNibble ? packed >>> 4 : packed & 0x0f;
        int sub = 2 * group + (highNibble ? 1 : 0);
        float scale = d * ScalarKernels.q4kScale(data, block, sub);
        float min = dmin * ScalarKernels.q4kMin(data, block, sub);
        magnitude[256 * b + i] = Math.abs((double) scale * q) + Math.abs((double) min);
      }
    }
    return magnitude;
  }

  /** Equal bits; two NaNs may differ in the quiet bit only. */
  private static boolean sameBits(float a, float b) {
    int x = Float.floatToRawIntBits(a);
    int y = Float.floatToRawIntBits(b);
    return x == y || (Float.isNaN(a) && Float.isNaN(b) && (x | 0x0040_0000) == (y | 0x0040_0000));
  }

  private static void assertSameRow(
      String what, float[] expected, int expectedStart, float[] got, int gotStart, int n) {
    for (int i = 0; i < n; i++) {
      float e = expected[expectedStart + i];
      float g = got[gotStart + i];
      if (!sameBits(e, g)) {
        assertWithMessage(
                "%s element %s: scalar %s (0x%s), got %s (0x%s)",
                what,
                i,
                e,
                Integer.toHexString(Float.floatToRawIntBits(e)),
                g,
                Integer.toHexString(Float.floatToRawIntBits(g)))
            .fail();
      }
    }
  }

  // --- row readers ------------------------------------------------------------------------------

  @ParameterizedTest(name = "{0} n={1}")
  @MethodSource("kernelsAndSizes")
  void readRowMatchesScalarBitForBit(RowKernel kernel, int n) {
    Format format = kernel.format();
    Random random = new Random(31L * format.ordinal() + n);
    int rows = 2;
    byte[] bytes = raw(format, rows, n, random);
    try (Arena arena = Arena.ofConfined()) {
      for (boolean heap : new boolean[] {false, true}) {
        MemorySegment data = place(arena, bytes, heap);
        for (int r = 0; r < rows; r++) {
          float[] expected = reference(format, data, r, n);
          float[] out = new float[OUT_START + n + 5];
          Arrays.fill(out, SENTINEL);
          kernel.read().read(data, r * format.bytes(n), n, out, OUT_START);
          String what = kernel + " n=" + n + (heap ? " heap" : " native") + " row " + r;
          for (int i : new int[] {0, OUT_START - 1, OUT_START + n, out.length - 1}) {
            assertWithMessage("%s wrote outside its range at %s", what, i)
                .that(out[i])
                .isEqualTo(SENTINEL);
          }
          assertSameRow(what, expected, 0, out, OUT_START, n);
        }
      }
    }
  }

  // --- dot products -----------------------------------------------------------------------------

  @ParameterizedTest(name = "{0} n={1}")
  @MethodSource("kernelsAndSizes")
  void dotMatchesDequantizedSumWithinFloatRounding(RowKernel kernel, int n) {
    Format format = kernel.format();
    Random random = new Random(17L * format.ordinal() + n);
    int rows = 2;
    byte[] bytes = finite(format, rows, n, random);
    try (Arena arena = Arena.ofConfined()) {
      for (boolean heap : new boolean[] {false, true}) {
        MemorySegment data = place(arena, bytes, heap);
        for (int r = 0; r < rows; r++) {
          float[] x = vector(n, random);
          float[] values = reference(format, data, r, n);
          double[] magnitude = magnitudes(format, data, r, n, values);
          double reference = 0;
          double size = 0;
          for (int i = 0; i < n; i++) {
            reference += (double) values[i] * x[X_START + i];
            size += magnitude[i] * Math.abs(x[X_START + i]);
          }
          double tolerance = 2 * (n + 8) * U * size;
          float got = kernel.dot().dot(data, r * format.bytes(n), n, x, X_START);
          assertWithMessage(
                  "%s n=%s %s row %s: dot %s, dequantized sum %s, tolerance %s",
                  kernel, n, heap ? "heap" : "native", r, got, reference, tolerance)
              .that(Math.abs(got - reference))
              .isAtMost(tolerance);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0} n={1}")
  @MethodSource("kernelsAndSizes")
  void everyElementPairsWithItsOwnX(RowKernel kernel, int n) {
    // x one-hot at j: the dot product is exactly element j (one product, the rest zeros), for a
    // sample of positions in every block and vector lane.
    Format format = kernel.format();
    Random random = new Random(format.ordinal() * 7L + n);
    byte[] bytes = finite(format, 1, n, random);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment data = place(arena, bytes, false);
      float[] values = reference(format, data, 0, n);
      float[] x = new float[X_START + n];
      int step = Math.max(1, n / 300);
      for (int j = 0; j < n; j += (j < 64 ? 1 : step)) {
        x[X_START + j] = 1f;
        float got = kernel.dot().dot(data, 0, n, x, X_START);
        x[X_START + j] = 0f;
        // +0 and -0 may differ: a sum of zero products and a negative zero is +0.
        if (got != values[j]) {
          assertWithMessage("%s n=%s one-hot at %s", kernel, n, j).that(got).isEqualTo(values[j]);
        }
      }
    }
  }

  // --- F16 and BF16 special values --------------------------------------------------------------

  private static byte[] everyPattern() {
    byte[] bytes = new byte[2 * 65536];
    for (int bits = 0; bits < 65536; bits++) {
      putShort(bytes, 2 * bits, bits);
    }
    return bytes;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("halfKernels")
  void f16ReadsEveryBitPatternExactly(RowKernel kernel) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment data = place(arena, everyPattern(), false);
      float[] out = new float[65536 + 1];
      kernel.read().read(data, 0, 65536, out, 1);
      for (int bits = 0; bits < 65536; bits++) {
        float expected = Float.float16ToFloat((short) bits);
        if (!sameBits(expected, out[1 + bits])) {
          assertWithMessage(
                  "%s F16 0x%s: %s (0x%s), expected %s (0x%s)",
                  kernel,
                  Integer.toHexString(bits),
                  out[1 + bits],
                  Integer.toHexString(Float.floatToRawIntBits(out[1 + bits])),
                  expected,
                  Integer.toHexString(Float.floatToRawIntBits(expected)))
              .fail();
        }
        if (Float.isNaN(expected) && (Float.floatToRawIntBits(out[1 + bits]) & 0x0040_0000) == 0) {
          assertWithMessage("%s F16 0x%s: NaN not quiet", kernel, Integer.toHexString(bits)).fail();
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("halfKernels")
  void f16DotOfEveryFinitePattern(RowKernel kernel) {
    // The 63,488 finite patterns in one row, every subnormal and signed zero included.
    byte[] all = everyPattern();
    byte[] finite = new byte[all.length];
    int n = 0;
    for (int bits = 0; bits < 65536; bits++) {
      if ((bits & 0x7c00) != 0x7c00) {
        putShort(finite, 2 * n++, bits);
      }
    }
    assertThat(n).isEqualTo(63488);
    Random random = new Random(5);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment data = place(arena, Arrays.copyOf(finite, 2 * n), false);
      float[] x = vector(n, random);
      double reference = 0;
      double size = 0;
      for (int i = 0; i < n; i++) {
        float value = Float.float16ToFloat(data.get(ScalarKernels.HALF, 2L * i));
        reference += (double) value * x[X_START + i];
        size += Math.abs((double) value * x[X_START + i]);
      }
      float got = kernel.dot().dot(data, 0, n, x, X_START);
      assertThat(Math.abs(got - reference)).isAtMost(2 * (n + 8) * U * size);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("halfKernels")
  void f16SubnormalsAreNotFlushed(RowKernel kernel) {
    // The 1023 positive subnormals k * 2^-24 times ones: every partial sum is a multiple of 2^-24
    // below 2^-4, exact in float, so the sum is exactly 523776 * 2^-24 in any order. With x = 2^k
    // one-hot, each subnormal alone comes out exactly.
    for (int sign : new int[] {0, 0x8000}) {
      byte[] bytes = new byte[2 * 1023];
      for (int k = 1; k <= 1023; k++) {
        putShort(bytes, 2 * (k - 1), sign | k);
      }
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment data = place(arena, bytes, false);
        float[] ones = new float[X_START + 1023];
        Arrays.fill(ones, X_START, ones.length, 1f);
        float expected = (sign == 0 ? 1 : -1) * 523776 * 0x1p-24f;
        assertWithMessage("%s sum of subnormals, sign %s", kernel, sign)
            .that(kernel.dot().dot(data, 0, 1023, ones, X_START))
            .isEqualTo(expected);
        float[] oneHot = new float[X_START + 1023];
        for (int k = 1; k <= 1023; k++) {
          oneHot[X_START + k - 1] = 0x1p20f;
          float got = kernel.dot().dot(data, 0, 1023, oneHot, X_START);
          oneHot[X_START + k - 1] = 0f;
          float want = (sign == 0 ? 1 : -1) * k * 0x1p-4f;
          if (got != want) {
            assertWithMessage("%s subnormal %s", kernel, Integer.toHexString(sign | k))
                .that(got)
                .isEqualTo(want);
          }
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("halfKernels")
  void f16InfinitiesAndNansReachTheDotProduct(RowKernel kernel) {
    // Every pattern with exponent 31, at a position that moves through vector body and tail, in a
    // row of ones: +-infinity gives +-infinity, NaN gives NaN.
    int n = 37;
    float[] x = new float[n];
    Arrays.fill(x, 1f);
    try (Arena arena = Arena.ofConfined()) {
      byte[] bytes = new byte[2 * n];
      for (int bits = 0x7c00; bits < 0x10000; bits++) {
        if ((bits & 0x7c00) != 0x7c00) {
          continue;
        }
        for (int i = 0; i < n; i++) {
          putShort(bytes, 2 * i, 0x3c00); // 1.0
        }
        int at = bits % n;
        putShort(bytes, 2 * at, bits);
        float got = kernel.dot().dot(place(arena, bytes, false), 0, n, x, 0);
        float expected = Float.float16ToFloat((short) bits);
        if (!(Float.isNaN(expected) ? Float.isNaN(got) : got == expected)) {
          assertWithMessage("%s F16 0x%s at %s", kernel, Integer.toHexString(bits), at)
              .that(got)
              .isEqualTo(expected);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bf16Kernels")
  void bf16ReadsEveryBitPatternExactly(RowKernel kernel) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment data = place(arena, everyPattern(), true);
      float[] out = new float[65536 + 2];
      kernel.read().read(data, 0, 65536, out, 2);
      for (int bits = 0; bits < 65536; bits++) {
        int got = Float.floatToRawIntBits(out[2 + bits]);
        if (got != bits << 16) {
          assertWithMessage("%s BF16 0x%s", kernel, Integer.toHexString(bits))
              .that(Integer.toHexString(got))
              .isEqualTo(Integer.toHexString(bits << 16));
        }
      }
    }
  }

  // --- F32: the scalar head that aligns native rows ---------------------------------------------

  @Test
  void f32RowsAtEveryAlignmentOfNativeMemory() {
    // Native memory at float alignment takes the scalar head up to the first vector-aligned
    // address;
    // rows start at every float offset within 64 bytes.
    Random random = new Random(3);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment memory = arena.allocate(4L * (16 + 300), 64);
      for (long i = 0; i < memory.byteSize() / 4; i++) {
        memory.setAtIndex(ScalarKernels.FLOAT, i, random.nextInt(-8, 9));
      }
      float[] x = new float[300];
      for (int i = 0; i < x.length; i++) {
        x[i] = random.nextInt(-8, 9);
      }
      for (RowKernel kernel : RowKernel.all(Format.F32)) {
        for (int start = 0; start < 16; start++) {
          for (int n : new int[] {0, 1, 5, 15, 16, 17, 63, 64, 65, 299}) {
            // Small integers: every order of summation is exact.
            float expected = ScalarKernels.dotF32(memory, start, x, 1, Math.min(n, 299));
            assertWithMessage("%s start %s n %s", kernel, start, n)
                .that(kernel.dot().dot(memory, 4L * start, Math.min(n, 299), x, 1))
                .isEqualTo(expected);
          }
        }
      }
    }
  }
}
