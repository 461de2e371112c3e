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
   * {@link VectorKernels#dot(MemorySegment, long, float[], int, int)}: one row of {@link
   * #dotRows}'s loop.
   */
  static float dot(
      VectorWidth width, MemorySegment weight, long rowStart, float[] x, int xStart, int n) {
    return rowSum(width.floats(), weight, rowStart * Float.BYTES, x, xStart, n);
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
   * {@link VectorKernels#dotRowRange} over rows in stored order or in a given order: the rows one
   * after another, each with two vector accumulators, then a single-vector step and a scalar tail.
   * Row {@code r} starts at element {@code firstRowStart + r * n}, or at {@code order[orderStart +
   * r] * n} when {@code order} is not null.
   *
   * <p>Reading the rows one after another, in the order they are stored, lets the hardware
   * prefetcher stream the matrix. Two accumulators, not four, keep the loop short enough for the
   * JIT to reduce each load's bounds check to one compare: on one thread over a 32000 x 768 float32
   * matrix in native memory (beyond the L3 cache) this loop read 19.5-22.2 GB/s where four rows
   * read side by side (the previous loop) read 11.9-13.5, one row with four accumulators 8.4-10.3,
   * and a plain C loop compiled with {@code gcc -Ofast -march=native} 23.0-24.1, in the same
   * session. A scalar head up to an aligned address made it slower (17.6-19.3), so there is none.
   *
   * <p>The loads compile against the JDK's shared profile of the segment classes a process reads:
   * with heap and native segments both passing through this loop, it read native memory at 5.6-6.4
   * GB/s, with or without an {@code isNative()} test in front (the kernels' former guard). That is
   * why every tensor Kiln makes is native memory ({@code WeightTensor.allocateData}).
   */
  static void dotRows(
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
    if (order == null) { // the call's own rows only (see VectorQuant: one compare per bounds check)
      weight = weight.asSlice(firstRowStart * Float.BYTES, (long) rows * n * Float.BYTES);
      firstRowStart = 0;
    }
    for (int r = 0; r < rows; r++) {
      out[outStart + r] =
          rowSum(species, weight, rowByte(firstRowStart, order, orderStart, r, n), x, xStart, n);
    }
  }

  /**
   * The dot product of the {@code n} floats at byte {@code base} of {@code weight} with {@code
   * x[xStart ..]}: two vector accumulators, then a single-vector step and a scalar tail.
   */
  private static float rowSum(
      VectorSpecies<Float> species, MemorySegment weight, long base, float[] x, int xStart, int n) {
    int lanes = species.length();
    FloatVector sum0 = FloatVector.zero(species);
    FloatVector sum1 = FloatVector.zero(species);
    int i = 0;
    for (; i <= n - 2 * lanes; i += 2 * lanes) {
      long at = base + (long) i * Float.BYTES;
      int xi = xStart + i;
      sum0 =
          FloatVector.fromMemorySegment(species, weight, at, LE)
              .fma(FloatVector.fromArray(species, x, xi), sum0);
      sum1 =
          FloatVector.fromMemorySegment(species, weight, at + (long) lanes * Float.BYTES, LE)
              .fma(FloatVector.fromArray(species, x, xi + lanes), sum1);
    }
    for (; i <= n - lanes; i += lanes) {
      sum0 =
          FloatVector.fromMemorySegment(species, weight, base + (long) i * Float.BYTES, LE)
              .fma(FloatVector.fromArray(species, x, xStart + i), sum0);
    }
    float sum = sum0.add(sum1).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += weight.get(FLOAT, base + (long) i * Float.BYTES) * x[xStart + i];
    }
    return sum;
  }

  /** Byte offset of row {@code r} of a {@link #dotRows} call. */
  private static long rowByte(long firstRowStart, int[] order, int orderStart, int r, int n) {
    return (order == null ? firstRowStart + (long) r * n : (long) order[orderStart + r] * n)
        * Float.BYTES;
  }
}
