package dev.kiln.kernel;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.weights.Dtype;
import dev.kiln.weights.WeightTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The integer dot products of Q8_0 and Q4_0 rows with 8-bit inputs ({@link QuantizedRows}): the
 * vector kernels at 128, 256 and 512 bits and the dispatching method against the scalar twin, and
 * all of them against the exact sum in double, for rows of 1 to 25 blocks in unaligned native
 * memory ending where the row ends, with blocks of extreme quants (Q8_0 -128 and 127, Q4_0 0 and
 * 15), zero inputs, single outliers and tiny and large scales.
 *
 * <p>Bounds. The block sums are exact integers on every path (|w q| <= 128 * 127 and 32 of them fit
 * an int; two products fit a short), so the paths differ only in the float sum of the terms {@code
 * t_b = isum_b * (d_w,b * d_x,b)}: within gamma_(blocks + 16) T of the exact sum, T = sum |t_b|
 * (the extra 16 for a vector's lanes and the scale's own rounding); 2 (blocks + 16) u T bounds the
 * distance between two paths and to the double reference of the same terms. Against the float
 * inputs: each input is off by at most d_x/2 (its rounding to an integer step) plus float rounding
 * of x/d (d_x 2^-23 per element, ample), so the dot is off from sum w_i x_i by at most sum_b (d_x,b
 * (1/2 + 2^-20)) sum_(i in b) |w_i| on top of that.
 */
class Int8DotKernelsTest {
  private static final double U = Math.scalb(1.0, -24);
  private static final ValueLayout.OfShort HALF =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  interface IntDot {
    float dot(
        MemorySegment data, long offset, int blocks, QuantizedRows x, int row, int firstBlock);
  }

  record Path(String name, IntDot dot) {
    @Override
    public String toString() {
      return name;
    }
  }

  static List<Path> paths(Dtype type) {
    List<Path> paths = new ArrayList<>();
    boolean q8 = type == Dtype.Q8_0;
    paths.add(
        new Path(
            "scalar",
            (d, o, b, x, r, f) ->
                q8
                    ? ScalarKernels.dotQ8_0Int(
                        d,
                        o,
                        b,
                        x.quants(),
                        x.quantStart(r) + 32 * f,
                        x.scales(),
                        x.scaleStart(r) + f)
                    : ScalarKernels.dotQ4_0Int(
                        d,
                        o,
                        b,
                        x.quants(),
                        x.quantStart(r) + 32 * f,
                        x.scales(),
                        x.scaleStart(r) + f)));
    paths.add(
        new Path(
            "dispatch",
            (d, o, b, x, r, f) ->
                q8
                    ? VectorKernels.dotQ8_0Int(d, o, b, x, r, f)
                    : VectorKernels.dotQ4_0Int(d, o, b, x, r, f)));
    if (VectorKernels.VECTORIZED) {
      for (int bits : new int[] {128, 256, 512}) {
        VectorWidth width = VectorWidth.of(bits);
        paths.add(
            new Path(
                "vector" + bits,
                (d, o, b, x, r, f) ->
                    q8
                        ? VectorInt8.dotQ8_0(
                            width,
                            d,
                            o,
                            b,
                            x.quants(),
                            x.quantStart(r) + 32 * f,
                            x.scales(),
                            x.scaleStart(r) + f)
                        : VectorInt8.dotQ4_0(
                            width,
                            d,
                            o,
                            b,
                            x.quants(),
                            x.quantStart(r) + 32 * f,
                            x.scales(),
                            x.scaleStart(r) + f)));
      }
    }
    return paths;
  }

  static Stream<Arguments> cases() {
    List<Arguments> all = new ArrayList<>();
    for (Dtype type : List.of(Dtype.Q8_0, Dtype.Q4_0)) {
      for (Path path : paths(type)) {
        for (int blocks : new int[] {1, 2, 3, 7, 24, 25}) {
          all.add(Arguments.of(type, path, blocks));
        }
      }
    }
    return all.stream();
  }

  /**
   * A row of random blocks (every third block with extreme quants), at byte 1 of its own native
   * segment.
   */
  static MemorySegment row(Dtype type, int blocks, Random random) {
    int blockBytes = type == Dtype.Q8_0 ? 34 : 18;
    MemorySegment segment = Arena.ofAuto().allocate(1 + (long) blocks * blockBytes).asSlice(1);
    for (int b = 0; b < blocks; b++) {
      long block = (long) b * blockBytes;
      float scale = (float) Math.scalb(1.0 + random.nextDouble(), -random.nextInt(12));
      segment.set(HALF, block, Float.floatToFloat16(b % 5 == 4 ? -scale : scale));
      for (int j = 2; j < blockBytes; j++) {
        byte value = (byte) random.nextInt(256);
        if (b % 3 == 1) {
          value =
              type == Dtype.Q8_0
                  ? (j % 2 == 0 ? (byte) -128 : (byte) 127)
                  : (j % 2 == 0 ? 0 : (byte) 0xff);
        }
        segment.set(ValueLayout.JAVA_BYTE, block + j, value);
      }
    }
    return segment;
  }

  /**
   * Inputs: Gaussian blocks, a zero block, a block with one outlier, a tiny block and a large one.
   */
  static float[] inputs(int n, Random random) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      int block = i / 32;
      x[i] =
          switch (block % 5) {
            case 1 -> 0f;
            case 2 -> i % 32 == 7 ? 1000f : (float) random.nextGaussian() * 0.01f;
            case 3 -> (float) random.nextGaussian() * 1e-30f;
            default -> (float) (random.nextGaussian() * Math.scalb(1.0, block % 7 - 3));
          };
    }
    return x;
  }

  /** Weight element i of the row, from the scalar row reader. */
  static float[] dequantized(Dtype type, MemorySegment row, int blocks) {
    float[] w = new float[32 * blocks];
    if (type == Dtype.Q8_0) {
      ScalarKernels.readQ8_0(row, 0, blocks, w, 0);
    } else {
      ScalarKernels.readQ4_0(row, 0, blocks, w, 0);
    }
    return w;
  }

  @ParameterizedTest(name = "{0} {1} {2} blocks")
  @MethodSource("cases")
  void matchesTheScalarTwinAndTheExactSum(Dtype type, Path path, int blocks) {
    Random random = new Random(31L * blocks + type.ordinal());
    int n = 32 * blocks;
    MemorySegment row = row(type, blocks, random);
    float[] w = dequantized(type, row, blocks);
    // Two input rows, the second used, after a first row of other values: the row offset is
    // exercised.
    float[] x = new float[2 * n];
    System.arraycopy(inputs(n, random), 0, x, 0, n);
    System.arraycopy(inputs(n, random), 0, x, n, n);
    QuantizedRows xq = QuantizedRows.quantize(x, 0, n, 2, n);
    double exactTerms = 0;
    double magnitude = 0;
    double quantBound = 0;
    double exactFloat = 0;
    for (int b = 0; b < blocks; b++) {
      long isum = 0;
      double wAbs = 0;
      for (int j = 0; j < 32; j++) {
        int i = 32 * b + j;
        isum += Math.round(w[i] / weightScale(row, type, b)) * (long) xq.quant(1, i);
        wAbs += Math.abs(w[i]);
        exactFloat += (double) w[i] * x[n + i];
      }
      float scale = weightScale(row, type, b) * xq.scale(1, b);
      exactTerms += isum * (double) scale;
      magnitude += Math.abs(isum * (double) scale);
      quantBound += xq.scale(1, b) * (0.5 + Math.scalb(1.0, -20)) * wAbs;
    }
    double roundBound = 2 * (blocks + 16) * U * magnitude;
    float got = path.dot().dot(row, 0, blocks, xq, 1, 0);
    assertWithMessage("%s %s: against the exact sum of the integer terms", type, path)
        .that((double) got)
        .isWithin(roundBound)
        .of(exactTerms);
    assertWithMessage("%s %s: against the float inputs", type, path)
        .that((double) got)
        .isWithin(roundBound + quantBound)
        .of(exactFloat);
    float scalar = paths(type).getFirst().dot().dot(row, 0, blocks, xq, 1, 0);
    assertWithMessage("%s %s: against the scalar twin", type, path)
        .that((double) got)
        .isWithin(roundBound)
        .of(scalar);
    if (blocks > 2) {
      // A row that starts at a later block of the input (firstBlock) and a later weight block.
      int blockBytes = type == Dtype.Q8_0 ? 34 : 18;
      float tail = path.dot().dot(row, 2L * blockBytes, blocks - 2, xq, 1, 2);
      float tailScalar =
          paths(type).getFirst().dot().dot(row, 2L * blockBytes, blocks - 2, xq, 1, 2);
      assertWithMessage("%s %s: from block 2", type, path)
          .that((double) tail)
          .isWithin(roundBound)
          .of(tailScalar);
    }
  }

  /** d of block b (Q4_0's weights are d * (q - 8), so w / d is an integer as well). */
  private static float weightScale(MemorySegment row, Dtype type, int b) {
    return Float.float16ToFloat(row.get(HALF, (long) b * (type == Dtype.Q8_0 ? 34 : 18)));
  }

  @Test
  void quantizesEachBlockToItsLargestMagnitude() {
    Random random = new Random(3);
    float[] x = inputs(32 * 5, random);
    x[3] = -7.5f; // the largest of block 0, negative
    QuantizedRows xq = QuantizedRows.quantize(x, 0, 32 * 5, 1, 32 * 5);
    assertThat(xq.quant(0, 3)).isEqualTo(-127);
    assertThat(xq.scale(0, 0)).isEqualTo(7.5f / 127f);
    assertThat(xq.scale(0, 1)).isEqualTo(0f); // the zero block
    for (int i = 32; i < 64; i++) {
      assertThat(xq.quant(0, i)).isEqualTo(0);
    }
    assertThat(xq.quant(0, 64 + 7)).isEqualTo(127); // the outlier
    for (int i = 0; i < x.length; i++) {
      float d = xq.scale(0, i / 32);
      assertThat(Math.abs(xq.quant(0, i))).isAtMost(127);
      assertWithMessage("element %s", i)
          .that((double) Math.abs(xq.value(0, i) - x[i]))
          .isAtMost(d * (0.5 + Math.scalb(1.0, -20)));
    }
  }

  @Test
  void nonFiniteInputsGiveNonFiniteDots() {
    Random random = new Random(4);
    MemorySegment row = row(Dtype.Q8_0, 2, random);
    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
      float[] x = inputs(64, random);
      x[40] = bad;
      QuantizedRows xq = QuantizedRows.quantize(x, 0, 64, 1, 64);
      for (Path path : paths(Dtype.Q8_0)) {
        assertWithMessage("%s with %s", path, bad)
            .that(Float.isFinite(path.dot().dot(row, 0, 2, xq, 0, 0)))
            .isFalse();
      }
    }
  }

  @Test
  void rowsNotOfWholeBlocksAreRefused() {
    assertThrows(
        IllegalArgumentException.class, () -> QuantizedRows.quantize(new float[48], 0, 48, 1, 48));
  }

  @Test
  void tensorsTakeTheIntegerPathOnlyWhenGivenQuantizedInputs() {
    Random random = new Random(5);
    int rows = 9;
    int n = 96;
    float[] values = new float[rows * n];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    var f32 = dev.kiln.weights.FloatTensor.of("w", new long[] {rows, n}, values);
    for (Dtype type : List.of(Dtype.Q8_0, Dtype.Q4_0)) {
      WeightTensor w = dev.kiln.weights.Quantizer.quantize(f32, type);
      assertThat(w.takesInt8()).isTrue();
      float[] x = inputs(3 * n, random);
      QuantizedRows xq = QuantizedRows.quantize(x, 0, n, 3, n);
      float[] out = new float[rows + 2];
      w.dotRowRange(1, rows, x, n, xq, 1, out, 2);
      for (int r = 1; r < rows; r++) {
        assertThat(out[r + 1]).isEqualTo(w.dotInt8(r, xq, 1));
      }
      w.dotRowRange(1, rows, x, n, null, 1, out, 2);
      for (int r = 1; r < rows; r++) {
        assertThat(out[r + 1]).isEqualTo(w.dot(r, x, n));
      }
      float[] block = new float[4 * 3];
      w.dotRowBlock(4, 4, x, 0, n, 3, xq, block);
      for (int k = 0; k < 4; k++) {
        for (int r = 0; r < 3; r++) {
          assertThat(block[k * 3 + r]).isEqualTo(w.dotInt8(4 + k, xq, r));
        }
      }
      QuantizedRows wrong = QuantizedRows.quantize(x, 0, 64, 1, 64);
      assertThrows(IllegalArgumentException.class, () -> w.dotInt8(0, wrong, 0));
    }
    assertThat(f32.takesInt8()).isFalse();
    float[] x = inputs(n, random);
    float[] out = new float[rows];
    f32.dotRowRange(0, rows, x, 0, QuantizedRows.quantize(x, 0, n, 1, n), 0, out, 0);
    assertThat(out[2]).isEqualTo(f32.dot(2, x, 0)); // a float tensor ignores the quantized inputs
  }

  @Test
  void forWeightsFollowsTheMode() {
    var f32 = dev.kiln.weights.FloatTensor.of("w", new long[] {2, 32}, new float[64]);
    WeightTensor q8 = dev.kiln.weights.Quantizer.quantize(f32, Dtype.Q8_0);
    float[] x = new float[32];
    try {
      QuantizedRows.setMode(QuantizedRows.Mode.FLOAT);
      assertThat(QuantizedRows.forWeights(x, 0, 32, 1, q8)).isNull();
      QuantizedRows.setMode(QuantizedRows.Mode.INT8);
      assertThat(QuantizedRows.forWeights(x, 0, 32, 1, f32)).isNull();
      assertThat(QuantizedRows.forWeights(x, 0, 32, 1, f32, q8)).isNotNull();
    } finally {
      QuantizedRows.setMode(QuantizedRows.Mode.FLOAT);
    }
  }
}
