package dev.kiln;

/**
 * Input a decoder cannot take: a token id outside the vocabulary, an empty prompt, too many
 * sequences.
 */
public final class InvalidInputException extends KilnException {
  private static final long serialVersionUID = 1L;

  public InvalidInputException(String message) {
    super(message);
  }
}
