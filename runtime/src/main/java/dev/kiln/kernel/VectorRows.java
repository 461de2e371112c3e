package dev.kiln.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API path of {@link VectorKernels#dotRows}: one (dequantized) weight row times a block
 * of input rows, four input rows at a time so each weight vector is loaded once per four products
 * (prefill and batched decode are bound by arithmetic, not by memory, once the row is in cache).
 */
final class VectorRows {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  private VectorRows() {}

  static void dotRows(float[] w, int n, float[] x, int xStart, int xStride, int count, float[] out) {
    int lanes = SPECIES.length();
    int bound = SPECIES.loopBound(n);
    int row = 0;
    for (; row + 4 <= count; row += 4) {
      int x0 = xStart + row * xStride;
      int x1 = x0 + xStride;
      int x2 = x1 + xStride;
      int x3 = x2 + xStride;
      FloatVector s0 = FloatVector.zero(SPECIES);
      FloatVector s1 = FloatVector.zero(SPECIES);
      FloatVector s2 = FloatVector.zero(SPECIES);
      FloatVector s3 = FloatVector.zero(SPECIES);
      int i = 0;
      for (; i < bound; i += lanes) {
        FloatVector weight = FloatVector.fromArray(SPECIES, w, i);
        s0 = weight.fma(FloatVector.fromArray(SPECIES, x, x0 + i), s0);
        s1 = weight.fma(FloatVector.fromArray(SPECIES, x, x1 + i), s1);
        s2 = weight.fma(FloatVector.fromArray(SPECIES, x, x2 + i), s2);
        s3 = weight.fma(FloatVector.fromArray(SPECIES, x, x3 + i), s3);
      }
      float d0 = s0.reduceLanes(VectorOperators.ADD);
      float d1 = s1.reduceLanes(VectorOperators.ADD);
      float d2 = s2.reduceLanes(VectorOperators.ADD);
      float d3 = s3.reduceLanes(VectorOperators.ADD);
      for (; i < n; i++) {
        d0 += w[i] * x[x0 + i];
        d1 += w[i] * x[x1 + i];
        d2 += w[i] * x[x2 + i];
        d3 += w[i] * x[x3 + i];
      }
      out[row] = d0;
      out[row + 1] = d1;
      out[row + 2] = d2;
      out[row + 3] = d3;
    }
    for (; row < count; row++) {
      out[row] = VectorKernels.dot(w, 0, x, xStart + row * xStride, n);
    }
  }

  static void axpy(float a, float[] x, int xStart, float[] y, int yStart, int length) {
    int bound = SPECIES.loopBound(length);
    int i = 0;
    for (; i < bound; i += SPECIES.length()) {
      FloatVector.fromArray(SPECIES, x, xStart + i)
          .fma(FloatVector.broadcast(SPECIES, a), FloatVector.fromArray(SPECIES, y, yStart + i))
          .intoArray(y, yStart + i);
    }
    for (; i < length; i++) {
      y[yStart + i] += a * x[xStart + i];
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
