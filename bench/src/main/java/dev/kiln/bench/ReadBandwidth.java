package dev.kiln.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's streaming read bandwidth, as a decoder step sees it: a large off-heap buffer (much
 * bigger than the last-level cache) is split into one slice per thread, and each thread sums its
 * slice of floats with the Vector API (four independent accumulators, so the loop waits on memory,
 * not on additions). The best of several passes is reported. A memory-bound decoder step cannot
 * read its weights faster than this, so {@link BenchRunner} reports its achieved bandwidth as a
 * fraction of it.
 */
public final class ReadBandwidth {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  /** Keeps the sums alive so the loops cannot be optimized away. */
  private static volatile float sink;

  private ReadBandwidth() {}

  /**
   * One measurement: bytes read per pass, threads, passes, and the best pass in GB/s (10^9
   * bytes/s).
   */
  public record Result(long bytes, int threads, int passes, double bestGBps, double medianGBps) {}

  /**
   * Reads {@code bytes} (rounded down to whole vectors per thread) with {@code threads} threads,
   * {@code passes} times, after one untimed pass that also touches every page.
   */
  public static Result measure(long bytes, int threads, int passes) {
    if (threads < 1 || passes < 1) {
      throw new IllegalArgumentException("threads and passes must be positive");
    }
    long chunk = (long) SPECIES.vectorByteSize() * 4;
    long slice = bytes / threads / chunk * chunk;
    if (slice == 0) {
      throw new IllegalArgumentException(bytes + " bytes are too few for " + threads + " threads");
    }
    double[] gbps = new double[passes];
    ExecutorService pool =
        Executors.newFixedThreadPool(
            threads,
            runnable -> {
              Thread thread = new Thread(runnable, "kiln-bench-read");
              thread.setDaemon(true);
              return thread;
            });
    try (Arena arena = Arena.ofShared()) {
      MemorySegment buffer = arena.allocate(slice * threads, 64);
      buffer.fill((byte) 0x3c); // 0x3c3c3c3c: a small positive float; also faults every page in
      List<MemorySegment> slices = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        slices.add(buffer.asSlice(t * slice, slice));
      }
      pass(pool, slices); // warm-up: compiles the loop
      for (int p = 0; p < passes; p++) {
        long start = System.nanoTime();
        pass(pool, slices);
        long nanos = System.nanoTime() - start;
        gbps[p] = buffer.byteSize() / (double) nanos;
      }
      java.util.Arrays.sort(gbps);
      return new Result(buffer.byteSize(), threads, passes, gbps[passes - 1], gbps[passes / 2]);
    } finally {
      pool.shutdownNow();
    }
  }

  private static void pass(ExecutorService pool, List<MemorySegment> slices) {
    List<Future<Float>> sums = new ArrayList<>();
    for (MemorySegment slice : slices) {
      sums.add(pool.submit(() -> sum(slice)));
    }
    float total = 0;
    try {
      for (Future<Float> sum : sums) {
        total += sum.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
    sink += total;
  }

  /** Floats summed per inner loop: offsets that an int counter can index. */
  private static final long PIECE_BYTES = 256L << 20;

  /**
   * Sum of the floats of {@code slice}, whose size is a multiple of four vectors: in pieces of at
   * most 256 MiB, each read by an int-counted loop with two accumulators, the loop shape of the
   * float32 row kernels ({@code VectorDot.dotRows}). The previous loop (a long byte offset, four
   * accumulators) read 15.8-19.0 GB/s on one thread where this one read 19.2-20.0 and a C loop
   * ({@code gcc -Ofast -march=native}) 19.7, in the same session; a probe that reads slower than
   * the kernels would overstate their share of the bandwidth.
   */
  static float sum(MemorySegment slice) {
    int lanes = SPECIES.length();
    ByteOrder order = ByteOrder.nativeOrder();
    FloatVector a = FloatVector.zero(SPECIES);
    FloatVector b = FloatVector.zero(SPECIES);
    for (long start = 0; start < slice.byteSize(); start += PIECE_BYTES) {
      MemorySegment piece = slice.asSlice(start, Math.min(PIECE_BYTES, slice.byteSize() - start));
      int floats = (int) (piece.byteSize() / Float.BYTES);
      for (int i = 0; i <= floats - 2 * lanes; i += 2 * lanes) {
        a = a.add(FloatVector.fromMemorySegment(SPECIES, piece, (long) i * Float.BYTES, order));
        b =
            b.add(
                FloatVector.fromMemorySegment(
                    SPECIES, piece, (long) (i + lanes) * Float.BYTES, order));
      }
    }
    return a.add(b).reduceLanes(VectorOperators.ADD);
  }
}
