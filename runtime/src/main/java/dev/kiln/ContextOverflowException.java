package dev.kiln;

/**
 * Feeding more positions than the KV cache (and the model's {@code maxPositionEmbeddings}) holds.
 */
public final class ContextOverflowException extends KilnException {
  private static final long serialVersionUID = 1L;

  public ContextOverflowException(String message) {
    super(message);
  }
}
