package dev.kiln.bench;

import dev.kiln.kernel.VectorKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Code shapes of a float32 row-range dot product (a thread's share of a projection: 768 rows of 768
 * columns per call) over 436 MB of native or heap memory, one shape per JVM (so that no other
 * shape's segment class pollutes the JIT's profile), timed by the calling thread's CPU time (one
 * thread; less sensitive to other load on a shared machine than wall time). Shapes: 0 the kernel as
 * dispatched ({@code VectorKernels.dotRowRange}), 1 one slice per row, 2 one slice per call, 3 each
 * row copied to a heap array first, 4 four rows per loop sharing each input vector. Run with
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp "bench/target/classes:runtime/target/classes" \
 *     dev.kiln.bench.F32LoadShapes SHAPE ROUNDS [heap|auto|global|shared|confined]
 * </pre>
 */
public final class F32LoadShapes {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  public static void main(String[] args) {
    int shape = Integer.parseInt(args[0]);
    int rounds = Integer.parseInt(args[1]);
    String kind = args.length > 2 ? args[2] : "auto";
    boolean heap = kind.equals("heap");
    int n = 768;
    int rows = 142_000; // 436 MB
    MemorySegment w;
    if (heap) {
      w = MemorySegment.ofArray(new float[rows * n]);
    } else {
      Arena arena =
          switch (kind) {
            case "global" -> Arena.global();
            case "shared" -> Arena.ofShared();
            case "confined" -> Arena.ofConfined();
            default -> Arena.ofAuto();
          };
      w = arena.allocate((long) rows * n * 4, 64);
    }
    var random = new SplittableRandom(1);
    for (long i = 0; i < (long) rows * n; i += 97) {
      w.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) random.nextDouble());
    }
    float[] x = new float[n];
    Arrays.fill(x, 0.5f);
    float[] out = new float[rows];
    var bean = java.lang.management.ManagementFactory.getThreadMXBean();
    long[] cpu = new long[rounds];
    int block = 768; // rows per call, like a thread's share of a 768-row projection
    for (int round = -10; round < rounds; round++) {
      long c0 = bean.getCurrentThreadCpuTime();
      for (int r = 0; r < rows; r += block) {
        int count = Math.min(block, rows - r);
        switch (shape) {
          case 0 -> VectorKernels.dotRowRange(w, (long) r * n, count, n, x, 0, out, r);
          case 1 -> rowSlices(w, (long) r * n, count, n, x, out, r);
          case 2 -> blockSlice(w, (long) r * n, count, n, x, out, r);
          case 3 -> copyRows(w, (long) r * n, count, n, x, out, r);
          case 4 -> fourRows(w, (long) r * n, count, n, x, out, r);
          default -> throw new IllegalArgumentException();
        }
      }
      if (round >= 0) {
        cpu[round] = bean.getCurrentThreadCpuTime() - c0;
      }
    }
    Arrays.sort(cpu);
    System.out.printf(
        "shape %d %s: cpu best %.2f ms median %.2f ms (%.1f GB/s best)%n",
        shape, kind, cpu[0] / 1e6, cpu[rounds / 2] / 1e6, w.byteSize() / (cpu[0] / 1.0));
  }

  static float rowDot(MemorySegment row, float[] x, int n) {
    int lanes = S.length();
    FloatVector s0 = FloatVector.zero(S),
        s1 = FloatVector.zero(S),
        s2 = FloatVector.zero(S),
        s3 = FloatVector.zero(S);
    int i = 0;
    for (; i <= n - 4 * lanes; i += 4 * lanes) {
      long at = (long) i * 4;
      s0 = FloatVector.fromMemorySegment(S, row, at, LE).fma(FloatVector.fromArray(S, x, i), s0);
      s1 =
          FloatVector.fromMemorySegment(S, row, at + lanes * 4L, LE)
              .fma(FloatVector.fromArray(S, x, i + lanes), s1);
      s2 =
          FloatVector.fromMemorySegment(S, row, at + lanes * 8L, LE)
              .fma(FloatVector.fromArray(S, x, i + 2 * lanes), s2);
      s3 =
          FloatVector.fromMemorySegment(S, row, at + lanes * 12L, LE)
              .fma(FloatVector.fromArray(S, x, i + 3 * lanes), s3);
    }
    return s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
  }

  static void rowSlices(
      MemorySegment w, long start, int rows, int n, float[] x, float[] out, int outStart) {
    for (int r = 0; r < rows; r++) {
      MemorySegment row = w.asSlice((start + (long) r * n) * 4, n * 4L);
      out[outStart + r] = rowDot(row, x, n);
    }
  }

  static void blockSlice(
      MemorySegment w, long start, int rows, int n, float[] x, float[] out, int outStart) {
    MemorySegment b = w.asSlice(start * 4, (long) rows * n * 4);
    int lanes = S.length();
    for (int r = 0; r < rows; r++) {
      long base = (long) r * n * 4;
      FloatVector s0 = FloatVector.zero(S),
          s1 = FloatVector.zero(S),
          s2 = FloatVector.zero(S),
          s3 = FloatVector.zero(S);
      int i = 0;
      for (; i <= n - 4 * lanes; i += 4 * lanes) {
        long at = base + (long) i * 4;
        s0 = FloatVector.fromMemorySegment(S, b, at, LE).fma(FloatVector.fromArray(S, x, i), s0);
        s1 =
            FloatVector.fromMemorySegment(S, b, at + lanes * 4L, LE)
                .fma(FloatVector.fromArray(S, x, i + lanes), s1);
        s2 =
            FloatVector.fromMemorySegment(S, b, at + lanes * 8L, LE)
                .fma(FloatVector.fromArray(S, x, i + 2 * lanes), s2);
        s3 =
            FloatVector.fromMemorySegment(S, b, at + lanes * 12L, LE)
                .fma(FloatVector.fromArray(S, x, i + 3 * lanes), s3);
      }
      out[outStart + r] = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    }
  }

  static void fourRows(
      MemorySegment w, long start, int rows, int n, float[] x, float[] out, int outStart) {
    int lanes = S.length();
    long rowBytes = n * 4L;
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
      long b0 = (start + (long) r * n) * 4;
      long b1 = b0 + rowBytes;
      long b2 = b1 + rowBytes;
      long b3 = b2 + rowBytes;
      FloatVector s0 = FloatVector.zero(S),
          s1 = FloatVector.zero(S),
          s2 = FloatVector.zero(S),
          s3 = FloatVector.zero(S);
      for (int i = 0; i <= n - lanes; i += lanes) {
        long at = (long) i * 4;
        FloatVector v = FloatVector.fromArray(S, x, i);
        s0 = FloatVector.fromMemorySegment(S, w, b0 + at, LE).fma(v, s0);
        s1 = FloatVector.fromMemorySegment(S, w, b1 + at, LE).fma(v, s1);
        s2 = FloatVector.fromMemorySegment(S, w, b2 + at, LE).fma(v, s2);
        s3 = FloatVector.fromMemorySegment(S, w, b3 + at, LE).fma(v, s3);
      }
      out[outStart + r] = s0.reduceLanes(VectorOperators.ADD);
      out[outStart + r + 1] = s1.reduceLanes(VectorOperators.ADD);
      out[outStart + r + 2] = s2.reduceLanes(VectorOperators.ADD);
      out[outStart + r + 3] = s3.reduceLanes(VectorOperators.ADD);
    }
    for (; r < rows; r++) {
      out[outStart + r] = VectorKernels.dot(w, start + (long) r * n, x, 0, n);
    }
  }

  private static final ThreadLocal<float[]> BUF = ThreadLocal.withInitial(() -> new float[4096]);

  static void copyRows(
      MemorySegment w, long start, int rows, int n, float[] x, float[] out, int outStart) {
    float[] buf = BUF.get();
    for (int r = 0; r < rows; r++) {
      MemorySegment.copy(
          w, ValueLayout.JAVA_FLOAT_UNALIGNED, (start + (long) r * n) * 4, buf, 0, n);
      out[outStart + r] = VectorKernels.dot(buf, 0, x, 0, n);
    }
  }
}
