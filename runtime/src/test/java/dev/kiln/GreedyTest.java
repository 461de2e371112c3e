package dev.kiln;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Greedy next-token choice: first index on ties, NaN never chosen. */
class GreedyTest {
  private static final float NAN = Float.NaN;

  @Test
  void largestLogit() {
    assertThat(Greedy.argmax(new float[] {0.1f, 3f, -2f, 2.9f})).isEqualTo(1);
    assertThat(Greedy.argmax(new float[] {-5f, -4f, -6f})).isEqualTo(1);
    assertThat(Greedy.argmax(new float[] {7f})).isEqualTo(0);
    assertThat(Greedy.argmax(new float[] {1f, 2f, 3f, 4f, 5f})).isEqualTo(4);
  }

  @Test
  void tiesPickTheLowestIndex() {
    assertThat(Greedy.argmax(new float[] {1f, 5f, 5f, 5f})).isEqualTo(1);
    assertThat(Greedy.argmax(new float[] {2f, 2f})).isEqualTo(0);
    assertThat(Greedy.argmax(new float[] {0f, -0f})).isEqualTo(0);
    assertThat(Greedy.argmax(new float[] {-0f, 0f})).isEqualTo(0);
    assertThat(Greedy.argmax(new float[] {1f, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY}))
        .isEqualTo(1);
  }

  @Test
  void nanIsNeverChosen() {
    assertThat(Greedy.argmax(new float[] {NAN, 1f, 2f})).isEqualTo(2);
    assertThat(Greedy.argmax(new float[] {1f, NAN, 0f})).isEqualTo(0);
    assertThat(Greedy.argmax(new float[] {NAN, NAN, -3f, NAN})).isEqualTo(2);
    assertThat(Greedy.argmax(new float[] {NAN, Float.NEGATIVE_INFINITY})).isEqualTo(1);
  }

  @Test
  void infinities() {
    assertThat(Greedy.argmax(new float[] {Float.MAX_VALUE, Float.POSITIVE_INFINITY})).isEqualTo(1);
    assertThat(Greedy.argmax(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}))
        .isEqualTo(0);
  }

  @Test
  void nothingToChooseFrom() {
    var allNan =
        assertThrows(IllegalArgumentException.class, () -> Greedy.argmax(new float[] {NAN, NAN}));
    assertThat(allNan)
        .hasMessageThat()
        .isEqualTo("no logit to choose from (2 logits, all NaN or none)");
    var none = assertThrows(IllegalArgumentException.class, () -> Greedy.argmax(new float[0]));
    assertThat(none).hasMessageThat().contains("0 logits");
  }

  @Test
  void batchPicksPerSequence() {
    assertThat(Greedy.argmax(new float[][] {{0f, 1f}, {3f, 3f}, {NAN, -1f}}))
        .isEqualTo(new int[] {1, 0, 1});
    assertThat(Greedy.argmax(new float[0][])).isEmpty();
  }
}
