package dev.kiln.server;

/** A request the server refuses, answered with {@code status} and OpenAI's error object. */
final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  final int status;
  final String type;
  final String param;
  final String code;

  ApiException(int status, String type, String param, String code, String message) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }

  /** A 400 invalid_request_error about {@code param}. */
  static ApiException invalid(String param, String message) {
    return new ApiException(400, "invalid_request_error", param, null, message);
  }

  /** A 400 for a field Kiln does not implement (never silently ignored). */
  static ApiException unsupported(String param, String message) {
    return new ApiException(400, "invalid_request_error", param, "unsupported_parameter", message);
  }
}
