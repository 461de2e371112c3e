package dev.kiln;

/** The feed-forward block of each layer. */
public enum MlpKind {
  /** Llama's gated MLP: {@code down_proj(silu(gate_proj(x)) * up_proj(x))}. */
  SWIGLU,
  /** No MLP: a layer is attention only. */
  NONE
}
