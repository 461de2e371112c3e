package dev.kiln;

/**
 * A problem with what the user gave Kiln (a spec, a file, an input), as opposed to a bug in Kiln.
 * The message names the problem and the place.
 */
public class KilnException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public KilnException(String message) {
    super(message);
  }

  public KilnException(String message, Throwable cause) {
    super(message, cause);
  }
}
