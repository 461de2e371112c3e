package dev.kiln.processor;

import java.util.Locale;

/**
 * Messages of the processor itself (spec rules' messages are {@link dev.kiln.spec.SpecMessage}).
 */
enum ProcessorMessage {
  TARGET("Spec/Target", "@ModelSpec goes on a class or interface, not on %s %s"),
  INTERNAL(
      "Kiln/Internal",
      "Kiln failed generating code for %s; this is a bug in Kiln, please report it:%n%s");

  private final String tag;
  private final String format;

  ProcessorMessage(String tag, String format) {
    this.tag = tag;
    this.format = format;
  }

  String tag() {
    return tag;
  }

  String format(Object... args) {
    return "[" + tag + "] " + String.format(Locale.ROOT, format, args);
  }
}
