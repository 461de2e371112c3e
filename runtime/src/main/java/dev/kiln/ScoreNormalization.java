package dev.kiln;

/**
 * What is applied to the attention scores {@code q . k / sqrt(headDim)} before they weight the
 * values.
 */
public enum ScoreNormalization {
  /** Softmax over the attended positions. */
  SOFTMAX,
  /** Raw scaled scores (the seed's toy single-head model). */
  NONE
}
