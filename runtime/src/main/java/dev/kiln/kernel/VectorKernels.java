package dev.kiln.kernel;

import dev.kiln.weights.FloatTensor;
import java.lang.foreign.MemorySegment;

/**
 * Inner loops shared by generated Java decoders. The dot product runs on the Vector API when the
 * {@code jdk.incubator.vector} module is present, and as scalar code otherwise or when the system
 * property {@code kiln.vector=scalar} asks for it (so tests cover both paths). A missing module is
 * reported once on standard error, never silently.
 */
public final class VectorKernels {
  /** Whether {@link #dot} uses the Vector API. */
  public static final boolean VECTORIZED = chooseVectorized();

  private VectorKernels() {}

  private static boolean chooseVectorized() {
    if ("scalar".equals(System.getProperty("kiln.vector"))) {
      return false;
    }
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      System.err.println("kiln: WARNING: the Vector API is not available (start java with --add-modules"
          + " jdk.incubator.vector); running scalar kernels, several times slower");
      return false;
    }
    return true;
  }

  /**
   * {@code sum_i weight[rowStart + i] * vector[vectorStart + i]} for {@code i < length}, weight elements read as
   * little-endian float32 ({@link FloatTensor#LAYOUT}).
   */
  public static float dot(MemorySegment weight, long rowStart, float[] vector, int vectorStart, int length) {
    return VECTORIZED
        ? VectorDot.dot(weight, rowStart, vector, vectorStart, length)
        : scalarDot(weight, rowStart, vector, vectorStart, length);
  }

  /** The scalar path of {@link #dot}. */
  public static float scalarDot(MemorySegment weight, long rowStart, float[] vector, int vectorStart, int length) {
    float sum = 0f;
    for (int i = 0; i < length; i++) {
      sum += weight.getAtIndex(FloatTensor.LAYOUT, rowStart + i) * vector[vectorStart + i];
    }
    return sum;
  }

  /** {@code sum_i a[aStart + i] * b[bStart + i]} for {@code i < length}. */
  public static float dot(float[] a, int aStart, float[] b, int bStart, int length) {
    return VECTORIZED ? VectorDot.dot(a, aStart, b, bStart, length) : scalarDot(a, aStart, b, bStart, length);
  }

  /** The scalar path of {@link #dot(float[], int, float[], int, int)}. */
  public static float scalarDot(float[] a, int aStart, float[] b, int bStart, int length) {
    float sum = 0f;
    for (int i = 0; i < length; i++) {
      sum += a[aStart + i] * b[bStart + i];
    }
    return sum;
  }

  /**
   * {@code out[r] = dot(w[0 .. n), x[xStart + r * xStride ..])} for {@code r < count}: one weight row
   * times a block of input rows.
   */
  public static void dotRows(float[] w, int n, float[] x, int xStart, int xStride, int count, float[] out) {
    if (VECTORIZED) {
      VectorRows.dotRows(w, n, x, xStart, xStride, count, out);
    } else {
      for (int r = 0; r < count; r++) {
        out[r] = scalarDot(w, 0, x, xStart + r * xStride, n);
      }
    }
  }

  /** {@code y[yStart + i] += a * x[xStart + i]} for {@code i < length}. */
  public static void axpy(float a, float[] x, int xStart, float[] y, int yStart, int length) {
    if (VECTORIZED) {
      VectorRows.axpy(a, x, xStart, y, yStart, length);
    } else {
      for (int i = 0; i < length; i++) {
        y[yStart + i] += a * x[xStart + i];
      }
    }
  }

  /** {@code y[yStart + i] *= a} for {@code i < length}. */
  public static void scale(float a, float[] y, int yStart, int length) {
    if (VECTORIZED) {
      VectorRows.scale(a, y, yStart, length);
    } else {
      for (int i = 0; i < length; i++) {
        y[yStart + i] *= a;
      }
    }
  }
}
