package dev.kiln.weights;

import static com.google.common.truth.Truth.assertWithMessage;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link WeightTensor#dotRowBlock} (blocks of weight rows times blocks of input rows, as prefill
 * and batched decode use them) and {@link WeightTensor#dotRowRange} (one input row times a range of
 * weight rows, as decode uses it) against {@link WeightTensor#dot} row by row, for every type.
 */
class DotRowsTest {
  /**
   * {@link WeightTensor#dotRowBlock} (blocks of weight rows, as prefill uses it) against {@link
   * WeightTensor#dot}.
   */
  @ParameterizedTest
  @EnumSource(Dtype.class)
  void dotRowBlockEqualsDotPerRow(Dtype type) {
    Random random = new Random(100 + type.ordinal());
    int columns = type.quantized() ? 2 * type.blockSize() : 37;
    int rows = 6;
    WeightTensor tensor =
        TestBlocks.tensor("w", type, rows, columns, TestBlocks.finite(type, rows, columns, random));
    int stride = columns + 3;
    for (int block = 1; block <= 4; block++) {
      for (int count : new int[] {1, 2, 3, 5, 8}) {
        float[] x = TestBlocks.randomVector(2 + count * stride, random);
        float[] out = new float[block * count];
        int first = rows - block;
        tensor.dotRowBlock(first, block, x, 2, stride, count, out);
        for (int k = 0; k < block; k++) {
          float[] w = new float[columns];
          tensor.readRow(first + k, w, 0);
          for (int i = 0; i < count; i++) {
            float expected = tensor.dot(first + k, x, 2 + i * stride);
            double scale = 0;
            for (int c = 0; c < columns; c++) {
              scale += Math.abs((double) w[c] * x[2 + i * stride + c]);
            }
            double tolerance = 2.0 * columns * 0x1p-24 * scale + 1e-30;
            assertWithMessage(
                    "%s rows %s.., block of %s x %s, element (%s, %s)",
                    type, first, block, count, k, i)
                .that((double) out[k * count + i])
                .isWithin(tolerance)
                .of(expected);
          }
        }
      }
    }
  }

  /**
   * {@link WeightTensor#dotRowRange} (a one-row projection's range of rows) equals {@link
   * WeightTensor#dot}, row order views included, up to the order of the sums: the same kernel
   * interpreted (the Vector API's Java fallback adds a vector's lanes in order) and compiled (the
   * intrinsic adds them as a tree) may round differently, and the JIT may compile it between two
   * calls.
   */
  @ParameterizedTest
  @EnumSource(Dtype.class)
  void dotRowRangeEqualsDotPerRow(Dtype type) {
    Random random = new Random(200 + type.ordinal());
    int columns = type.quantized() ? 2 * type.blockSize() : 37;
    int rows = 6;
    WeightTensor stored =
        TestBlocks.tensor("w", type, rows, columns, TestBlocks.finite(type, rows, columns, random));
    for (WeightTensor tensor :
        new WeightTensor[] {stored, stored.withRowOrder(new int[] {5, 3, 1, 0, 2, 4})}) {
      float[] x = TestBlocks.randomVector(columns + 4, random);
      float[] out = new float[rows + 1];
      tensor.dotRowRange(1, rows, x, 4, out, 1);
      for (int row = 1; row < rows; row++) {
        float[] w = new float[columns];
        tensor.readRow(row, w, 0);
        double scale = 0;
        for (int c = 0; c < columns; c++) {
          scale += Math.abs((double) w[c] * x[4 + c]);
        }
        double tolerance = 2.0 * columns * 0x1p-24 * scale + 1e-30;
        assertWithMessage("%s row %s", type, row)
            .that((double) out[row])
            .isWithin(tolerance)
            .of(tensor.dot(row, x, 4));
      }
    }
  }
}
