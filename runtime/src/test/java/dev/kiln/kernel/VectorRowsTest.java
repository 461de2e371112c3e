package dev.kiln.kernel;

import static com.google.common.truth.Truth.assertWithMessage;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The row-block dots, axpy and scale kernels against plain loops over odd sizes and offsets. */
class VectorRowsTest {
  private static final int[] SIZES = {1, 3, 7, 13, 31, 64, 100, 257, 1000, 4097};

  /** Blocks of 1 to 4 weight rows (4 takes the 4 x 2 register-tiled kernel) times 1 to 9 input rows. */
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
              assertWithMessage("n %s, weight rows %s, input rows %s, element (%s, %s)", n, rows, count, k, r)
                  .that((double) out[k * count + r]).isWithin(1e-6 * Math.sqrt(n) * magnitude + 1e-30).of(expected);
            }
          }
        }
      }
    }
  }

  @Test
  void axpyAndScaleAreElementwiseExact() {
    var random = new SplittableRandom(4);
    for (int n : SIZES) {
      float[] x = floats(random, n + 2);
      float[] y = floats(random, n + 7);
      float[] expected = y.clone();
      float a = (float) random.nextDouble(-2, 2);
      for (int i = 0; i < n; i++) {
        expected[5 + i] = Math.fma(a, x[2 + i], expected[5 + i]);
      }
      VectorKernels.axpy(a, x, 2, y, 5, n);
      for (int i = 0; i < y.length; i++) {
        // A fused multiply-add on the vector path, a multiply then an add on the scalar tail: the tail may
        // round the product once more, by at most half an ulp of the product, plus the final rounding.
        float product = i >= 5 && i < 5 + n ? a * x[i - 3] : 0f;
        assertWithMessage("axpy n %s element %s", n, i).that(y[i])
            .isWithin(Math.ulp(product) + Math.ulp(expected[i])).of(expected[i]);
      }
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
