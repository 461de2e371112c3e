package dev.kiln.weights;

import dev.kiln.KilnException;

/**
 * A weight file that cannot be read, or does not fit the spec. The message names the file and the
 * tensor.
 */
public final class WeightLoadException extends KilnException {
  private static final long serialVersionUID = 1L;

  public WeightLoadException(String message) {
    super(message);
  }

  public WeightLoadException(String message, Throwable cause) {
    super(message, cause);
  }
}
