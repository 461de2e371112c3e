package dev.kiln;

/** The normalization applied before attention, before the MLP and before the LM head. */
public enum NormKind {
  /** Llama's RMSNorm: {@code x / sqrt(mean(x^2) + rmsNormEps) * weight}. */
  RMS_NORM,
  /** No normalization (and no norm weights). */
  NONE
}
