package dev.kiln.bench;

import dev.kiln.kernel.Parallel;
import dev.kiln.kernel.QuantizedRows;
import dev.kiln.weights.WeightTensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Paired, alternating timing of the float and int8 dot-product paths (for a shared, loaded machine,
 * where a JMH run's sequential trials see different load): a projection over {@code rows x 768}
 * Q8_0 and Q4_0 weights split across {@link Parallel}'s threads (as a decode step splits it), at 1
 * and 4 inputs; each round times one pass of each path back to back, in alternating order; prints
 * the best and median pass of each and their ratios. Not a JMH benchmark; run with
 *
 * <pre>
 * ./mvnw -q -pl bench -am -DskipTests package
 * java --add-modules jdk.incubator.vector -Dkiln.threads=2 -cp "bench/target/classes:runtime/target/classes" \
 *     dev.kiln.bench.PairedQuantizedDot [rows [rounds]]
 * </pre>
 */
public final class PairedQuantizedDot {
  private PairedQuantizedDot() {}

  public static void main(String[] args) {
    int rows =
        args.length > 0
            ? Integer.parseInt(args[0])
            : 98304; // 75 M weights: about a stories110m step's matrices
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 30;
    int columns = 768;
    System.out.printf(
        "rows %d x %d, %d threads, %d rounds%n", rows, columns, Parallel.THREADS, rounds);
    for (String type : new String[] {"Q8_0", "Q4_0"}) {
      var random = new SplittableRandom(42);
      WeightTensor weight = RandomInputs.matrix(type, rows, columns, random);
      long bytes = weight.data().byteSize();
      for (int inputs : new int[] {1, 4}) {
        float[] x = RandomInputs.vector(inputs * columns, random);
        float[] out = new float[rows * inputs];
        long[][] times = new long[2][rounds];
        for (int round = -3; round < rounds; round++) {
          for (int k = 0; k < 2; k++) {
            int path = (round & 1) == 0 ? k : 1 - k;
            long start = System.nanoTime();
            pass(weight, path == 1, x, inputs, columns, out);
            long time = System.nanoTime() - start;
            if (round >= 0) {
              times[path][round] = time;
            }
          }
        }
        Arrays.sort(times[0]);
        Arrays.sort(times[1]);
        double bestFloat = times[0][0] / 1e6;
        double bestInt = times[1][0] / 1e6;
        double medianFloat = times[0][rounds / 2] / 1e6;
        double medianInt = times[1][rounds / 2] / 1e6;
        System.out.printf(
            "%s inputs %d: float best %.3f ms (%.1f GB/s) median %.3f | int8 best %.3f ms (%.1f GB/s)"
                + " median %.3f | int8 speedup best %.2fx median %.2fx%n",
            type,
            inputs,
            bestFloat,
            bytes / bestFloat / 1e6,
            medianFloat,
            bestInt,
            bytes / bestInt / 1e6,
            medianInt,
            bestFloat / bestInt,
            medianFloat / medianInt);
      }
    }
  }

  private static void pass(
      WeightTensor weight, boolean int8, float[] x, int inputs, int columns, float[] out) {
    QuantizedRows xq = int8 ? QuantizedRows.quantize(x, 0, columns, inputs, columns) : null;
    int rows = (int) weight.rows();
    Parallel.forRange(
        rows,
        Parallel.minChunk((long) columns * inputs),
        (first, last) -> {
          if (inputs == 1) {
            weight.dotRowRange(first, last, x, 0, xq, 0, out, first);
            return;
          }
          float[] block = new float[4 * inputs];
          for (int r = first; r < last; r += 4) {
            int size = Math.min(4, last - r);
            weight.dotRowBlock(r, size, x, 0, columns, inputs, xq, block);
            System.arraycopy(block, 0, out, r * inputs, size * inputs);
          }
        });
  }
}
