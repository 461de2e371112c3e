package dev.kiln.bench;

import dev.kiln.weights.Dtype;
import dev.kiln.weights.WeightTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One decode step's LM head (32000 x 768, the stories110m shape) stored as {@code TYPE}, in native
 * memory (as a mapped file holds it), multiplied by one input on the calling thread: the best and
 * median of {@code ROUNDS} passes of the thread's CPU time (less sensitive to other load on a
 * shared machine than wall time). Meant to be run once per type and per build, alternating. Run
 * with
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp "bench/target/classes:runtime/target/classes" \
 *     dev.kiln.bench.LmHeadSpeed TYPE ROUNDS
 * </pre>
 */
public final class LmHeadSpeed {
  private LmHeadSpeed() {}

  public static void main(String[] args) {
    String type = args[0];
    int rounds = Integer.parseInt(args[1]);
    int rows = 32000;
    int columns = 768;
    var random = new SplittableRandom(42);
    MemorySegment data;
    if (type.equals(
        "Q6_K")) { // no quantizer: random bytes, with each block's scale d (at byte 208) a small
      // float16
      data = Arena.ofAuto().allocate((long) rows * columns / 256 * 210, 64);
      for (long i = 0; i < data.byteSize(); i++) {
        data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
      }
      for (long block = 0; block < data.byteSize(); block += 210) {
        data.set(
            java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED,
            block + 208,
            Float.floatToFloat16(0.001f));
      }
    } else {
      WeightTensor heap = RandomInputs.matrix(type, rows, columns, random);
      data = Arena.ofAuto().allocate(heap.data().byteSize(), 64);
      data.copyFrom(heap.data());
    }
    WeightTensor head =
        WeightTensor.of("head", new long[] {rows, columns}, Dtype.valueOf(type), data);
    float[] x = RandomInputs.vector(columns, random);
    float[] out = new float[rows];
    var bean = java.lang.management.ManagementFactory.getThreadMXBean();
    long[] cpu = new long[rounds];
    for (int round = -20; round < rounds; round++) {
      long start = bean.getCurrentThreadCpuTime();
      head.dotRowRange(0, rows, x, 0, out, 0);
      if (round >= 0) {
        cpu[round] = bean.getCurrentThreadCpuTime() - start;
      }
    }
    Arrays.sort(cpu);
    System.out.printf(
        "%s head %d x %d (%.1f MB): cpu best %.3f ms (%.1f GB/s) median %.3f ms%n",
        type,
        rows,
        columns,
        data.byteSize() / 1e6,
        cpu[0] / 1e6,
        data.byteSize() / (double) cpu[0],
        cpu[rounds / 2] / 1e6);
  }
}
