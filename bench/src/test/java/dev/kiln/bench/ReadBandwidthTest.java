package dev.kiln.bench;

import static com.google.common.truth.Truth.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class ReadBandwidthTest {
  /**
   * The probe's sum reads every float of its slice once: small integers (exact in float) whose
   * total is known, over a slice of four vectors per lane width times an odd count.
   */
  @Test
  void sumReadsEveryFloatOnce() {
    int floats = 4 * 16 * 37;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment slice = arena.allocate((long) floats * Float.BYTES, 64);
      long expected = 0;
      for (int i = 0; i < floats; i++) {
        slice.setAtIndex(ValueLayout.JAVA_FLOAT, i, i % 7);
        expected += i % 7;
      }
      assertThat((double) ReadBandwidth.sum(slice)).isEqualTo((double) expected);
    }
  }

  @Test
  void measuresAPositiveFiniteRate() {
    ReadBandwidth.Result result = ReadBandwidth.measure(16L << 20, 2, 2);
    assertThat(result.bestGBps()).isGreaterThan(0.0);
    assertThat(Double.isFinite(result.bestGBps())).isTrue();
  }
}
