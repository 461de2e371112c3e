package dev.kiln.bench;

import dev.kiln.weights.WeightTensor;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One thread's share of a projection as the generated decoders run it: a one-row decode step
 * ({@code inputs = 1}: {@link WeightTensor#dotRowRange} over all rows) or a block of {@code inputs}
 * rows ({@link WeightTensor#dotRowBlock}, four weight rows at a time: batched decode with 4, a
 * prefill chunk with 64).
 *
 * <p>{@code rows = 256} (0.8 MB of F32 at 768 columns) stays in the L2 cache: the arithmetic alone.
 * {@code rows = 65536} (201 MB) comes from memory. Comparing the four figures shows whether the
 * memory reads overlap the arithmetic: on the 2-core build machine they do not (time from memory at
 * 4 inputs is about the time from memory at 1 input plus the in-cache time at 4 inputs).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class RowBlockBenchmark {
  @Param({"F32", "Q8_0"})
  public String type;

  @Param({"256", "65536"})
  public int rows;

  @Param({"768"})
  public int columns;

  @Param({"1", "4"})
  public int inputs;

  private WeightTensor weight;
  private float[] x;
  private float[] out;
  private float[] block;

  @Setup(Level.Trial)
  public void setUp() {
    var random = new SplittableRandom(42);
    weight = RandomInputs.matrix(type, rows, columns, random);
    x = RandomInputs.vector(inputs * columns, random);
    out = new float[rows];
    block = new float[4 * inputs];
  }

  /**
   * All rows times the inputs (each weight read once for all of them); returns the output so
   * nothing is optimized away.
   */
  @Benchmark
  public float[] project() {
    if (inputs == 1) {
      weight.dotRowRange(0, rows, x, 0, out, 0);
      return out;
    }
    for (int r = 0; r < rows; r += 4) {
      weight.dotRowBlock(r, 4, x, 0, columns, inputs, block);
      out[r] = block[0];
    }
    return out;
  }
}
