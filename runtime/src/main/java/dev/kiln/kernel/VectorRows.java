package dev.kiln.kernel;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API paths of {@link VectorKernels#dotRowBlock} (a block of dequantized weight rows
 * times a block of input rows: prefill and batched decode are bound by arithmetic, not by memory,
 * once the rows are in cache), of the attention tile kernels ({@code expShift}, {@code
 * addWeightedRows}), RMSNorm and scale, at the preferred width.
 */
final class VectorRows {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  private VectorRows() {}

  /**
   * {@link VectorKernels#dotRowBlock}: four weight rows (at {@code w[k * n]}) against four input
   * rows at a time (sixteen independent sums), then two, then one, so each input vector (read from
   * L2 in a long prefill) serves four products and each weight vector (in L1) four.
   */
  static void dotRowBlock4(
      float[] w, int n, float[] x, int xStart, int xStride, int count, float[] out) {
    int lanes = SPECIES.length();
    int bound = SPECIES.loopBound(n);
    int w1 = n;
    int w2 = 2 * n;
    int w3 = 3 * n;
    int row = 0;
    for (; row + 4 <= count; row += 4) {
      dotBlock4x4(w, n, x, xStart + row * xStride, xStride, count, row, out);
    }
    for (; row + 2 <= count; row += 2) {
      int xa = xStart + row * xStride;
      int xb = xa + xStride;
      FloatVector a0 = FloatVector.zero(SPECIES);
      FloatVector a1 = FloatVector.zero(SPECIES);
      FloatVector a2 = FloatVector.zero(SPECIES);
      FloatVector a3 = FloatVector.zero(SPECIES);
      FloatVector b0 = FloatVector.zero(SPECIES);
      FloatVector b1 = FloatVector.zero(SPECIES);
      FloatVector b2 = FloatVector.zero(SPECIES);
      FloatVector b3 = FloatVector.zero(SPECIES);
      int i = 0;
      for (; i < bound; i += lanes) {
        FloatVector va = FloatVector.fromArray(SPECIES, x, xa + i);
        FloatVector vb = FloatVector.fromArray(SPECIES, x, xb + i);
        FloatVector k0 = FloatVector.fromArray(SPECIES, w, i);
        FloatVector k1 = FloatVector.fromArray(SPECIES, w, w1 + i);
        FloatVector k2 = FloatVector.fromArray(SPECIES, w, w2 + i);
        FloatVector k3 = FloatVector.fromArray(SPECIES, w, w3 + i);
        a0 = k0.fma(va, a0);
        a1 = k1.fma(va, a1);
        a2 = k2.fma(va, a2);
        a3 = k3.fma(va, a3);
        b0 = k0.fma(vb, b0);
        b1 = k1.fma(vb, b1);
        b2 = k2.fma(vb, b2);
        b3 = k3.fma(vb, b3);
      }
      float[] sums = {
        a0.reduceLanes(VectorOperators.ADD),
        a1.reduceLanes(VectorOperators.ADD),
        a2.reduceLanes(VectorOperators.ADD),
        a3.reduceLanes(VectorOperators.ADD),
        b0.reduceLanes(VectorOperators.ADD),
        b1.reduceLanes(VectorOperators.ADD),
        b2.reduceLanes(VectorOperators.ADD),
        b3.reduceLanes(VectorOperators.ADD)
      };
      for (; i < n; i++) {
        for (int k = 0; k < 4; k++) {
          sums[k] += w[k * n + i] * x[xa + i];
          sums[4 + k] += w[k * n + i] * x[xb + i];
        }
      }
      for (int k = 0; k < 4; k++) {
        out[k * count + row] = sums[k];
        out[k * count + row + 1] = sums[4 + k];
      }
    }
    for (; row < count; row++) {
      for (int k = 0; k < 4; k++) {
        out[k * count + row] = VectorKernels.dot(w, k * n, x, xStart + row * xStride, n);
      }
    }
  }

  /**
   * Four weight rows times four input rows (from {@code x[x0]}, stride {@code xStride}): sixteen
   * sums.
   */
  private static void dotBlock4x4(
      float[] w, int n, float[] x, int x0, int xStride, int count, int row, float[] out) {
    int lanes = SPECIES.length();
    int bound = SPECIES.loopBound(n);
    int x1 = x0 + xStride;
    int x2 = x1 + xStride;
    int x3 = x2 + xStride;
    FloatVector s00 = FloatVector.zero(SPECIES), s01 = FloatVector.zero(SPECIES);
    FloatVector s02 = FloatVector.zero(SPECIES), s03 = FloatVector.zero(SPECIES);
    FloatVector s10 = FloatVector.zero(SPECIES), s11 = FloatVector.zero(SPECIES);
    FloatVector s12 = FloatVector.zero(SPECIES), s13 = FloatVector.zero(SPECIES);
    FloatVector s20 = FloatVector.zero(SPECIES), s21 = FloatVector.zero(SPECIES);
    FloatVector s22 = FloatVector.zero(SPECIES), s23 = FloatVector.zero(SPECIES);
    FloatVector s30 = FloatVector.zero(SPECIES), s31 = FloatVector.zero(SPECIES);
    FloatVector s32 = FloatVector.zero(SPECIES), s33 = FloatVector.zero(SPECIES);
    int i = 0;
    for (; i < bound; i += lanes) {
      FloatVector v0 = FloatVector.fromArray(SPECIES, x, x0 + i);
      FloatVector v1 = FloatVector.fromArray(SPECIES, x, x1 + i);
      FloatVector v2 = FloatVector.fromArray(SPECIES, x, x2 + i);
      FloatVector v3 = FloatVector.fromArray(SPECIES, x, x3 + i);
      FloatVector k = FloatVector.fromArray(SPECIES, w, i);
      s00 = k.fma(v0, s00);
      s01 = k.fma(v1, s01);
      s02 = k.fma(v2, s02);
      s03 = k.fma(v3, s03);
      k = FloatVector.fromArray(SPECIES, w, n + i);
      s10 = k.fma(v0, s10);
      s11 = k.fma(v1, s11);
      s12 = k.fma(v2, s12);
      s13 = k.fma(v3, s13);
      k = FloatVector.fromArray(SPECIES, w, 2 * n + i);
      s20 = k.fma(v0, s20);
      s21 = k.fma(v1, s21);
      s22 = k.fma(v2, s22);
      s23 = k.fma(v3, s23);
      k = FloatVector.fromArray(SPECIES, w, 3 * n + i);
      s30 = k.fma(v0, s30);
      s31 = k.fma(v1, s31);
      s32 = k.fma(v2, s32);
      s33 = k.fma(v3, s33);
    }
    // Reduced one by one: an array of vectors would box them.
    float[] sums = {
      s00.reduceLanes(VectorOperators.ADD),
      s01.reduceLanes(VectorOperators.ADD),
      s02.reduceLanes(VectorOperators.ADD),
      s03.reduceLanes(VectorOperators.ADD),
      s10.reduceLanes(VectorOperators.ADD),
      s11.reduceLanes(VectorOperators.ADD),
      s12.reduceLanes(VectorOperators.ADD),
      s13.reduceLanes(VectorOperators.ADD),
      s20.reduceLanes(VectorOperators.ADD),
      s21.reduceLanes(VectorOperators.ADD),
      s22.reduceLanes(VectorOperators.ADD),
      s23.reduceLanes(VectorOperators.ADD),
      s30.reduceLanes(VectorOperators.ADD),
      s31.reduceLanes(VectorOperators.ADD),
      s32.reduceLanes(VectorOperators.ADD),
      s33.reduceLanes(VectorOperators.ADD)
    };
    int[] xs = {x0, x1, x2, x3};
    for (int k = 0; k < 4; k++) {
      for (int j = 0; j < 4; j++) {
        float sum = sums[k * 4 + j];
        for (int t = i; t < n; t++) {
          sum += w[k * n + t] * x[xs[j] + t];
        }
        out[k * count + row + j] = sum;
      }
    }
  }

  static float expShift(float[] a, int start, int count, float shift) {
    int bound = SPECIES.loopBound(count);
    FloatVector shiftVector = FloatVector.broadcast(SPECIES, shift);
    FloatVector sums = FloatVector.zero(SPECIES);
    int i = 0;
    for (; i < bound; i += SPECIES.length()) {
      FloatVector e =
          FloatVector.fromArray(SPECIES, a, start + i)
              .sub(shiftVector)
              .lanewise(VectorOperators.EXP);
      e.intoArray(a, start + i);
      sums = sums.add(e);
    }
    float sum = sums.reduceLanes(VectorOperators.ADD);
    for (; i < count; i++) {
      float e = (float) Math.exp(a[start + i] - shift);
      a[start + i] = e;
      sum += e;
    }
    return sum;
  }

  static void addWeightedRows(
      float[] weights,
      int count,
      float[] rows,
      int rowsStart,
      int rowStride,
      float[] out,
      int outStart,
      int n) {
    int lanes = SPECIES.length();
    int d = 0;
    for (; d <= n - lanes; d += lanes) {
      FloatVector acc = FloatVector.fromArray(SPECIES, out, outStart + d);
      for (int j = 0; j < count; j++) {
        acc =
            FloatVector.fromArray(SPECIES, rows, rowsStart + j * rowStride + d)
                .fma(FloatVector.broadcast(SPECIES, weights[j]), acc);
      }
      acc.intoArray(out, outStart + d);
    }
    for (; d < n; d++) {
      float acc = out[outStart + d];
      for (int j = 0; j < count; j++) {
        acc += weights[j] * rows[rowsStart + j * rowStride + d];
      }
      out[outStart + d] = acc;
    }
  }

  /**
   * {@link VectorKernels#rmsNorm}: squares summed in two vector accumulators, then the row scaled
   * and multiplied by the gain a vector at a time.
   */
  static void rmsNorm(
      float[] in,
      int inStart,
      MemorySegment gain,
      float[] out,
      int outStart,
      int n,
      double eps,
      float gainOffset) {
    int lanes = SPECIES.length();
    FloatVector s0 = FloatVector.zero(SPECIES);
    FloatVector s1 = FloatVector.zero(SPECIES);
    int i = 0;
    for (; i <= n - 2 * lanes; i += 2 * lanes) {
      FloatVector a = FloatVector.fromArray(SPECIES, in, inStart + i);
      FloatVector b = FloatVector.fromArray(SPECIES, in, inStart + i + lanes);
      s0 = a.fma(a, s0);
      s1 = b.fma(b, s1);
    }
    for (; i <= n - lanes; i += lanes) {
      FloatVector a = FloatVector.fromArray(SPECIES, in, inStart + i);
      s0 = a.fma(a, s0);
    }
    float sumSquares = s0.add(s1).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sumSquares += in[inStart + i] * in[inStart + i];
    }
    float scale = (float) (1.0 / Math.sqrt(sumSquares / n + eps));
    i = 0;
    for (; i <= n - lanes; i += lanes) {
      FloatVector.fromArray(SPECIES, in, inStart + i)
          .mul(scale)
          .mul(
              FloatVector.fromMemorySegment(
                      SPECIES, gain, (long) i * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                  .add(gainOffset))
          .intoArray(out, outStart + i);
    }
    for (; i < n; i++) {
      out[outStart + i] =
          in[inStart + i]
              * scale
              * (gainOffset + gain.get(ScalarKernels.FLOAT, (long) i * Float.BYTES));
    }
  }

  static void scale(float a, float[] y, int yStart, int length) {
    int bound = SPECIES.loopBound(length);
    int i = 0;
    for (; i < bound; i += SPECIES.length()) {
      FloatVector.fromArray(SPECIES, y, yStart + i).mul(a).intoArray(y, yStart + i);
    }
    for (; i < length; i++) {
      y[yStart + i] *= a;
    }
  }
}
