package dev.kiln.cli;

import java.util.Locale;

/**
 * Text from an untrusted file (GGUF metadata, names in error messages) made safe for a terminal:
 * control characters (C0, DEL, C1) and the bidirectional formatting characters are written as
 * {@code \xNN} or {@code \}{@code uNNNN} escapes, so no escape sequence in a file reaches the
 * terminal and no text is reordered or hidden.
 */
final class Sanitize {
  private Sanitize() {}

  /**
   * {@code text} with every control character escaped, line breaks included (one value, one line).
   */
  static String text(String text) {
    return escape(text, false);
  }

  /** An error message: control characters escaped, but its own line breaks kept. */
  static String message(String message) {
    return message == null ? "null" : escape(message, true);
  }

  private static String escape(String text, boolean keepNewlines) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean unsafe =
          (c < 0x20 && !(keepNewlines && c == '\n'))
              || (c >= 0x7f && c <= 0x9f)
              || (c >= 0x202a && c <= 0x202e)
              || (c >= 0x2066 && c <= 0x2069)
              || c == 0x200e
              || c == 0x200f
              || c == 0x061c
              || c == 0x2028
              || c == 0x2029;
      if (unsafe && out == null) {
        out = new StringBuilder(text.length() + 16).append(text, 0, i);
      }
      if (out != null) {
        if (unsafe) {
          out.append(
              c <= 0xff
                  ? String.format(Locale.ROOT, "\\x%02X", (int) c)
                  : String.format(Locale.ROOT, "\\u%04X", (int) c));
        } else {
          out.append(c);
        }
      }
    }
    return out == null ? text : out.toString();
  }
}
