package dev.kiln.examples;

import static com.google.common.truth.Truth.assertWithMessage;

/**
 * Comparison of logits with a stated tolerance: |actual - expected| <= RELATIVE x max(1, max
 * |expected|) over the row. A float32 decoder against the float64 interpreter lands below 1e-6 of
 * the row's scale on the test models (7e-7 at worst when this was written); 1e-5 leaves an order of
 * magnitude for accumulation in longer rows and deeper models while catching any real mistake (a
 * wrong mask, rotation, bias or cache slot moves logits by 1e-2 or more).
 */
final class Logits {
  static final double RELATIVE = 1e-5;

  private Logits() {}

  static double scale(float[] row) {
    double max = 1;
    for (float v : row) {
      max = Math.max(max, Math.abs(v));
    }
    return max;
  }

  static double maxAbsDifference(float[] actual, float[] expected) {
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs((double) actual[i] - expected[i]));
    }
    return worst;
  }

  static void assertClose(String what, float[] actual, float[] expected) {
    assertWithMessage(what + ": vocab size").that(actual.length).isEqualTo(expected.length);
    double tolerance = RELATIVE * scale(expected);
    double difference = maxAbsDifference(actual, expected);
    assertWithMessage(what + ": max |logit difference| %s exceeds %s", difference, tolerance)
        .that(difference <= tolerance)
        .isTrue();
  }
}
