package dev.kiln.bench;

import dev.kiln.kernel.QuantizedRows;
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
 * The float and the integer (8-bit inputs) dot products of Q8_0 and Q4_0 weights, one thread's
 * projection as the generated decoders run it: {@code inputs = 1} is a decode step ({@code
 * dotRowRange} over all rows), more is batched decode ({@code dotRowBlock}, four weight rows at a
 * time). The int8 path quantizes the inputs once per call, inside the timed method.
 *
 * <p>768 columns (the stories110m shape's hidden size); {@code rows = 256} stays in the L2 cache
 * (the arithmetic alone), {@code rows = 65536} (53 MB of Q8_0, 28 MB of Q4_0) comes from memory or
 * the L3 cache. {@code mode} is a parameter, so one run measures both paths with the same weights,
 * in alternating forks when {@code -f} is more than one.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class QuantizedDotBenchmark {
  @Param({"Q8_0", "Q4_0"})
  public String type;

  @Param({"FLOAT", "INT8"})
  public String mode;

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
  private boolean int8;

  @Setup(Level.Trial)
  public void setUp() {
    var random = new SplittableRandom(42);
    weight = RandomInputs.matrix(type, rows, columns, random);
    x = RandomInputs.vector(inputs * columns, random);
    out = new float[rows];
    block = new float[4 * inputs];
    int8 = QuantizedRows.Mode.valueOf(mode) == QuantizedRows.Mode.INT8;
  }

  /** All rows times the inputs; returns the output so nothing is optimized away. */
  @Benchmark
  public float[] project() {
    QuantizedRows xq = int8 ? QuantizedRows.quantize(x, 0, columns, inputs, columns) : null;
    if (inputs == 1) {
      weight.dotRowRange(0, rows, x, 0, xq, 0, out, 0);
      return out;
    }
    for (int r = 0; r < rows; r += 4) {
      weight.dotRowBlock(r, 4, x, 0, columns, inputs, xq, block);
      out[r] = block[0];
    }
    return out;
  }
}
