package dev.kiln;

/** Which layers attend through the sliding window of {@code slidingWindow} positions. */
public enum SlidingWindowLayers {
  /** Every layer (Mistral). */
  ALL,
  /** Layers 0, 2, 4, ...; the others attend to every earlier position (Gemma 2). */
  EVEN
}
