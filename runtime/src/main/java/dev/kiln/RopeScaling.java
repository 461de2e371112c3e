package dev.kiln;

/** How RoPE frequencies are rescaled ({@code rope_scaling.rope_type}). */
public enum RopeScaling {
  /** The frequencies {@code ropeTheta^(-2i / headDim)} as they are. */
  NONE,
  /** Every frequency divided by {@code ropeScalingFactor} ({@code "linear"}). */
  LINEAR,
  /**
   * Llama 3.1's scaling ({@code "llama3"}): with wavelength {@code 2 pi / f} and {@code orig =
   * ropeScalingOriginalMaxPositionEmbeddings}, wavelengths below {@code orig / highFreqFactor} keep
   * their frequency, those above {@code orig / lowFreqFactor} are divided by the factor, and those
   * between are interpolated: {@code (1 - s) f / factor + s f} with {@code s = (orig / wavelength -
   * lowFreqFactor) / (highFreqFactor - lowFreqFactor)}.
   */
  LLAMA3
}
