package dev.kiln.kernel;

import static dev.kiln.kernel.ScalarKernels.FLOAT;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API paths of the float32 dot products of {@link VectorKernels}; only loaded when the
 * module is present. Four accumulators, so that consecutive fused multiply-adds do not wait for
 * each other.
 */
final class VectorDot {
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  private VectorDot() {}

  /**
   * {@link VectorKernels#dot(MemorySegment, long, float[], int, int)}: a scalar head up to the
   * first vector-aligned weight address (native memory at float alignment only; a heap segment's
   * address is an offset in its array), a vector body, a scalar tail.
   */
  static float dot(
      VectorWidth width, MemorySegment weight, long rowStart, float[] x, int xStart, int n) {
    VectorSpecies<Float> species = width.floats();
    int lanes = species.length();
    long base = rowStart * Float.BYTES;
    float head = 0f;
    int i = 0;
    if (weight.isNative()) {
      long address = weight.address() + base;
      if ((address & (Float.BYTES - 1)) == 0) {
        int toAlign = (int) (((-address) & (species.vectorByteSize() - 1)) / Float.BYTES);
        for (int end = Math.min(n, toAlign); i < end; i++) {
          head += weight.get(FLOAT, base + (long) i * Float.BYTES) * x[xStart + i];
        }
      }
    }
    FloatVector sum0 = FloatVector.zero(species);
    FloatVector sum1 = FloatVector.zero(species);
    FloatVector sum2 = FloatVector.zero(species);
    FloatVector sum3 = FloatVector.zero(species);
    for (; i <= n - 4 * lanes; i += 4 * lanes) {
      long at = base + (long) i * Float.BYTES;
      int xi = xStart + i;
      sum0 =
          FloatVector.fromMemorySegment(species, weight, at, LE)
              .fma(FloatVector.fromArray(species, x, xi), sum0);
      sum1 =
          FloatVector.fromMemorySegment(species, weight, at + (long) lanes * Float.BYTES, LE)
              .fma(FloatVector.fromArray(species, x, xi + lanes), sum1);
      sum2 =
          FloatVector.fromMemorySegment(species, weight, at + 2L * lanes * Float.BYTES, LE)
              .fma(FloatVector.fromArray(species, x, xi + 2 * lanes), sum2);
      sum3 =
          FloatVector.fromMemorySegment(species, weight, at + 3L * lanes * Float.BYTES, LE)
              .fma(FloatVector.fromArray(species, x, xi + 3 * lanes), sum3);
    }
    for (; i <= n - lanes; i += lanes) {
      sum0 =
          FloatVector.fromMemorySegment(species, weight, base + (long) i * Float.BYTES, LE)
              .fma(FloatVector.fromArray(species, x, xStart + i), sum0);
    }
    float sum = head + sum0.add(sum1).add(sum2.add(sum3)).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += weight.get(FLOAT, base + (long) i * Float.BYTES) * x[xStart + i];
    }
    return sum;
  }

  /** {@link VectorKernels#dot(float[], int, float[], int, int)}: vector body, scalar tail. */
  static float dot(VectorWidth width, float[] a, int aStart, float[] b, int bStart, int n) {
    VectorSpecies<Float> species = width.floats();
    int lanes = species.length();
    FloatVector sum0 = FloatVector.zero(species);
    FloatVector sum1 = FloatVector.zero(species);
    FloatVector sum2 = FloatVector.zero(species);
    FloatVector sum3 = FloatVector.zero(species);
    int i = 0;
    for (; i <= n - 4 * lanes; i += 4 * lanes) {
      int ai = aStart + i;
      int bi = bStart + i;
      sum0 = FloatVector.fromArray(species, a, ai).fma(FloatVector.fromArray(species, b, bi), sum0);
      sum1 =
          FloatVector.fromArray(species, a, ai + lanes)
              .fma(FloatVector.fromArray(species, b, bi + lanes), sum1);
      sum2 =
          FloatVector.fromArray(species, a, ai + 2 * lanes)
              .fma(FloatVector.fromArray(species, b, bi + 2 * lanes), sum2);
      sum3 =
          FloatVector.fromArray(species, a, ai + 3 * lanes)
              .fma(FloatVector.fromArray(species, b, bi + 3 * lanes), sum3);
    }
    for (; i <= n - lanes; i += lanes) {
      sum0 =
          FloatVector.fromArray(species, a, aStart + i)
              .fma(FloatVector.fromArray(species, b, bStart + i), sum0);
    }
    float sum = sum0.add(sum1).add(sum2.add(sum3)).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += a[aStart + i] * b[bStart + i];
    }
    return sum;
  }

  /**
   * {@link VectorKernels#dotRowRange}: the rows one after another in one loop nest, each with a
   * scalar head up to a vector-aligned weight address (native memory at float alignment), a vector
   * body and a scalar tail.
   *
   * <p>The {@code isNative()} test comes first on purpose: it makes the JIT check the segment's
   * class once, here, so the loads below are compiled for that one class. Without it they inherit
   * the JDK's shared profile of every segment any code has read, and a process that has also read
   * native memory (the benchmark's bandwidth probe, a mapped file) gets loads that test the class
   * each time: measured 6.6-7 GB/s instead of 14.5 on one thread.
   *
   * <p>The body repeats {@link #dot}'s loop on purpose: calling {@link #dot} per row (one class
   * test and alignment test per row) measured 11.1-11.5 GB/s against 14.7 for this loop, one thread
   * over the 110M shape's matrices.
   */
  static void dotRowRange(
      VectorWidth width,
      MemorySegment weight,
      long firstRowStart,
      int rows,
      int n,
      float[] x,
      int xStart,
      float[] out,
      int outStart) {
    if (weight.isNative()) {
      dotRows4(width, weight, firstRowStart, null, 0, rows, n, x, xStart, out, outStart);
      return;
    }
    boolean alignable = weight.isNative() && (weight.address() & (Float.BYTES - 1)) == 0;
    VectorSpecies<Float> species = width.floats();
    int lanes = species.length();
    for (int r = 0; r < rows; r++) {
      long base = (firstRowStart + (long) r * n) * Float.BYTES;
      float head = 0f;
      int i = 0;
      if (alignable) {
        long address = weight.address() + base;
        int toAlign = (int) (((-address) & (species.vectorByteSize() - 1)) / Float.BYTES);
        for (int end = Math.min(n, toAlign); i < end; i++) {
          head += weight.get(FLOAT, base + (long) i * Float.BYTES) * x[xStart + i];
        }
      }
      FloatVector sum0 = FloatVector.zero(species);
      FloatVector sum1 = FloatVector.zero(species);
      FloatVector sum2 = FloatVector.zero(species);
      FloatVector sum3 = FloatVector.zero(species);
      for (; i <= n - 4 * lanes; i += 4 * lanes) {
        long at = base + (long) i * Float.BYTES;
        int xi = xStart + i;
        sum0 =
            FloatVector.fromMemorySegment(species, weight, at, LE)
                .fma(FloatVector.fromArray(species, x, xi), sum0);
        sum1 =
            FloatVector.fromMemorySegment(species, weight, at + (long) lanes * Float.BYTES, LE)
                .fma(FloatVector.fromArray(species, x, xi + lanes), sum1);
        sum2 =
            FloatVector.fromMemorySegment(species, weight, at + 2L * lanes * Float.BYTES, LE)
                .fma(FloatVector.fromArray(species, x, xi + 2 * lanes), sum2);
        sum3 =
            FloatVector.fromMemorySegment(species, weight, at + 3L * lanes * Float.BYTES, LE)
                .fma(FloatVector.fromArray(species, x, xi + 3 * lanes), sum3);
      }
      for (; i <= n - lanes; i += lanes) {
        sum0 =
            FloatVector.fromMemorySegment(species, weight, base + (long) i * Float.BYTES, LE)
                .fma(FloatVector.fromArray(species, x, xStart + i), sum0);
      }
      float sum = head + sum0.add(sum1).add(sum2.add(sum3)).reduceLanes(VectorOperators.ADD);
      for (; i < n; i++) {
        sum += weight.get(FLOAT, base + (long) i * Float.BYTES) * x[xStart + i];
      }
      out[outStart + r] = sum;
    }
  }

  /**
   * {@link VectorKernels#dotRowRange} over native memory (a mapped file), and over rows read in a
   * given order: four weight rows at a time against one input vector (four sums, each input vector
   * loaded once for four rows), then the rows left one at a time. Row {@code r} starts at element
   * {@code firstRowStart + r * n}, or at {@code order[orderStart + r] * n} when {@code order} is
   * not null.
   *
   * <p>Over native memory, the one-row loop of {@link #dotRowRange} runs at about half the speed it
   * has over a heap array (the Vector API's bounds check of each load, which the JIT only hoists
   * out of the row's loop at a cost paid per row: measured 40-49 ms against 18-28 ms per pass over
   * 436 MB on one thread, and 30 ms with the check turned off); four rows per loop pay it once per
   * four rows, and share the input's loads: 28-33 ms. Each block of four has a scalar head up to a
   * vector-aligned address when the four rows share their alignment (native memory at float
   * alignment).
   */
  static void dotRows4(
      VectorWidth width,
      MemorySegment weight,
      long firstRowStart,
      int[] order,
      int orderStart,
      int rows,
      int n,
      float[] x,
      int xStart,
      float[] out,
      int outStart) {
    VectorSpecies<Float> species = width.floats();
    int lanes = species.length();
    long vectorBytes = species.vectorByteSize();
    boolean alignable = weight.isNative() && (weight.address() & (Float.BYTES - 1)) == 0;
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
      long b0 = rowByte(firstRowStart, order, orderStart, r, n);
      long b1 = rowByte(firstRowStart, order, orderStart, r + 1, n);
      long b2 = rowByte(firstRowStart, order, orderStart, r + 2, n);
      long b3 = rowByte(firstRowStart, order, orderStart, r + 3, n);
      float h0 = 0f;
      float h1 = 0f;
      float h2 = 0f;
      float h3 = 0f;
      int i = 0;
      if (alignable && (((b1 - b0) | (b2 - b0) | (b3 - b0)) & (vectorBytes - 1)) == 0) {
        int toAlign = (int) (((-(weight.address() + b0)) & (vectorBytes - 1)) / Float.BYTES);
        for (int end = Math.min(n, toAlign); i < end; i++) {
          float xi = x[xStart + i];
          long at = (long) i * Float.BYTES;
          h0 += weight.get(FLOAT, b0 + at) * xi;
          h1 += weight.get(FLOAT, b1 + at) * xi;
          h2 += weight.get(FLOAT, b2 + at) * xi;
          h3 += weight.get(FLOAT, b3 + at) * xi;
        }
      }
      FloatVector s0 = FloatVector.zero(species);
      FloatVector s1 = FloatVector.zero(species);
      FloatVector s2 = FloatVector.zero(species);
      FloatVector s3 = FloatVector.zero(species);
      for (; i <= n - lanes; i += lanes) {
        long at = (long) i * Float.BYTES;
        FloatVector v = FloatVector.fromArray(species, x, xStart + i);
        s0 = FloatVector.fromMemorySegment(species, weight, b0 + at, LE).fma(v, s0);
        s1 = FloatVector.fromMemorySegment(species, weight, b1 + at, LE).fma(v, s1);
        s2 = FloatVector.fromMemorySegment(species, weight, b2 + at, LE).fma(v, s2);
        s3 = FloatVector.fromMemorySegment(species, weight, b3 + at, LE).fma(v, s3);
      }
      float sum0 = h0 + s0.reduceLanes(VectorOperators.ADD);
      float sum1 = h1 + s1.reduceLanes(VectorOperators.ADD);
      float sum2 = h2 + s2.reduceLanes(VectorOperators.ADD);
      float sum3 = h3 + s3.reduceLanes(VectorOperators.ADD);
      for (; i < n; i++) {
        float xi = x[xStart + i];
        long at = (long) i * Float.BYTES;
        sum0 += weight.get(FLOAT, b0 + at) * xi;
        sum1 += weight.get(FLOAT, b1 + at) * xi;
        sum2 += weight.get(FLOAT, b2 + at) * xi;
        sum3 += weight.get(FLOAT, b3 + at) * xi;
      }
      out[outStart + r] = sum0;
      out[outStart + r + 1] = sum1;
      out[outStart + r + 2] = sum2;
      out[outStart + r + 3] = sum3;
    }
    for (; r < rows; r++) {
      out[outStart + r] =
          dot(
              width,
              weight,
              rowByte(firstRowStart, order, orderStart, r, n) / Float.BYTES,
              x,
              xStart,
              n);
    }
  }

  /** Byte offset of row {@code r} of a {@link #dotRows4} call. */
  private static long rowByte(long firstRowStart, int[] order, int orderStart, int r, int n) {
    return (order == null ? firstRowStart + (long) r * n : (long) order[orderStart + r] * n)
        * Float.BYTES;
  }
}
