package dev.kiln.bench;

import dev.kiln.kernel.Parallel;
import dev.kiln.weights.FloatTensor;
import dev.kiln.weights.WeightTensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Paired, alternating timing of one decode step's float32 projections (the stories110m shape: 12
 * layers of q, k, v, o, gate, up, down and the untied LM head, 438 MB) over the same weights held
 * three ways: on the Java heap (as {@code --random} makes them), memory-mapped from a file (as the
 * GGUF, llama2.c and safetensors readers map them, one slice per tensor), and mapped with the q and
 * k rows read in a permuted order (as GGUF and llama2.c files are read), and copied to memory
 * allocated off the heap. Each round times one pass of each chosen variant, in rotating order (wall
 * time, and the calling thread's CPU time), and the machine's read bandwidth ({@link
 * ReadBandwidth}) is measured in the same run. {@code -Dkiln.bench.variants=1} (a comma-separated
 * list of 0 heap, 1 mapped, 2 mapped with q/k permuted, 3 native copy; default all) times only
 * some: one variant per JVM keeps the other variants' segment classes out of the JIT's profile, as
 * in a real run. Run with
 *
 * <pre>
 * ./mvnw -q -o -pl runtime,bench -DskipTests package
 * java --add-modules jdk.incubator.vector -cp "bench/target/classes:runtime/target/classes" \
 *     dev.kiln.bench.PairedMappedF32 [rounds [file]]
 * </pre>
 */
public final class PairedMappedF32 {
  private PairedMappedF32() {}

  private static final int DIM = 768;
  private static final int FFN = 2048;
  private static final int LAYERS = 12;
  private static final int VOCAB = 32000;

  public static void main(String[] args) throws IOException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    Path file =
        Path.of(
            args.length > 1
                ? args[1]
                : System.getProperty("java.io.tmpdir") + "/kiln-paired-f32.bin");
    List<long[]> shapes = new ArrayList<>();
    for (int l = 0; l < LAYERS; l++) {
      shapes.add(new long[] {DIM, DIM}); // q
      shapes.add(new long[] {DIM, DIM}); // k
      shapes.add(new long[] {DIM, DIM}); // v
      shapes.add(new long[] {DIM, DIM}); // o
      shapes.add(new long[] {FFN, DIM}); // gate
      shapes.add(new long[] {FFN, DIM}); // up
      shapes.add(new long[] {DIM, FFN}); // down
    }
    shapes.add(new long[] {VOCAB, DIM}); // LM head
    var random = new SplittableRandom(42);
    List<float[]> values = new ArrayList<>();
    long offset = 0;
    long[] offsets = new long[shapes.size()];
    for (int m = 0; m < shapes.size(); m++) {
      float[] v = RandomInputs.vector((int) (shapes.get(m)[0] * shapes.get(m)[1]), random);
      values.add(v);
      offset = (offset + 31) / 32 * 32; // GGUF aligns tensors to 32 bytes
      offsets[m] = offset;
      offset += (long) v.length * Float.BYTES;
    }
    try (FileChannel channel =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.READ,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      for (int m = 0; m < shapes.size(); m++) {
        ByteBuffer buffer =
            ByteBuffer.allocate(values.get(m).length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values.get(m));
        channel.write(buffer, offsets[m]);
      }
    }
    MemorySegment mapped;
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), Arena.ofAuto());
    }
    String[] names = {"heap", "mapped", "mapped, q/k permuted", "native copy"};
    List<List<WeightTensor>> variants = new ArrayList<>();
    for (int v = 0; v < names.length; v++) {
      variants.add(new ArrayList<>());
    }
    long bytes = 0;
    for (int m = 0; m < shapes.size(); m++) {
      long[] shape = shapes.get(m);
      long size = shape[0] * shape[1] * Float.BYTES;
      bytes += size;
      variants.get(0).add(new FloatTensor("m" + m, shape, MemorySegment.ofArray(values.get(m))));
      FloatTensor slice = new FloatTensor("m" + m, shape, mapped.asSlice(offsets[m], size));
      variants.get(1).add(slice);
      boolean qk = m < LAYERS * 7 && m % 7 < 2;
      variants.get(2).add(qk ? slice.withRowOrder(permutation((int) shape[0])) : slice);
      MemorySegment copy = Arena.ofAuto().allocate(size, 64);
      copy.copyFrom(slice.data());
      variants.get(3).add(new FloatTensor("m" + m, shape, copy));
    }
    double bandwidthBefore = ReadBandwidth.measure(1L << 30, Parallel.THREADS, 5).bestGBps();
    System.out.printf(
        "%d matrices, %.1f MB per step, %d threads, %d rounds; read bandwidth %.1f GB/s%n",
        shapes.size(), bytes / 1e6, Parallel.THREADS, rounds, bandwidthBefore);
    float[] x = RandomInputs.vector(FFN, random);
    float[] out = new float[VOCAB];
    long[][] times = new long[names.length][rounds];
    long[][] cpu = new long[names.length][rounds];
    int[] chosen =
        Arrays.stream(System.getProperty("kiln.bench.variants", "0,1,2,3").split(","))
            .mapToInt(Integer::parseInt)
            .toArray();
    var threadBean = java.lang.management.ManagementFactory.getThreadMXBean();
    for (int round = -10; round < rounds; round++) {
      for (int k = 0; k < chosen.length; k++) {
        int v = chosen[Math.floorMod(round + k, chosen.length)];
        long cpuStart = threadBean.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        step(variants.get(v), x, out);
        long time = System.nanoTime() - start;
        long cpuTime = threadBean.getCurrentThreadCpuTime() - cpuStart;
        if (round >= 0) {
          times[v][round] = time;
          cpu[v][round] = cpuTime;
        }
      }
    }
    double bandwidthAfter = ReadBandwidth.measure(1L << 30, Parallel.THREADS, 5).bestGBps();
    double bandwidth = Math.max(bandwidthBefore, bandwidthAfter);
    System.out.printf(
        "read bandwidth %.1f GB/s (start %.1f, end %.1f)%n",
        bandwidth, bandwidthBefore, bandwidthAfter);
    for (long[] t : times) {
      Arrays.sort(t);
    }
    for (long[] t : cpu) {
      Arrays.sort(t);
    }
    for (int v : chosen) {
      double best = times[v][0] / 1e6;
      double median = times[v][rounds / 2] / 1e6;
      System.out.printf(
          "%-22s best %.2f ms (%.1f GB/s, %.0f%% of bandwidth) median %.2f ms | best vs heap %.3f, median"
              + " vs heap %.3f%n",
          names[v],
          best,
          bytes / best / 1e6,
          100 * bytes / best / 1e6 / bandwidth,
          median,
          (double) times[0][0] / times[v][0],
          (double) times[0][rounds / 2] / times[v][rounds / 2]);
      System.out.printf(
          "%-22s calling thread's cpu: best %.2f ms median %.2f ms%n",
          "", cpu[v][0] / 1e6, cpu[v][rounds / 2] / 1e6);
    }
    Files.deleteIfExists(file);
  }

  /** Rows of each 64-row head in the interleaved order GGUF's q/k permutation produces. */
  private static int[] permutation(int rows) {
    int[] order = new int[rows];
    int head = 64;
    for (int r = 0; r < rows; r++) {
      int h = r / head;
      int i = r % head;
      order[r] = h * head + (i < head / 2 ? 2 * i : 2 * (i - head / 2) + 1);
    }
    return order;
  }

  private static void step(List<WeightTensor> matrices, float[] x, float[] out) {
    for (WeightTensor w : matrices) {
      int rows = (int) w.rows();
      int n = (int) w.columns();
      Parallel.forRange(
          rows,
          Parallel.minChunk(n),
          (first, last) -> w.dotRowRange(first, last, x, 0, out, first));
    }
  }
}
