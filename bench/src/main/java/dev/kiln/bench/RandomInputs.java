package dev.kiln.bench;

import dev.kiln.weights.Dtype;
import dev.kiln.weights.FloatTensor;
import dev.kiln.weights.Quantizer;
import dev.kiln.weights.WeightTensor;
import java.util.SplittableRandom;

/** The benchmarks' random operands. */
final class RandomInputs {
  private RandomInputs() {}

  /**
   * A rows x columns matrix of Gaussian weights with standard deviation 1/sqrt(columns) (as a
   * trained layer's), stored as {@code type} (F32, or quantized from it).
   */
  static WeightTensor matrix(String type, int rows, int columns, SplittableRandom random) {
    float[] values = new float[Math.multiplyExact(rows, columns)];
    double std = 1 / Math.sqrt(columns);
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (random.nextGaussian() * std);
    }
    FloatTensor f32 = FloatTensor.of("w", new long[] {rows, columns}, values);
    Dtype dtype = Dtype.valueOf(type);
    return dtype == Dtype.F32 ? f32 : Quantizer.quantize(f32, dtype);
  }

  /** {@code length} standard Gaussian values. */
  static float[] vector(int length, SplittableRandom random) {
    float[] values = new float[length];
    for (int i = 0; i < length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }
}
