package dev.kiln.examples;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.kiln.KilnException;
import dev.kiln.interpreter.Interpreter;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.testing.Repository;
import dev.kiln.tokenizer.Tokenizers;
import dev.kiln.weights.Checkpoint;
import dev.kiln.weights.ModelFiles;
import dev.kiln.weights.Weights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded fuzzing of the bundled tiny conformance model in each format (GGUF F32 and F16, a Hugging
 * Face folder's config.json and safetensors in F32 and F16, a llama2.c checkpoint and tokenizer):
 * bytes overwritten (anywhere, in the header, with boundary values or JSON characters) and files
 * cut short. Each mutated file is opened, its spec derived, its weights loaded and one forward pass
 * run through the interpreter. The only acceptable outcomes are success or a {@link KilnException}
 * (WeightLoadException, TokenizerException, ...) whose message names the file: never another
 * exception type, an Error, or a hang.
 */
@Tag("slow")
class ModelFuzzTest {
  private static final long SEED = 20240601L;

  /** Cases per file (seven files): about 2300 in all, some 15 s on two cores. */
  private static final int CASES = 330;

  private static final Duration CASE_LIMIT = Duration.ofSeconds(10);

  /** Boundary values written as little-endian integers over header fields. */
  private static final long[] BOUNDARIES = {
    0,
    1,
    -1,
    2,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    Integer.MAX_VALUE,
    Integer.MIN_VALUE,
    0xffffffffL,
    1L << 32,
    Long.MAX_VALUE,
    Long.MIN_VALUE,
    100_000_000,
    1_000_000
  };

  private static final byte[] JSON =
      "{}[],:\"0123456789.-+eE \\nulltruefalseNaN".getBytes(StandardCharsets.US_ASCII);

  @TempDir Path temp;
  private int counter;
  private int loaded;
  private int rejected;

  private enum Kind {
    GGUF,
    HF_CONFIG,
    HF_WEIGHTS,
    LLAMA2C,
    LLAMA2C_TOKENIZER
  }

  @Test
  void mutatedModelsLoadOrFailWithAOneLineKilnError() throws IOException {
    Path tiny = Repository.bundledTiny();
    var random = new SplittableRandom(SEED);
    fuzz(random, Kind.GGUF, tiny.resolve("gguf/model-f32.gguf"), null);
    fuzz(random, Kind.GGUF, tiny.resolve("gguf/model-f16.gguf"), null);
    fuzz(random, Kind.HF_CONFIG, tiny.resolve("hf"), "config.json");
    fuzz(random, Kind.HF_WEIGHTS, tiny.resolve("hf"), "model.safetensors");
    fuzz(random, Kind.HF_WEIGHTS, tiny.resolve("hf_f16"), "model.safetensors");
    fuzz(random, Kind.LLAMA2C, tiny.resolve("llama2c/model.bin"), null);
    fuzz(random, Kind.LLAMA2C_TOKENIZER, tiny.resolve("llama2c/tokenizer.bin"), null);
    assertWithMessage("%s loaded, %s rejected", loaded, rejected)
        .that(rejected)
        .isGreaterThan(CASES * 3);
    assertWithMessage("%s loaded, %s rejected", loaded, rejected)
        .that(loaded)
        .isGreaterThan(CASES / 2);
  }

  /**
   * {@link #CASES} mutations of {@code source} (a file, or the file {@code member} of a folder).
   */
  private void fuzz(SplittableRandom random, Kind kind, Path source, String member)
      throws IOException {
    byte[] original = Files.readAllBytes(member == null ? source : source.resolve(member));
    for (int i = 0; i < CASES; i++) {
      StringBuilder how = new StringBuilder();
      byte[] mutated = mutate(original, random, kind, how);
      Path dir = Files.createDirectories(temp.resolve("case-" + counter++));
      Path target;
      if (member == null) {
        target = dir.resolve(source.getFileName());
        Files.write(target, mutated);
      } else {
        try (Stream<Path> files = Files.list(source)) {
          for (Path file : files.toList()) {
            Files.copy(file, dir.resolve(file.getFileName()));
          }
        }
        Files.write(dir.resolve(member), mutated);
        target = dir;
      }
      String what = source + (member == null ? "" : "/" + member) + ": " + how;
      assertTimeoutPreemptively(
          CASE_LIMIT, () -> attempt(kind, target, dir, what), () -> what + ": hangs");
      delete(dir);
    }
  }

  private void attempt(Kind kind, Path target, Path dir, String what) {
    try {
      if (kind == Kind.LLAMA2C_TOKENIZER) {
        Tokenizers.fromLlama2c(target).encode("Hello, world", true, false);
      } else {
        Checkpoint checkpoint = ModelFiles.open(target);
        ResolvedSpec spec = ModelFiles.deriveSpec(checkpoint).spec();
        Weights weights = Weights.from(spec, checkpoint);
        float[][] logits =
            new Interpreter(weights).prefill(new int[][] {{0, spec.vocabSize() - 1}});
        assertThat(logits[0]).hasLength(spec.vocabSize());
      }
      loaded++;
    } catch (KilnException e) {
      String message = e.getMessage();
      assertWithMessage("%s: message of %s", what, e).that(message).isNotEmpty();
      assertWithMessage("%s: %s names the file", what, e)
          .that(message)
          .contains(dir.getFileName().toString());
      assertWithMessage("%s: %s is short", what, e).that(message.length()).isLessThan(10_000);
      rejected++;
    } catch (Throwable t) {
      throw new AssertionError(what + ": threw " + t + " instead of a KilnException", t);
    }
  }

  private static byte[] mutate(
      byte[] original, SplittableRandom random, Kind kind, StringBuilder how) {
    byte[] bytes = original.clone();
    int header = Math.min(bytes.length, kind == Kind.HF_CONFIG ? bytes.length : 1024);
    switch (random.nextInt(kind == Kind.HF_CONFIG ? 3 : 4)) {
      case 0 -> { // a few random bytes anywhere
        int count = 1 + random.nextInt(8);
        for (int i = 0; i < count; i++) {
          int at = random.nextInt(bytes.length);
          bytes[at] = (byte) random.nextInt(256);
          how.append(" byte ").append(at);
        }
      }
      case 1 -> { // cut short
        int length = random.nextInt(bytes.length);
        how.append(" cut to ").append(length);
        return Arrays.copyOf(bytes, length);
      }
      case 2 -> { // header bytes: JSON characters for JSON, random bytes otherwise
        int count = 1 + random.nextInt(4);
        for (int i = 0; i < count; i++) {
          int at = random.nextInt(header);
          bytes[at] =
              kind == Kind.HF_CONFIG || kind == Kind.HF_WEIGHTS && at >= 8
                  ? JSON[random.nextInt(JSON.length)]
                  : (byte) random.nextInt(256);
          how.append(" header byte ").append(at);
        }
      }
      default -> { // a boundary value over a 4- or 8-byte header field
        int width = random.nextBoolean() ? 4 : 8;
        int at = random.nextInt(Math.max(1, header - width)) & ~3;
        long value = BOUNDARIES[random.nextInt(BOUNDARIES.length)];
        for (int b = 0; b < width && at + b < bytes.length; b++) {
          bytes[at + b] = (byte) (value >>> (8 * b));
        }
        how.append(" value ").append(value).append(" at ").append(at);
      }
    }
    return bytes;
  }

  private static void delete(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
