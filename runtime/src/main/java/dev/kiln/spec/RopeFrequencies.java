package dev.kiln.spec;

import dev.kiln.RopeScaling;

/**
 * RoPE's per-pair frequencies {@code ropeTheta^(-2i / headDim)}, with the spec's scaling applied
 * ({@link RopeScaling}). The generated attention classes hold them as constants; the interpreter
 * and the loaders (which check a GGUF file's {@code rope_freqs} against them) compute them here.
 */
public final class RopeFrequencies {
  private RopeFrequencies() {}

  static double[] of(ResolvedSpec spec) {
    int pairs = spec.headDim() / 2;
    double[] frequencies = new double[pairs];
    for (int i = 0; i < pairs; i++) {
      frequencies[i] = scaled(spec, Math.pow(spec.ropeTheta(), -2.0 * i / spec.headDim()));
    }
    return frequencies;
  }

  private static double scaled(ResolvedSpec spec, double frequency) {
    return scaled(
        spec.ropeScaling(),
        spec.ropeScalingFactor(),
        spec.ropeScalingLowFreqFactor(),
        spec.ropeScalingHighFreqFactor(),
        spec.ropeScalingOriginalMaxPositionEmbeddings(),
        frequency);
  }

  /** One frequency after a scaling with the given parameters (named as the spec elements). */
  public static double scaled(
      RopeScaling scaling,
      double factor,
      double low,
      double high,
      double original,
      double frequency) {
    return switch (scaling) {
      case NONE -> frequency;
      case LINEAR -> frequency / factor;
      case LLAMA3 -> {
        double wavelength = 2 * Math.PI / frequency;
        if (wavelength < original / high) {
          yield frequency;
        }
        if (wavelength > original / low) {
          yield frequency / factor;
        }
        double smooth = (original / wavelength - low) / (high - low);
        yield (1 - smooth) * frequency / factor + smooth * frequency;
      }
    };
  }
}
