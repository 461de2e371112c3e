package dev.kiln.weights;

import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Runs load attempts on damaged files: each must end in a {@link WeightLoadException} or a clean
 * load.
 */
final class Corruption {
  /** Far more than any attempt takes (milliseconds); only a hang reaches it. */
  static final Duration TIMEOUT = Duration.ofSeconds(20);

  /** Bytes a mutation writes: anything, or characters that keep JSON almost valid. */
  private static final byte[] JSON_BYTES =
      "{}[],:\"0123456789.-+eE \\tnulrfasF".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private Corruption() {}

  enum Outcome {
    REJECTED,
    LOADED
  }

  /** Counts of outcomes, for checking that a suite exercised both. */
  static final class Tally {
    int rejected;
    int loaded;

    void add(Outcome outcome) {
      if (outcome == Outcome.REJECTED) {
        rejected++;
      } else {
        loaded++;
      }
    }

    @Override
    public String toString() {
      return rejected + " rejected, " + loaded + " loaded";
    }
  }

  /**
   * Opens a checkpoint and reads everything in it. A {@link WeightLoadException} with a message is
   * a rejection, unless {@code readsMustSucceed} and it came after the open; any other throwable
   * fails.
   */
  static Outcome attempt(
      String what, Supplier<? extends Checkpoint> open, boolean readsMustSucceed) {
    return assertTimeoutPreemptively(
        TIMEOUT, () -> run(what, open, readsMustSucceed), () -> what + ": hangs");
  }

  /** {@link #attempt} without a thread of its own (the caller bounds the time). */
  static Outcome run(String what, Supplier<? extends Checkpoint> open, boolean readsMustSucceed) {
    Checkpoint checkpoint;
    try {
      checkpoint = open.get();
    } catch (WeightLoadException e) {
      assertWithMessage("%s: message", what).that(e.getMessage()).isNotEmpty();
      return Outcome.REJECTED;
    } catch (Throwable t) {
      throw new AssertionError(
          what + ": opening threw " + t + " instead of a WeightLoadException", t);
    }
    try {
      Fixtures.readEverything(checkpoint);
      return Outcome.LOADED;
    } catch (WeightLoadException e) {
      if (readsMustSucceed) {
        throw new AssertionError(what + ": opened, then reading threw " + e, e);
      }
      assertWithMessage("%s: message", what).that(e.getMessage()).isNotEmpty();
      return Outcome.REJECTED;
    } catch (Throwable t) {
      throw new AssertionError(what + ": opened, then reading threw " + t, t);
    }
  }

  /**
   * A copy of {@code bytes} with 1 to 3 bytes in {@code [from, to)} overwritten; describes what it
   * did into {@code log}.
   */
  static byte[] overwrite(
      byte[] bytes, int from, int to, SplittableRandom random, StringBuilder log) {
    byte[] copy = bytes.clone();
    int count = 1 + random.nextInt(3);
    for (int i = 0; i < count; i++) {
      int offset = random.nextInt(from, to);
      byte value =
          random.nextBoolean()
              ? (byte) random.nextInt(256)
              : JSON_BYTES[random.nextInt(JSON_BYTES.length)];
      log.append(String.format(" [%d]=0x%02x", offset, value & 0xff));
      copy[offset] = value;
    }
    return copy;
  }
}
