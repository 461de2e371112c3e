package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged llama2.c files: cut at every length, extended, with header bytes or whole header fields
 * overwritten at seeded random places. Each attempt ends in a {@link WeightLoadException} naming
 * the problem or in a load whose every tensor then reads without error; never another exception,
 * never a hang.
 */
class Llama2cCorruptionTest {
  @TempDir Path dir;

  private static final Fixtures.Dims SHARED = Fixtures.Dims.small(true);
  private static final Fixtures.Dims UNSHARED = Fixtures.Dims.small(false);

  private static byte[] valid(Fixtures.Dims dims) {
    return Fixtures.llama2cBytes(dims, Fixtures.hfTensors(dims, 42));
  }

  private static Corruption.Outcome inMemory(String what, byte[] bytes, long length) {
    Path name = Path.of("mem-" + what + ".bin");
    return Corruption.run(
        what, () -> Llama2cFile.parse(name, MemorySegment.ofArray(bytes).asSlice(0, length)), true);
  }

  @Test
  void truncatedAtEveryLength() {
    for (Fixtures.Dims dims : new Fixtures.Dims[] {SHARED, UNSHARED}) {
      byte[] bytes = valid(dims);
      assertTimeoutPreemptively(
          Duration.ofSeconds(60),
          () -> {
            for (int length = 0; length < bytes.length; length++) {
              assertWithMessage("cut to %s of %s bytes", length, bytes.length)
                  .that(inMemory("cut-" + length, bytes, length))
                  .isEqualTo(Corruption.Outcome.REJECTED);
            }
          });
      assertThat(inMemory("whole", bytes, bytes.length)).isEqualTo(Corruption.Outcome.LOADED);
    }
  }

  @Test
  void truncatedFilesOnDisk() {
    byte[] bytes = valid(UNSHARED);
    var random = new SplittableRandom(7);
    for (int i = 0; i < 120; i++) {
      int length = i < 30 ? i : random.nextInt(bytes.length);
      Path file = Fixtures.write(dir.resolve("cut-" + i + ".bin"), Arrays.copyOf(bytes, length));
      var outcome = Corruption.attempt("cut to " + length, () -> Llama2cFile.open(file), true);
      assertThat(outcome).isEqualTo(Corruption.Outcome.REJECTED);
    }
  }

  @Test
  void extended() {
    byte[] bytes = valid(SHARED);
    for (int extra = 1; extra <= 64; extra++) {
      byte[] longer = Arrays.copyOf(bytes, bytes.length + extra);
      assertThat(inMemory("extended-" + extra, longer, longer.length))
          .isEqualTo(Corruption.Outcome.REJECTED);
    }
  }

  @Test
  void headerBytesOverwritten() {
    for (Fixtures.Dims dims : new Fixtures.Dims[] {SHARED, UNSHARED}) {
      byte[] bytes = valid(dims);
      var random = new SplittableRandom(dims.shared() ? 1 : 2);
      var tally = new Corruption.Tally();
      for (int i = 0; i < 400; i++) {
        var log = new StringBuilder("header" + (dims.shared() ? "" : " (unshared)") + ":");
        byte[] damaged = Corruption.overwrite(bytes, 0, Llama2cFile.HEADER_BYTES, random, log);
        if (i % 8 == 0) {
          Path file =
              Fixtures.write(dir.resolve("header-" + dims.shared() + "-" + i + ".bin"), damaged);
          tally.add(Corruption.attempt(log.toString(), () -> Llama2cFile.open(file), true));
        } else {
          tally.add(
              Corruption.attempt(
                  log.toString(),
                  () -> Llama2cFile.parse(Path.of("mem.bin"), MemorySegment.ofArray(damaged)),
                  true));
        }
      }
      assertWithMessage("outcomes: %s", tally).that(tally.rejected).isGreaterThan(300);
    }
  }

  @Test
  void headerFieldsReplaced() {
    byte[] bytes = valid(UNSHARED);
    int[] original = new int[7];
    ByteBuffer header = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    for (int f = 0; f < 7; f++) {
      original[f] = header.getInt(4 * f);
    }
    var random = new SplittableRandom(3);
    var tally = new Corruption.Tally();
    for (int i = 0; i < 600; i++) {
      byte[] damaged = bytes.clone();
      ByteBuffer buffer = ByteBuffer.wrap(damaged).order(ByteOrder.LITTLE_ENDIAN);
      var log = new StringBuilder("fields:");
      int fields = 1 + random.nextInt(2);
      for (int k = 0; k < fields; k++) {
        int field = random.nextInt(7);
        int value =
            switch (random.nextInt(10)) {
              case 0 -> 0;
              case 1 -> -1;
              case 2 -> Integer.MIN_VALUE;
              case 3 -> Integer.MAX_VALUE;
              case 4 -> original[field] + 1;
              case 5 -> original[field] - 1;
              case 6 -> original[field] * 2;
              case 7 -> -original[field];
              case 8 -> 1 << random.nextInt(31);
              default -> random.nextInt();
            };
        log.append(" ").append(field).append("=").append(value);
        buffer.putInt(4 * field, value);
      }
      tally.add(
          Corruption.attempt(
              log.toString(),
              () -> Llama2cFile.parse(Path.of("mem.bin"), MemorySegment.ofArray(damaged)),
              true));
    }
    assertWithMessage("outcomes: %s", tally).that(tally.rejected).isGreaterThan(400);
  }

  @Test
  void undetectableMisreadingLoads() {
    // An unshared file read as shared with twice the vocabulary has exactly the size the header
    // implies
    // (24 x 16 embeddings where there were 12 x 16 embeddings ... 12 x 16 wcls): the format cannot
    // tell,
    // so it loads (with wrong values); reading it must still work.
    byte[] damaged = valid(UNSHARED);
    ByteBuffer.wrap(damaged).order(ByteOrder.LITTLE_ENDIAN).putInt(20, 2 * UNSHARED.vocab());
    assertThat(inMemory("vocab doubled, shared", damaged, damaged.length))
        .isEqualTo(Corruption.Outcome.LOADED);
  }

  @Test
  void anyByteOverwritten() {
    byte[] bytes = valid(SHARED);
    var random = new SplittableRandom(4);
    var tally = new Corruption.Tally();
    for (int i = 0; i < 300; i++) {
      var log = new StringBuilder("anywhere:");
      byte[] damaged = Corruption.overwrite(bytes, 0, bytes.length, random, log);
      tally.add(
          Corruption.attempt(
              log.toString(),
              () -> Llama2cFile.parse(Path.of("mem.bin"), MemorySegment.ofArray(damaged)),
              true));
    }
    // Most bytes are float data, which any value is valid for.
    assertWithMessage("outcomes: %s", tally).that(tally.loaded).isGreaterThan(250);
  }
}
