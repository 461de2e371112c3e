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
 * One matrix-vector product, {@code out[r] = W[r] . x} for every row r, through {@link
 * WeightTensor#dot} (the kernel generated decoders call), for each weight type. The default 4096 x
 * 4096 matrix is 64 MiB in F32 and fits a large L3 cache; pass {@code -p rows=32768} for a matrix
 * well beyond it (memory-bound). Bytes read per operation: rows x columns x bytes per element (F32
 * 4, F16/BF16 2, Q8_0 34/32, Q4_0 18/32).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class MatVecBenchmark {
  @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0"})
  public String type;

  @Param({"4096"})
  public int rows;

  @Param({"4096"})
  public int columns;

  private WeightTensor weight;
  private float[] vector;
  private float[] out;

  @Setup(Level.Trial)
  public void setUp() {
    var random = new SplittableRandom(42);
    weight = RandomInputs.matrix(type, rows, columns, random);
    vector = RandomInputs.vector(columns, random);
    out = new float[rows];
  }

  /** All rows of the matrix times the vector; returns the output so nothing is optimized away. */
  @Benchmark
  public float[] matVec() {
    for (int r = 0; r < rows; r++) {
      out[r] = weight.dot(r, vector, 0);
    }
    return out;
  }
}
