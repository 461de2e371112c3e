package dev.kiln.weights;

import dev.kiln.RopeScaling;
import dev.kiln.spec.RopeFrequencies;
import dev.kiln.spec.SpecElement;
import java.util.EnumMap;
import java.util.Map;

/**
 * The RoPE scaling a GGUF {@code rope_freqs} tensor describes. llama.cpp writes Llama 3.1 scaling
 * as one divisor per frequency (the unscaled frequency over the scaled one) and no keys, so the
 * spec's llama3 parameters are recovered from the divisors:
 *
 * <ul>
 *   <li>all divisors 1: no scaling; all equal: linear scaling by that factor;
 *   <li>otherwise the factor is the largest divisor, and the divisors strictly between 1 and the
 *       factor (the interpolated band) give the band's edges: there the interpolation weight {@code
 *       s = (1/d - 1/factor) / (1 - 1/factor)} is linear in {@code 1/wavelength}, 0 at {@code
 *       original / lowFreqFactor} and 1 at {@code original / highFreqFactor}. Only those two ratios
 *       act on the frequencies, so {@code lowFreqFactor} is taken as 1 (Llama 3.1's value) and
 *       {@code original} is the band's upper edge.
 * </ul>
 *
 * The recovered values are rounded (the context to an integer, the factors to 4 decimals) and must
 * reproduce every divisor to a relative 1e-4, else the tensor is refused: it is not llama3 scaling.
 */
final class RopeFreqsFit {
  private static final double SAME = 1e-5;
  private static final double REPRODUCE = 1e-4;

  private RopeFreqsFit() {}

  /**
   * The spec elements of the scaling; throws IllegalArgumentException saying why the divisors fit
   * none.
   */
  static Map<SpecElement, Object> fit(float[] divisors, double theta, int headDim) {
    Map<SpecElement, Object> spec = new EnumMap<>(SpecElement.class);
    double factor = 0;
    boolean allOne = true;
    for (float d : divisors) {
      if (!(Float.isFinite(d) && d >= 1f - SAME)) {
        throw new IllegalArgumentException(
            "divisor " + d + " is not a finite number of at least 1");
      }
      factor = Math.max(factor, d);
      allOne &= Math.abs(d - 1) <= SAME;
    }
    if (allOne) {
      return spec;
    }
    double[] frequencies = new double[divisors.length];
    for (int i = 0; i < divisors.length; i++) {
      frequencies[i] = Math.pow(theta, -2.0 * i / headDim);
    }
    factor = round(factor, 1e4);
    boolean allFactor = true;
    for (float d : divisors) {
      allFactor &= Math.abs(d - factor) <= SAME * factor;
    }
    if (allFactor) {
      spec.put(SpecElement.ROPE_SCALING, RopeScaling.LINEAR);
      spec.put(SpecElement.ROPE_SCALING_FACTOR, factor);
      return spec;
    }
    // Least squares of s over x = 1 / wavelength in the interpolated band.
    double n = 0;
    double sx = 0;
    double sy = 0;
    double sxx = 0;
    double sxy = 0;
    for (int i = 0; i < divisors.length; i++) {
      double d = divisors[i];
      if (Math.abs(d - 1) <= SAME || Math.abs(d - factor) <= SAME * factor) {
        continue;
      }
      double x = frequencies[i] / (2 * Math.PI);
      double y = (1 / d - 1 / factor) / (1 - 1 / factor);
      n++;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    if (n < 2) {
      throw new IllegalArgumentException(
          "its divisors (largest "
              + factor
              + ") have "
              + (int) n
              + " value"
              + (n == 1 ? "" : "s")
              + " between 1 and the factor; llama3 scaling parameters need at least 2 to be recovered");
    }
    double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    double intercept = (sy - slope * sx) / n;
    double lowEdge = -slope / intercept; // wavelength where s = 0: original / lowFreqFactor
    double highEdge = slope / (1 - intercept); // wavelength where s = 1: original / highFreqFactor
    int original = (int) Math.round(lowEdge);
    double high = round(original / highEdge, 1e4);
    if (!(original > 0 && high > 1)) {
      throw new IllegalArgumentException(
          "its divisors do not follow llama3 scaling (band edges "
              + lowEdge
              + ", "
              + highEdge
              + ")");
    }
    for (int i = 0; i < divisors.length; i++) {
      double expected =
          frequencies[i]
              / RopeFrequencies.scaled(
                  RopeScaling.LLAMA3, factor, 1.0, high, original, frequencies[i]);
      if (Math.abs(expected - divisors[i]) > REPRODUCE * expected) {
        throw new IllegalArgumentException(
            "its divisors do not follow llama3 scaling: the closest parameters (factor "
                + factor
                + ", low_freq_factor 1, high_freq_factor "
                + high
                + ", original_max_position_embeddings "
                + original
                + ") give "
                + expected
                + " for frequency "
                + i
                + ", the file "
                + divisors[i]);
      }
    }
    spec.put(SpecElement.ROPE_SCALING, RopeScaling.LLAMA3);
    spec.put(SpecElement.ROPE_SCALING_FACTOR, factor);
    spec.put(SpecElement.ROPE_SCALING_LOW_FREQ_FACTOR, 1.0);
    spec.put(SpecElement.ROPE_SCALING_HIGH_FREQ_FACTOR, high);
    spec.put(SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS, original);
    return spec;
  }

  private static double round(double value, double scale) {
    return Math.round(value * scale) / scale;
  }
}
