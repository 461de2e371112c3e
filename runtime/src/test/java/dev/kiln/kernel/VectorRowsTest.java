package dev.kiln.kernel;

import static com.google.common.truth.Truth.assertWithMessage;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The row-block dots, attention-tile, RMSNorm and scale kernels against plain loops over odd sizes
 * and offsets.
 */
class VectorRowsTest {
  private static final int[] SIZES = {1, 3, 7, 13, 31, 64, 100, 257, 1000, 4097};

  /**
   * Blocks of 1 to 4 weight rows (4 takes the 4 x 2 register-tiled kernel) times 1 to 9 input rows.
   */
  @Test
  void dotRowBlockMatchesADoubleLoop() {
    var random = new SplittableRandom(5);
    for (int n : SIZES) {
      for (int rows = 1; rows <= 4; rows++) {
        for (int count : new int[] {1, 2, 3, 4, 5, 9}) {
          float[] w = floats(random, rows * n);
          int stride = n + 5;
          float[] x = floats(random, 3 + count * stride);
          float[] out = new float[rows * count];
          VectorKernels.dotRowBlock(w, rows, n, x, 3, stride, count, out);
          for (int k = 0; k < rows; k++) {
            for (int r = 0; r < count; r++) {
              double expected = 0;
              double magnitude = 0;
              for (int i = 0; i < n; i++) {
                expected += (double) w[k * n + i] * x[3 + r * stride + i];
                magnitude += Math.abs((double) w[k * n + i] * x[3 + r * stride + i]);
              }
              assertWithMessage(
                      "n %s, weight rows %s, input rows %s, element (%s, %s)", n, rows, count, k, r)
                  .that((double) out[k * count + r])
                  .isWithin(1e-6 * Math.sqrt(n) * magnitude + 1e-30)
                  .of(expected);
            }
          }
        }
      }
    }
  }

  /**
   * The attention tile's exponentials and their sum, vector and scalar paths, against double loops.
   */
  @Test
  void expShiftMatchesMathExp() {
    var random = new SplittableRandom(7);
    for (int n : SIZES) {
      float[] scores = floats(random, n + 4);
      for (int i = 0; i < scores.length; i++) {
        scores[i] *= 20; // exponents from -40 to 0 after the shift below
      }
      float shift = 20f;
      for (String path : new String[] {"vector", "scalar"}) {
        float[] a = scores.clone();
        float sum =
            path.equals("vector")
                ? VectorRows.expShift(a, 2, n, shift)
                : ScalarKernels.expShift(a, 2, n, shift);
        double expectedSum = 0;
        for (int i = 0; i < a.length; i++) {
          if (i < 2 || i >= 2 + n) {
            assertWithMessage("%s n %s element %s outside the range", path, n, i)
                .that(a[i])
                .isEqualTo(scores[i]);
            continue;
          }
          double expected =
              Math.exp(scores[i] - shift); // of the float difference, as the kernels compute it
          expectedSum += expected;
          // The Vector API's EXP may differ from Math.exp in the last bits; 4 ulps of float.
          assertWithMessage("%s n %s element %s", path, n, i)
              .that((double) a[i])
              .isWithin(4 * Math.ulp((float) expected))
              .of(expected);
        }
        assertWithMessage("%s n %s sum", path, n)
            .that((double) sum)
            .isWithin(1e-6 * Math.sqrt(n) * expectedSum + 1e-30)
            .of(expectedSum);
      }
    }
  }

  /** A tile of weights times strided value rows, added to an output, vector and scalar paths. */
  @Test
  void addWeightedRowsMatchesADoubleLoop() {
    var random = new SplittableRandom(8);
    for (int n : SIZES) {
      for (int count : new int[] {1, 2, 5, 32}) {
        int stride = n + 3;
        float[] weights = floats(random, count);
        float[] rows = floats(random, 1 + count * stride);
        float[] start = floats(random, n + 6);
        for (String path : new String[] {"vector", "scalar"}) {
          float[] out = start.clone();
          if (path.equals("vector")) {
            VectorRows.addWeightedRows(weights, count, rows, 1, stride, out, 4, n);
          } else {
            ScalarKernels.addWeightedRows(weights, count, rows, 1, stride, out, 4, n);
          }
          for (int d = 0; d < out.length; d++) {
            if (d < 4 || d >= 4 + n) {
              assertWithMessage("%s n %s element %s outside the range", path, n, d)
                  .that(out[d])
                  .isEqualTo(start[d]);
              continue;
            }
            double expected = start[d];
            double magnitude = Math.abs(start[d]);
            for (int j = 0; j < count; j++) {
              double term = (double) weights[j] * rows[1 + j * stride + d - 4];
              expected += term;
              magnitude += Math.abs(term);
            }
            assertWithMessage("%s n %s count %s element %s", path, n, count, d)
                .that((double) out[d])
                .isWithin(1e-6 * Math.sqrt(count + 1) * magnitude + 1e-30)
                .of(expected);
          }
        }
      }
    }
  }

  /** One RMSNorm row, vector and scalar paths, heap and native gains, against a double loop. */
  @Test
  void rmsNormMatchesADoubleLoop() {
    for (float offset : new float[] {0f, 1f}) {
      rmsNormMatchesADoubleLoop(offset);
    }
  }

  /** With {@code gainOffset} 1 the gain is 1 + w (Gemma). */
  private static void rmsNormMatchesADoubleLoop(float offset) {
    var random = new SplittableRandom(9);
    try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
      for (int n : SIZES) {
        float[] in = floats(random, n + 3);
        float[] gainValues = floats(random, n);
        for (boolean nativeGain : new boolean[] {false, true}) {
          java.lang.foreign.MemorySegment gain =
              nativeGain
                  ? arena.allocate((long) n * Float.BYTES, 4)
                  : java.lang.foreign.MemorySegment.ofArray(new float[n]);
          java.lang.foreign.MemorySegment.copy(gainValues, 0, gain, ScalarKernels.FLOAT, 0, n);
          double sumSquares = 0;
          for (int i = 0; i < n; i++) {
            sumSquares += (double) in[3 + i] * in[3 + i];
          }
          double scale = 1 / Math.sqrt(sumSquares / n + 1e-5);
          for (String path : new String[] {"vector", "scalar"}) {
            float[] out = new float[n + 2];
            if (path.equals("vector")) {
              VectorRows.rmsNorm(in, 3, gain, out, 2, n, 1e-5, offset);
            } else {
              ScalarKernels.rmsNorm(in, 3, gain, out, 2, n, 1e-5, offset);
            }
            assertWithMessage("%s n %s before the row", path, n).that(out[1]).isEqualTo(0f);
            for (int i = 0; i < n; i++) {
              double expected = in[3 + i] * scale * (offset + gainValues[i]);
              // float sums of n squares (relative error ~ n ulps at worst), then two float products
              assertWithMessage(
                      "%s n %s native %s offset %s element %s", path, n, nativeGain, offset, i)
                  .that((double) out[2 + i])
                  .isWithin(Math.abs(expected) * (n + 4) * 6e-8 + 1e-30)
                  .of(expected);
            }
          }
        }
      }
    }
  }

  @Test
  void rmsNormInPlaceEqualsOutOfPlace() {
    var random = new SplittableRandom(12);
    for (int n : SIZES) {
      float[] in = floats(random, n);
      java.lang.foreign.MemorySegment gain =
          java.lang.foreign.MemorySegment.ofArray(floats(random, n));
      float[] out = new float[n];
      VectorKernels.rmsNorm(in, 0, gain, out, 0, n, 1e-6, 1f);
      VectorKernels.rmsNorm(in, 0, gain, in, 0, n, 1e-6, 1f);
      assertWithMessage("n %s", n).that(in).isEqualTo(out);
    }
  }

  @Test
  void scaleIsElementwiseExact() {
    var random = new SplittableRandom(4);
    for (int n : SIZES) {
      float[] y = floats(random, n + 7);
      float[] scaled = y.clone();
      VectorKernels.scale(0.375f, scaled, 5, n);
      for (int i = 0; i < y.length; i++) {
        float want = i >= 5 && i < 5 + n ? y[i] * 0.375f : y[i];
        assertWithMessage("scale n %s element %s", n, i).that(scaled[i]).isEqualTo(want);
      }
    }
  }

  private static float[] floats(SplittableRandom random, int n) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) random.nextDouble(-1, 1);
    }
    return values;
  }
}
