package dev.kiln;

/** The activation of the gated MLP, {@code down_proj(act(gate_proj(x)) * up_proj(x))}. */
public enum Activation {
  /** {@code x * sigmoid(x)} (Llama, Qwen: {@code "silu"}). */
  SILU,
  /**
   * GELU with the tanh approximation, {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))}
   * (Gemma: {@code "gelu_pytorch_tanh"}).
   */
  GELU_TANH
}
