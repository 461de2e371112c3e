package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link WeightTensor#dot}, which dequantizes on the fly, against dequantizing the row first
 * ({@link WeightTensor#readRow}) and summing {@code dequant[i] * x[i]} in double; the scalar
 * kernels ({@code dev.kiln.kernel.ScalarKernels}) too, whichever path {@code dot} takes. The kernel
 * tests ({@code RowKernelsTest}) compare every path with the scalar one over more sizes.
 *
 * <p>Tolerance. Let u = 2^-24, the unit roundoff of float32, and S = sum_i |x_i| * mag_i, where
 * mag_i is the size of the terms the kernel adds up for element i: |value_i| for plain types,
 * |(d*sc)*q_i| for Q8_0/Q4_0/Q6_K, and |(d*sc)*q_i| + |dmin*m| for Q4_K, whose kernel sums q*x and
 * x separately and subtracts the two, so that their cancellation is not bounded by sum |dequant_i *
 * x_i|. Every kernel evaluates sum_i (d*sc*q_i - dmin*m) * x_i (d*sc and dmin*m being the same
 * floats readRow uses) as a tree of float products and additions in which each term goes through at
 * most k = n + 8 roundings (the product, at most n - 1 additions across block and row sums, at most
 * 3 scale multiplications and a subtraction), so by the standard bound for floating-point sums
 * (Higham, Accuracy and Stability of Numerical Algorithms, section 3.1) |dot - exact| <= gamma_k *
 * S with gamma_k = k*u / (1 - k*u). The reference differs from exact by the rounding of each
 * dequantized value (at most two roundings: |dequant_i - exact_i| <= 2.01 u mag_i) and by the
 * double sum (n * 2^-53 * S). With k*u <= 2312 * 2^-24 < 1.4e-4 all of this is at most (1.0002 (n +
 * 8) + 2.01 + 0.001) u S <= 2 (n + 8) u S, the tolerance used. It is at most 2.8e-4 * S, far below
 * what a wrong element, nibble or scale costs.
 */
class DotAccuracyTest {
  private static final double U = Math.scalb(1.0, -24);
  private static final int VECTOR_START = 5;

  static Stream<Arguments> typesAndLengths() {
    List<Arguments> cases = new ArrayList<>();
    for (Dtype type : Dtype.values()) {
      int[] lengths =
          switch (type.blockSize()) {
            case 1 -> new int[] {1, 7, 32, 33, 64, 96, 100, 256, 512, 1024, 2304};
            case 32 -> new int[] {32, 64, 96, 1024};
            case 256 -> new int[] {256, 512, 2304};
            default -> throw new AssertionError(type);
          };
      for (int n : lengths) {
        cases.add(Arguments.of(type, n));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} n={1}")
  @MethodSource("typesAndLengths")
  void dotMatchesDequantizeThenSum(Dtype type, int n) {
    Random random = new Random(31L * type.ordinal() + n);
    int rows = 3;
    byte[] bytes = TestBlocks.finite(type, rows, n, random);
    WeightTensor tensor = TestBlocks.tensor("w", type, rows, n, bytes);
    for (int trial = 0; trial < 2; trial++) {
      float[] vector = TestBlocks.randomVector(VECTOR_START + n + 3, random);
      for (int r = 0; r < rows; r++) {
        float[] dequant = new float[n];
        tensor.readRow(r, dequant, 0);
        double[] magnitude = GgmlReference.magnitudes(type, TestBlocks.row(bytes, type, n, r));
        double reference = 0;
        double size = 0;
        for (int i = 0; i < n; i++) {
          float x = vector[VECTOR_START + i];
          reference += (double) dequant[i] * x; // the product of two floats is exact in double
          size += magnitude[i] * Math.abs(x);
        }
        double tolerance = 2 * (n + 8) * U * size;
        assertThat(size).isGreaterThan(0.0);
        assertThat(tolerance).isLessThan(3e-4 * size);

        float dot = tensor.dot(r, vector, VECTOR_START);
        assertWithMessage(
                "%s n=%s row %s: dot %s, dequantized sum %s, tolerance %s",
                type, n, r, dot, reference, tolerance)
            .that(Math.abs(dot - reference))
            .isAtMost(tolerance);
        // The scalar kernel too, whichever path dot() took.
        float scalar = TestBlocks.scalarDot(type, tensor.data(), n, r, vector, VECTOR_START);
        assertWithMessage("%s scalar n=%s row %s", type, n, r)
            .that(Math.abs(scalar - reference))
            .isAtMost(tolerance);
      }
    }
  }
}
