package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The block-quantized types' {@link WeightTensor#readRow} (whichever kernel path it takes) and the
 * scalar kernels' row readers against {@link GgmlReference}, written from the GGML format
 * definitions: bit-for-bit on random blocks and on edge values (zero and maximal quants, subnormal,
 * maximal, negative, signed-zero, infinite and NaN F16 scales), plus values worked out by hand from
 * blocks packed the way llama.cpp's quantizers pack them.
 */
class BlockFormatsTest {
  private static final float SENTINEL = -12345.5f;

  /** F16 scales worth trying: ±0, smallest and largest subnormal, ±1, largest finite, ±Inf, NaN. */
  private static final int[] SPECIAL_HALVES = {
    0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x83ff, 0x0400, 0x3c00, 0xbc00, 0x7bff, 0xfbff, 0x7c00,
    0xfc00, 0x7e00, 0x7c01, 0xfe00
  };

  /**
   * Reads every row of a {@code rows x columns} tensor of {@code type} over {@code bytes} into the
   * middle of a sentinel-filled array and checks it against the reference bit for bit (NaNs compare
   * equal to each other, +0 and -0 do not).
   */
  static void assertRowsMatchReference(Dtype type, int rows, int columns, byte[] bytes) {
    WeightTensor tensor = TestBlocks.tensor("t", type, rows, columns, bytes);
    for (int r = 0; r < rows; r++) {
      float[] expected = GgmlReference.dequantize(type, TestBlocks.row(bytes, type, columns, r));
      assertThat(expected).hasLength(columns);
      float[] out = new float[columns + 7];
      Arrays.fill(out, SENTINEL);
      tensor.readRow(r, out, 3);
      for (int i : new int[] {0, 1, 2, columns + 3, columns + 4, columns + 5, columns + 6}) {
        assertWithMessage("%s row %s wrote outside its range at %s", type, r, i)
            .that(out[i])
            .isEqualTo(SENTINEL);
      }
      float[] scalar = new float[columns];
      TestBlocks.scalarRead(type, tensor.data(), columns, r, scalar, 0);
      for (int i = 0; i < columns; i++) {
        if (Float.floatToIntBits(scalar[i]) != Float.floatToIntBits(expected[i])) {
          assertWithMessage(
                  "%s row %s element %s: reference %s, scalar kernel %s",
                  type, r, i, expected[i], scalar[i])
              .fail();
        }
        if (Float.floatToIntBits(out[3 + i]) != Float.floatToIntBits(expected[i])) {
          assertWithMessage(
                  "%s row %s element %s (block %s, offset %s): reference %s (0x%s), readRow %s (0x%s)",
                  type,
                  r,
                  i,
                  i / type.blockSize(),
                  i % type.blockSize(),
                  expected[i],
                  Integer.toHexString(Float.floatToRawIntBits(expected[i])),
                  out[3 + i],
                  Integer.toHexString(Float.floatToRawIntBits(out[3 + i])))
              .fail();
        }
      }
    }
  }

  @Test
  void referenceHalfDecoderAgreesWithDtypeOnEveryBitPattern() {
    // Hand-checked values first, so the reference decoder is not only checked against the JDK.
    assertThat(GgmlReference.half(0x3c00)).isEqualTo(1f);
    assertThat(GgmlReference.half(0xc000)).isEqualTo(-2f);
    assertThat(GgmlReference.half(0x7bff)).isEqualTo(65504f);
    assertThat(GgmlReference.half(0x0001)).isEqualTo(0x1p-24f);
    assertThat(GgmlReference.half(0x03ff)).isEqualTo(1023 * 0x1p-24f);
    assertThat(GgmlReference.half(0x0400)).isEqualTo(0x1p-14f);
    assertThat(Float.floatToIntBits(GgmlReference.half(0x8000)))
        .isEqualTo(Float.floatToIntBits(-0f));
    assertThat(GgmlReference.half(0xfc00)).isEqualTo(Float.NEGATIVE_INFINITY);
    assertThat(GgmlReference.half(0x7c01)).isNaN();
    for (int bits = 0; bits < 0x10000; bits++) {
      float mine = GgmlReference.half(bits);
      float dtype = Dtype.f16ToFloat((short) bits);
      if (Float.floatToIntBits(mine) != Float.floatToIntBits(dtype)) {
        assertWithMessage(
                "F16 0x%s: reference %s, Dtype.f16ToFloat %s",
                Integer.toHexString(bits), mine, dtype)
            .fail();
      }
    }
  }

  @Test
  void bf16WidensToTheUpperHalfOfAFloat() {
    assertThat(Dtype.bf16ToFloat((short) 0x3f80)).isEqualTo(1f);
    assertThat(Dtype.bf16ToFloat((short) 0xc0a0)).isEqualTo(-5f);
    assertThat(Dtype.bf16ToFloat((short) 0xff80)).isEqualTo(Float.NEGATIVE_INFINITY);
    assertThat(Dtype.bf16ToFloat((short) 0x7fc1)).isNaN();
    assertThat(Dtype.bf16ToFloat((short) 0x0001)).isEqualTo(Float.intBitsToFloat(0x10000));
  }

  /**
   * Sizes from the GGML structs: block_q8_0 2 + 32, block_q4_0 2 + 16, block_q4_K 2 + 2 + 12 + 128,
   * block_q6_K 128 + 64 + 16 + 2.
   */
  @Test
  void blockGeometryMatchesTheGgmlStructs() {
    assertThat(List.of(Dtype.Q8_0.blockSize(), Dtype.Q8_0.blockBytes()))
        .containsExactly(32, 34)
        .inOrder();
    assertThat(List.of(Dtype.Q4_0.blockSize(), Dtype.Q4_0.blockBytes()))
        .containsExactly(32, 18)
        .inOrder();
    assertThat(List.of(Dtype.Q4_K.blockSize(), Dtype.Q4_K.blockBytes()))
        .containsExactly(256, 144)
        .inOrder();
    assertThat(List.of(Dtype.Q6_K.blockSize(), Dtype.Q6_K.blockBytes()))
        .containsExactly(256, 210)
        .inOrder();
    // ggml_type ids as GGUF stores them.
    assertThat(
            List.of(
                Dtype.F32.ggmlType(),
                Dtype.F16.ggmlType(),
                Dtype.Q4_0.ggmlType(),
                Dtype.Q8_0.ggmlType(),
                Dtype.Q4_K.ggmlType(),
                Dtype.Q6_K.ggmlType(),
                Dtype.BF16.ggmlType()))
        .containsExactly(0, 1, 2, 8, 12, 14, 30)
        .inOrder();
  }

  static Stream<Arguments> quantizedTypesAndSeeds() {
    List<Arguments> cases = new ArrayList<>();
    for (Dtype type : List.of(Dtype.Q8_0, Dtype.Q4_0, Dtype.Q4_K, Dtype.Q6_K)) {
      for (long seed : new long[] {1, 2, 3}) {
        cases.add(Arguments.of(type, seed));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} seed {1}")
  @MethodSource("quantizedTypesAndSeeds")
  void randomBlocksWithFiniteScalesMatchTheReference(Dtype type, long seed) {
    Random random = new Random(seed);
    int columns = 4 * type.blockSize();
    assertRowsMatchReference(type, 3, columns, TestBlocks.finite(type, 3, columns, random));
  }

  @ParameterizedTest(name = "{0} seed {1}")
  @MethodSource("quantizedTypesAndSeeds")
  void randomBlocksWithRandomBitsEverywhereMatchTheReference(Dtype type, long seed) {
    // Random F16 scale bits: some are subnormal, negative, infinite or NaN.
    Random random = new Random(100 + seed);
    int columns = 5 * type.blockSize();
    assertRowsMatchReference(type, 4, columns, TestBlocks.raw(type, 4, columns, random));
  }

  /**
   * Every combination of a special F16 scale (in every F16 field, and in one field with a random
   * finite value in the others), a quant fill (all 0, all 0xFF, 0x88, random) and, for the K types,
   * a scale-byte fill (0, 0xFF, 0x7F, 0x80, 0x3F, 0xC0, random).
   */
  @ParameterizedTest
  @EnumSource(names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
  void edgeValuesMatchTheReference(Dtype type) {
    Random random = new Random(7);
    int blockBytes = type.blockBytes();
    int[] halves = TestBlocks.halfFields(type);
    // Bytes of the per-sub-block scales of the K types (Q4_K: 4..15; Q6_K: 192..207).
    int scalesFrom = type == Dtype.Q4_K ? 4 : type == Dtype.Q6_K ? 192 : -1;
    int scalesTo = type == Dtype.Q4_K ? 16 : type == Dtype.Q6_K ? 208 : -1;
    int[] quantFills = {0x00, 0xff, 0x88, -1};
    int[] scaleFills =
        scalesFrom < 0 ? new int[] {0} : new int[] {0x00, 0xff, 0x7f, 0x80, 0x3f, 0xc0, -1};
    List<byte[]> blocks = new ArrayList<>();
    for (int special : SPECIAL_HALVES) {
      for (int target = -1; target < halves.length; target++) {
        for (int quantFill : quantFills) {
          for (int scaleFill : scaleFills) {
            byte[] block = new byte[blockBytes];
            for (int i = 0; i < blockBytes; i++) {
              boolean scaleByte = i >= scalesFrom && i < scalesTo;
              int fill = scaleByte ? scaleFill : quantFill;
              block[i] = (byte) (fill < 0 ? random.nextInt(256) : fill);
            }
            for (int h = 0; h < halves.length; h++) {
              // target -1: the special value in every F16 field; else only in field `target`.
              int bits =
                  target < 0 || target == h ? special : TestBlocks.randomHalf(random, 10, 20);
              TestBlocks.putHalf(block, halves[h], bits);
            }
            blocks.add(block);
          }
        }
      }
    }
    // Two blocks a row, so a row's second block is read from its own offset.
    if (blocks.size() % 2 == 1) {
      blocks.add(blocks.getFirst().clone());
    }
    byte[] bytes = new byte[blocks.size() * blockBytes];
    for (int b = 0; b < blocks.size(); b++) {
      System.arraycopy(blocks.get(b), 0, bytes, b * blockBytes, blockBytes);
    }
    assertRowsMatchReference(type, blocks.size() / 2, 2 * type.blockSize(), bytes);
  }

  // ---- Hand-worked values, independent of GgmlReference ----

  private static float[] read(Dtype type, byte[] bytes) {
    int columns = bytes.length / type.blockBytes() * type.blockSize();
    float[] out = new float[columns];
    TestBlocks.tensor("hand", type, 1, columns, bytes).readRow(0, out, 0);
    return out;
  }

  private static int bits(float value) {
    return Float.floatToIntBits(value);
  }

  @Test
  void q8_0HandValues() {
    byte[] block = new byte[34];
    TestBlocks.putHalf(block, 0, 0x7bff); // d = 65504, the largest F16
    block[2] = 127;
    block[3] = -128;
    block[4] = 0;
    block[5] = -1;
    float[] y = read(Dtype.Q8_0, block);
    assertThat(y[0]).isEqualTo(65504f * 127);
    assertThat(y[1]).isEqualTo(-65504f * 128);
    assertThat(y[2]).isEqualTo(0f);
    assertThat(y[3]).isEqualTo(-65504f);

    TestBlocks.putHalf(block, 0, 0x0001); // d = 2^-24, the smallest subnormal
    y = read(Dtype.Q8_0, block);
    assertThat(y[0]).isEqualTo(127 * 0x1p-24f);
    assertThat(y[1]).isEqualTo(-0x1p-17f);

    TestBlocks.putHalf(block, 0, 0x8000); // d = -0
    y = read(Dtype.Q8_0, block);
    assertThat(bits(y[0])).isEqualTo(bits(-0f));
    assertThat(bits(y[1])).isEqualTo(bits(0f));
    assertThat(bits(y[2])).isEqualTo(bits(-0f)); // -0 * 0

    TestBlocks.putHalf(block, 0, 0x7c00); // d = +Inf
    y = read(Dtype.Q8_0, block);
    assertThat(y[0]).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(y[1]).isEqualTo(Float.NEGATIVE_INFINITY);
    assertThat(y[2]).isNaN(); // Inf * 0

    TestBlocks.putHalf(block, 0, 0x7e00); // d = NaN
    for (float value : read(Dtype.Q8_0, block)) {
      assertThat(value).isNaN();
    }
    float[] ones = new float[32];
    Arrays.fill(ones, 1f);
    assertThat(TestBlocks.tensor("nan", Dtype.Q8_0, 1, 32, block).dot(0, ones, 0)).isNaN();
  }

  @Test
  void q4_0HandValues() {
    byte[] block = new byte[18];
    TestBlocks.putHalf(block, 0, 0x4000); // d = 2
    block[2] = 0x00; // elements 0 and 16: q = 0 -> -8
    block[3] = (byte) 0xff; // elements 1 and 17: q = 15 -> 7
    block[4] = (byte) 0x8f; // element 2: 15 -> 7; element 18: 8 -> 0
    block[5] = 0x39; // element 3: 9 -> 1; element 19: 3 -> -5
    float[] y = read(Dtype.Q4_0, block);
    assertThat(new float[] {y[0], y[1], y[2], y[3]})
        .usingExactEquality()
        .containsExactly(-16f, 14f, 14f, 2f)
        .inOrder();
    assertThat(new float[] {y[16], y[17], y[18], y[19]})
        .usingExactEquality()
        .containsExactly(-16f, 14f, 0f, -10f)
        .inOrder();
    assertThat(y[31]).isEqualTo(-16f); // byte 17 is 0

    TestBlocks.putHalf(block, 0, 0x03ff); // d = 1023 * 2^-24, the largest subnormal
    y = read(Dtype.Q4_0, block);
    assertThat(y[1]).isEqualTo(7 * 1023 * 0x1p-24f);
    assertThat(y[0]).isEqualTo(-8 * 1023 * 0x1p-24f);

    TestBlocks.putHalf(block, 0, 0xfc00); // d = -Inf
    y = read(Dtype.Q4_0, block);
    assertThat(y[0]).isEqualTo(Float.POSITIVE_INFINITY); // -Inf * -8
    assertThat(y[1]).isEqualTo(Float.NEGATIVE_INFINITY); // -Inf * 7
    assertThat(y[18]).isNaN(); // -Inf * 0
  }

  /** Packs sub-block scales and mins the way llama.cpp's quantize_row_q4_K does. */
  private static byte[] packQ4KScales(int[] sc, int[] m) {
    byte[] s = new byte[12];
    for (int j = 0; j < 8; j++) {
      if (j < 4) {
        s[j] = (byte) sc[j];
        s[j + 4] = (byte) m[j];
      } else {
        s[j + 4] = (byte) ((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
        s[j - 4] |= (byte) ((sc[j] >> 4) << 6);
        s[j] |= (byte) ((m[j] >> 4) << 6);
      }
    }
    return s;
  }

  @Test
  void q4_KHandValues() {
    int[] sc = new int[8];
    int[] m = new int[8];
    for (int j = 0; j < 8; j++) {
      sc[j] = 10 + 7 * j; // 10 .. 59: the high two bits are used from j = 4 on
      m[j] = 63 - 5 * j;
    }
    byte[] block = new byte[144];
    TestBlocks.putHalf(block, 0, 0x3c00); // d = 1
    TestBlocks.putHalf(block, 2, 0x3800); // dmin = 0.5
    System.arraycopy(packQ4KScales(sc, m), 0, block, 4, 12);
    int[] level = new int[256]; // the 4-bit q of each element
    for (int e = 0; e < 256; e++) {
      level[e] = (e * 7 + e / 32) % 16;
    }
    for (int j = 0; j < 256; j += 64) { // quantize_row_q4_K's packing
      for (int l = 0; l < 32; l++) {
        block[16 + j / 2 + l] = (byte) (level[j + l] | (level[j + l + 32] << 4));
      }
    }
    float[] y = read(Dtype.Q4_K, block);
    for (int e = 0; e < 256; e++) {
      int sub = e / 32;
      double expected = sc[sub] * level[e] - 0.5 * m[sub]; // exact in float
      assertWithMessage("element %s", e).that((double) y[e]).isEqualTo(expected);
    }

    // All-0xFF scales are sc = m = 63 everywhere; all-0xFF quants are q = 15.
    Arrays.fill(block, 4, 144, (byte) 0xff);
    TestBlocks.putHalf(block, 2, 0xbc00); // dmin = -1
    y = read(Dtype.Q4_K, block);
    for (float value : y) {
      assertThat(value).isEqualTo(63f * 15 + 63);
    }

    // dmin = +Inf: a zero min gives Inf * 0 = NaN; a non-zero one -Inf.
    sc = new int[] {1, 1, 1, 1, 1, 1, 1, 1};
    m = new int[] {0, 5, 0, 5, 0, 5, 0, 5};
    System.arraycopy(packQ4KScales(sc, m), 0, block, 4, 12);
    TestBlocks.putHalf(block, 2, 0x7c00);
    y = read(Dtype.Q4_K, block);
    assertThat(y[0]).isNaN();
    assertThat(y[32]).isEqualTo(Float.NEGATIVE_INFINITY);

    // d = NaN: every element NaN, and the dot product too.
    TestBlocks.putHalf(block, 0, 0x7e00);
    TestBlocks.putHalf(block, 2, 0x3c00);
    for (float value : read(Dtype.Q4_K, block)) {
      assertThat(value).isNaN();
    }
    float[] ones = new float[256];
    Arrays.fill(ones, 1f);
    assertThat(TestBlocks.tensor("nan", Dtype.Q4_K, 1, 256, block).dot(0, ones, 0)).isNaN();
  }

  /** Packs 6-bit levels (0..63) the way llama.cpp's quantize_row_q6_K does. */
  private static void packQ6K(int[] levels, byte[] block) {
    for (int j = 0; j < 256; j += 128) {
      int ql = j / 2;
      int qh = 128 + j / 4;
      for (int l = 0; l < 32; l++) {
        int q1 = levels[j + l] & 0xF;
        int q2 = levels[j + l + 32] & 0xF;
        int q3 = levels[j + l + 64] & 0xF;
        int q4 = levels[j + l + 96] & 0xF;
        block[ql + l] = (byte) (q1 | (q3 << 4));
        block[ql + l + 32] = (byte) (q2 | (q4 << 4));
        block[qh + l] =
            (byte)
                ((levels[j + l] >> 4)
                    | ((levels[j + l + 32] >> 4) << 2)
                    | ((levels[j + l + 64] >> 4) << 4)
                    | ((levels[j + l + 96] >> 4) << 6));
      }
    }
  }

  @Test
  void q6_KHandValues() {
    int[] levels = new int[256];
    for (int e = 0; e < 256; e++) {
      levels[e] = (e * 11 + e / 64) % 64;
    }
    int[] scales = new int[16];
    for (int i = 0; i < 16; i++) {
      scales[i] = i % 2 == 0 ? -128 + 9 * i : 127 - 13 * i; // negative and positive, both extremes
    }
    byte[] block = new byte[210];
    packQ6K(levels, block);
    for (int i = 0; i < 16; i++) {
      block[192 + i] = (byte) scales[i];
    }
    TestBlocks.putHalf(block, 208, 0x3c00); // d = 1
    float[] y = read(Dtype.Q6_K, block);
    for (int e = 0; e < 256; e++) {
      // Sub-block of 16 elements e / 16 uses scale e / 16. In float, so a negative scale times q -
      // 32 = 0 is -0.
      float expected = (float) scales[e / 16] * (levels[e] - 32);
      assertWithMessage("element %s", e).that(bits(y[e])).isEqualTo(bits(expected));
    }

    TestBlocks.putHalf(block, 208, 0x8001); // d = -2^-24
    y = read(Dtype.Q6_K, block);
    for (int e = 0; e < 256; e++) {
      float expected = -0x1p-24f * scales[e / 16] * (levels[e] - 32);
      assertWithMessage("element %s", e).that(bits(y[e])).isEqualTo(bits(expected));
    }

    Arrays.fill(block, 0, 192, (byte) 0xff); // every level 63: q - 32 = 31
    TestBlocks.putHalf(block, 208, 0xfc00); // d = -Inf
    y = read(Dtype.Q6_K, block);
    for (int e = 0; e < 256; e++) {
      float expected = scales[e / 16] > 0 ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
      assertWithMessage("element %s", e).that(y[e]).isEqualTo(expected);
    }
    Arrays.fill(block, 192, 208, (byte) 0); // scale 0: -Inf * 0
    for (float value : read(Dtype.Q6_K, block)) {
      assertThat(value).isNaN();
    }
  }
}
