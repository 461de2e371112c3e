package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged Hugging Face folders: {@code config.json}, the index and shard headers with bytes
 * overwritten at seeded random offsets, and each of them cut at many lengths. Each attempt (a fresh
 * folder) ends in a {@link WeightLoadException} with a message, or in a load whose every tensor
 * then reads; never another exception, never a hang.
 */
@Tag("slow")
class HfFolderCorruptionTest {
  @TempDir Path dir;

  private static final Fixtures.Dims DIMS = Fixtures.Dims.small(false);
  private static final String INDEX = "model.safetensors.index.json";
  private static final int SHARDS = 3;

  private Path sharded;
  private Path single;
  private int attempts;

  @BeforeEach
  void writeFolders() {
    var tensors = Fixtures.hfTensors(DIMS, 5);
    sharded =
        Fixtures.writeHfFolder(dir.resolve("sharded"), Fixtures.config(DIMS), tensors, SHARDS);
    single = Fixtures.writeHfFolder(dir.resolve("single"), Fixtures.config(DIMS), tensors, 1);
  }

  /** A fresh copy of {@code original} with {@code file} replaced by {@code bytes}. */
  private Path variant(Path original, String file, byte[] bytes) {
    Path copy = dir.resolve("attempt-" + attempts++);
    try {
      Files.createDirectories(copy);
      try (Stream<Path> files = Files.list(original)) {
        for (Path source : files.toList()) {
          Files.copy(source, copy.resolve(source.getFileName()));
        }
      }
      Files.write(copy.resolve(file), bytes);
      return copy;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Corruption.Outcome attempt(String what, Path folder) {
    return Corruption.attempt(what, () -> HfFolder.open(folder), false);
  }

  /** Overwrites bytes of {@code file} in {@code [from, to)} in {@code count} fresh folders. */
  private Corruption.Tally overwritten(
      Path original, String file, int from, int to, int count, long seed) {
    byte[] bytes = read(original.resolve(file));
    var random = new SplittableRandom(seed);
    var tally = new Corruption.Tally();
    for (int i = 0; i < count; i++) {
      var log = new StringBuilder(original.getFileName() + "/" + file + ":");
      byte[] damaged = Corruption.overwrite(bytes, from, Math.min(to, bytes.length), random, log);
      tally.add(attempt(log.toString(), variant(original, file, damaged)));
    }
    return tally;
  }

  /**
   * Cuts {@code file} at {@code count} lengths (all of them when there are fewer), each in a fresh
   * folder.
   */
  private Corruption.Tally truncated(Path original, String file, int count) {
    byte[] bytes = read(original.resolve(file));
    var tally = new Corruption.Tally();
    int step = Math.max(1, bytes.length / count);
    for (int length = 0; length < bytes.length; length += step) {
      tally.add(
          attempt(
              original.getFileName() + "/" + file + " cut to " + length + " of " + bytes.length,
              variant(original, file, Arrays.copyOf(bytes, length))));
    }
    return tally;
  }

  @Test
  void pristineFoldersLoad() {
    assertThat(attempt("sharded", sharded)).isEqualTo(Corruption.Outcome.LOADED);
    assertThat(attempt("single", single)).isEqualTo(Corruption.Outcome.LOADED);
  }

  @Test
  void configOverwritten() {
    var tally = overwritten(sharded, "config.json", 0, Integer.MAX_VALUE, 300, 11);
    assertWithMessage("outcomes: %s", tally).that(tally.rejected).isGreaterThan(100);
    assertWithMessage("outcomes: %s", tally).that(tally.loaded).isGreaterThan(0);
  }

  @Test
  void configTruncated() {
    var tally = truncated(single, "config.json", 200);
    // Every proper prefix of a JSON object is invalid JSON.
    assertWithMessage("outcomes: %s", tally).that(tally.loaded).isEqualTo(0);
  }

  @Test
  void indexOverwritten() {
    var tally = overwritten(sharded, INDEX, 0, Integer.MAX_VALUE, 300, 12);
    assertWithMessage("outcomes: %s", tally).that(tally.rejected).isGreaterThan(150);
  }

  @Test
  void indexTruncated() {
    var tally = truncated(sharded, INDEX, 200);
    assertWithMessage("outcomes: %s", tally).that(tally.loaded).isEqualTo(0);
  }

  @Test
  void shardHeaderOverwritten() {
    String shard = Fixtures.shardName(1, SHARDS);
    byte[] bytes = read(sharded.resolve(shard));
    int headerEnd = 8 + (int) ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    var tally = overwritten(sharded, shard, 0, headerEnd, 300, 13);
    assertWithMessage("outcomes: %s", tally).that(tally.rejected).isGreaterThan(150);

    var singleTally = overwritten(single, "model.safetensors", 0, headerEnd, 100, 14);
    assertWithMessage("outcomes: %s", singleTally).that(singleTally.rejected).isGreaterThan(50);
  }

  @Test
  void shardTruncated() {
    var tally = truncated(sharded, Fixtures.shardName(2, SHARDS), 150);
    assertWithMessage("outcomes: %s", tally).that(tally.loaded).isEqualTo(0);
  }

  /** Values that trip careless JSON number handling or recursion, in each JSON file of a folder. */
  private static final String[] HOSTILE = {
    "NaN",
    "Infinity",
    "-Infinity",
    "1e99999999999",
    "-1e99999999999",
    "1e-99999999999",
    "123456789012345678901234567890",
    "-0",
    "0.5",
    "true",
    "null",
    "\"\\u0000\"",
    "[".repeat(5000) + "]".repeat(5000),
    "{\"a\":".repeat(3000) + "1" + "}".repeat(3000),
    "\"" + "x".repeat(100_000) + "\""
  };

  @Test
  void hostileConfigValues() {
    String config =
        new String(read(sharded.resolve("config.json")), java.nio.charset.StandardCharsets.UTF_8);
    for (String key :
        new String[] {
          "vocab_size", "rope_theta", "tie_word_embeddings", "model_type", "head_dim"
        }) {
      for (String value : HOSTILE) {
        String damaged =
            config.replaceFirst(
                "\"" + key + "\":[^,]*,",
                java.util.regex.Matcher.quoteReplacement("\"" + key + "\":" + value + ","));
        assertThat(damaged).isNotEqualTo(config);
        attempt(
            "config " + key + "=" + abbreviate(value),
            variant(sharded, "config.json", utf8(damaged)));
      }
    }
  }

  @Test
  void hostileIndexValues() {
    String index =
        new String(read(sharded.resolve(INDEX)), java.nio.charset.StandardCharsets.UTF_8);
    for (String value : HOSTILE) {
      String weightMap =
          index.replaceFirst(
              "\"model.norm.weight\":\"[^\"]*\"",
              java.util.regex.Matcher.quoteReplacement("\"model.norm.weight\":" + value));
      assertThat(weightMap).isNotEqualTo(index);
      assertThat(
              attempt("index entry=" + abbreviate(value), variant(sharded, INDEX, utf8(weightMap))))
          .isEqualTo(Corruption.Outcome.REJECTED);
      String metadata =
          index.replaceFirst(
              "\"total_size\":[0-9]+",
              java.util.regex.Matcher.quoteReplacement("\"total_size\":" + value));
      attempt("index metadata=" + abbreviate(value), variant(sharded, INDEX, utf8(metadata)));
    }
  }

  @Test
  void hostileShardHeaderValues() {
    var tensors = Fixtures.hfTensors(DIMS, 5);
    byte[] valid = Fixtures.safetensorsBytes(tensors);
    int headerLength = (int) ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    String header = new String(valid, 8, headerLength, java.nio.charset.StandardCharsets.UTF_8);
    byte[] data = Arrays.copyOfRange(valid, 8 + headerLength, valid.length);
    for (String value : HOSTILE) {
      for (String pattern :
          new String[] {
            "\"shape\":\\[[0-9]+",
            "\"data_offsets\":\\[[0-9]+",
            "\"dtype\":\"F32\"",
            "\"data_offsets\":\\[[0-9]+,[0-9]+\\]"
          }) {
        String prefix =
            pattern.startsWith("\"shape")
                ? "\"shape\":["
                : pattern.startsWith("\"dtype")
                    ? "\"dtype\":"
                    : pattern.endsWith("\\]") ? "\"data_offsets\":" : "\"data_offsets\":[";
        String damaged =
            header.replaceFirst(pattern, java.util.regex.Matcher.quoteReplacement(prefix + value));
        assertThat(damaged).isNotEqualTo(header);
        byte[] json = utf8(damaged);
        ByteBuffer file =
            ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(json.length).put(json).put(data);
        attempt(
            "shard header " + abbreviate(prefix + value),
            variant(single, "model.safetensors", file.array()));
      }
    }
  }

  private static byte[] utf8(String text) {
    return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  private static String abbreviate(String text) {
    return text.length() > 40 ? text.substring(0, 37) + "..." : text;
  }
}
