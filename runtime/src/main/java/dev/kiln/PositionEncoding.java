package dev.kiln;

/** How positions enter attention. */
public enum PositionEncoding {
  /**
   * Rotary position embedding applied to q and k, rotating the two halves of each head (as Hugging
   * Face Llama).
   */
  ROPE,
  /** No position information. */
  NONE
}
