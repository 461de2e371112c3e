package dev.kiln.processor.backend.tornado;

/**
 * A kernel of the plan that TornadoVM cannot run as planned (too many task arguments, a shape
 * without a TornadoVM template): reported at build time, and the spec gets no TornadoVM decoder.
 */
public final class TornadoPlanException extends RuntimeException {
  public TornadoPlanException(String message) {
    super(message);
  }
}
