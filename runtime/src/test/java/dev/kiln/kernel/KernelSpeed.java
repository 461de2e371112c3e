package dev.kiln.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A speed check, not a test: a 4096 x 4096 matrix times a vector, one thread, for every weight
 * type, on the scalar loops and on the vector kernels at {@link VectorKernels#VECTOR_BITS}; and
 * the row readers. Prints ns per row and the bytes of weights read per second. Weights are in
 * native memory, as a memory-mapped file's are. Run with the test classpath:
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp runtime/target/classes:runtime/target/test-classes \
 *     dev.kiln.kernel.KernelSpeed [rows columns [passes]]
 * </pre>
 */
public final class KernelSpeed {
  private KernelSpeed() {}

  /** One kernel over a whole matrix: every row's dot product (or row read). */
  private interface Pass {
    float run(MemorySegment data, long rowBytes, int rows, int columns, float[] x, float[] out);
  }

  private record Kernel(String type, int blockSize, int blockBytes, Pass scalarDot, Pass vectorDot, Pass scalarRead,
      Pass vectorRead) {}

  private static Pass dots(Dot dot) {
    return (data, rowBytes, rows, columns, x, out) -> {
      for (int r = 0; r < rows; r++) {
        out[r] = dot.dot(data, r * rowBytes, columns, x);
      }
      return out[rows / 2];
    };
  }

  private static Pass reads(Read read) {
    return (data, rowBytes, rows, columns, x, out) -> {
      float check = 0f;
      for (int r = 0; r < rows; r++) {
        read.read(data, r * rowBytes, columns, x);
        check += x[r % columns];
      }
      return check;
    };
  }

  private interface Dot {
    float dot(MemorySegment data, long offset, int columns, float[] x);
  }

  private interface Read {
    void read(MemorySegment data, long offset, int columns, float[] out);
  }

  private static final List<Kernel> KERNELS = List.of(
      new Kernel("F32", 1, 4,
          dots((d, o, n, x) -> ScalarKernels.dotF32(d, o / 4, x, 0, n)),
          dots((d, o, n, x) -> VectorKernels.dot(d, o / 4, x, 0, n)),
          reads((d, o, n, out) -> MemorySegment.copy(d, ScalarKernels.FLOAT, o, out, 0, n)),
          reads((d, o, n, out) -> MemorySegment.copy(d, ScalarKernels.FLOAT, o, out, 0, n))),
      new Kernel("F16", 1, 2,
          dots((d, o, n, x) -> ScalarKernels.dotF16(d, o, x, 0, n)),
          dots((d, o, n, x) -> VectorKernels.dotF16(d, o, x, 0, n)),
          reads((d, o, n, out) -> ScalarKernels.readF16(d, o, out, 0, n)),
          reads((d, o, n, out) -> VectorKernels.readF16(d, o, out, 0, n))),
      new Kernel("BF16", 1, 2,
          dots((d, o, n, x) -> ScalarKernels.dotBF16(d, o, x, 0, n)),
          dots((d, o, n, x) -> VectorKernels.dotBF16(d, o, x, 0, n)),
          reads((d, o, n, out) -> ScalarKernels.readBF16(d, o, out, 0, n)),
          reads((d, o, n, out) -> VectorKernels.readBF16(d, o, out, 0, n))),
      new Kernel("Q8_0", 32, 34,
          dots((d, o, n, x) -> ScalarKernels.dotQ8_0(d, o, n / 32, x, 0)),
          dots((d, o, n, x) -> VectorKernels.dotQ8_0(d, o, n / 32, x, 0)),
          reads((d, o, n, out) -> ScalarKernels.readQ8_0(d, o, n / 32, out, 0)),
          reads((d, o, n, out) -> VectorKernels.readQ8_0(d, o, n / 32, out, 0))),
      new Kernel("Q4_0", 32, 18,
          dots((d, o, n, x) -> ScalarKernels.dotQ4_0(d, o, n / 32, x, 0)),
          dots((d, o, n, x) -> VectorKernels.dotQ4_0(d, o, n / 32, x, 0)),
          reads((d, o, n, out) -> ScalarKernels.readQ4_0(d, o, n / 32, out, 0)),
          reads((d, o, n, out) -> VectorKernels.readQ4_0(d, o, n / 32, out, 0))),
      new Kernel("Q4_K", 256, 144,
          dots((d, o, n, x) -> ScalarKernels.dotQ4_K(d, o, n / 256, x, 0)),
          dots((d, o, n, x) -> VectorKernels.dotQ4_K(d, o, n / 256, x, 0)),
          reads((d, o, n, out) -> ScalarKernels.readQ4_K(d, o, n / 256, out, 0)),
          reads((d, o, n, out) -> VectorKernels.readQ4_K(d, o, n / 256, out, 0))),
      new Kernel("Q6_K", 256, 210,
          dots((d, o, n, x) -> ScalarKernels.dotQ6_K(d, o, n / 256, x, 0)),
          dots((d, o, n, x) -> VectorKernels.dotQ6_K(d, o, n / 256, x, 0)),
          reads((d, o, n, out) -> ScalarKernels.readQ6_K(d, o, n / 256, out, 0)),
          reads((d, o, n, out) -> VectorKernels.readQ6_K(d, o, n / 256, out, 0))));

  /** Random weights with finite, moderate elements or scales. */
  private static MemorySegment weights(Arena arena, Kernel kernel, int rows, int columns, Random random) {
    long bytes = (long) rows * columns / kernel.blockSize() * kernel.blockBytes();
    MemorySegment data = arena.allocate(bytes, 64);
    byte[] chunk = new byte[1 << 16];
    for (long at = 0; at < bytes; at += chunk.length) {
      random.nextBytes(chunk);
      MemorySegment.copy(chunk, 0, data, ValueLayout.JAVA_BYTE, at, (int) Math.min(chunk.length, bytes - at));
    }
    var half = ScalarKernels.HALF;
    switch (kernel.type()) {
      case "F32" -> {
        for (long i = 0; i < bytes / 4; i++) {
          data.setAtIndex(ScalarKernels.FLOAT, i, (float) random.nextGaussian());
        }
      }
      case "F16" -> {
        for (long i = 0; i < bytes / 2; i++) {
          data.setAtIndex(half, i, Float.floatToFloat16((float) random.nextGaussian()));
        }
      }
      case "BF16" -> {
        for (long i = 0; i < bytes / 2; i++) {
          data.setAtIndex(half, i, (short) (Float.floatToIntBits((float) random.nextGaussian()) >>> 16));
        }
      }
      default -> {
        int[] fields = switch (kernel.type()) {
          case "Q4_K" -> new int[] {0, 2};
          case "Q6_K" -> new int[] {208};
          default -> new int[] {0};
        };
        for (long block = 0; block < bytes; block += kernel.blockBytes()) {
          for (int field : fields) {
            data.set(half, block + field, Float.floatToFloat16(0.01f * (1 + random.nextFloat())));
          }
        }
      }
    }
    return data;
  }

  /**
   * Fastest of {@code passes} timed passes after as many untimed ones, in ns: the machine may be
   * shared, and other work only ever adds time.
   */
  private static double time(Pass pass, MemorySegment data, long rowBytes, int rows, int columns, float[] x,
      float[] out, int passes) {
    float sink = 0f;
    for (int p = 0; p < passes; p++) {
      sink += pass.run(data, rowBytes, rows, columns, x, out);
    }
    long[] times = new long[passes];
    for (int p = 0; p < passes; p++) {
      long start = System.nanoTime();
      sink += pass.run(data, rowBytes, rows, columns, x, out);
      times[p] = System.nanoTime() - start;
    }
    if (sink == 12345.678f) {
      System.out.print("");
    }
    Arrays.sort(times);
    return times[0];
  }

  public static void main(String[] args) {
    int rows = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
    int columns = args.length > 1 ? Integer.parseInt(args[1]) : 4096;
    int passes = args.length > 2 ? Integer.parseInt(args[2]) : 15;
    String only = args.length > 3 ? args[3] : "";
    System.out.printf("%d x %d, %d passes, vector bits %d (%s %s)%n", rows, columns, passes, VectorKernels.VECTOR_BITS,
        System.getProperty("java.vm.name"), System.getProperty("java.vm.version"));
    System.out.printf("%-5s %7s | %9s %8s | %9s %8s | %7s | %9s %9s%n", "type", "MB", "scalar ns", "GB/s", "vector ns",
        "GB/s", "speedup", "read s ns", "read v ns");
    Random random = new Random(42);
    float[] x = new float[columns];
    for (int i = 0; i < columns; i++) {
      x[i] = (float) random.nextGaussian();
    }
    float[] out = new float[Math.max(rows, columns)];
    for (Kernel kernel : KERNELS) {
      if (!only.isEmpty() && !only.contains(kernel.type())) {
        continue;
      }
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment data = weights(arena, kernel, rows, columns, random);
        long rowBytes = (long) columns / kernel.blockSize() * kernel.blockBytes();
        double scalar = time(kernel.scalarDot(), data, rowBytes, rows, columns, x, out, passes) / rows;
        double vector = time(kernel.vectorDot(), data, rowBytes, rows, columns, x, out, passes) / rows;
        float[] row = new float[columns];
        double scalarRead = time(kernel.scalarRead(), data, rowBytes, rows, columns, row, out, passes) / rows;
        double vectorRead = time(kernel.vectorRead(), data, rowBytes, rows, columns, row, out, passes) / rows;
        System.out.printf("%-5s %7.1f | %9.1f %8.2f | %9.1f %8.2f | %6.1fx | %9.1f %9.1f%n", kernel.type(),
            data.byteSize() / 1e6, scalar, rowBytes / scalar, vector, rowBytes / vector, scalar / vector, scalarRead,
            vectorRead);
      }
    }
  }
}
