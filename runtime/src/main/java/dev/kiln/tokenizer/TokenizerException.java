package dev.kiln.tokenizer;

import dev.kiln.KilnException;

/**
 * A tokenizer that cannot be read (its message names the file and the key, field or offset), or
 * text that a tokenizer cannot encode (a character with no token, no byte token and no unknown
 * token).
 */
public final class TokenizerException extends KilnException {
  private static final long serialVersionUID = 1L;

  public TokenizerException(String message) {
    super(message);
  }

  public TokenizerException(String message, Throwable cause) {
    super(message, cause);
  }
}
