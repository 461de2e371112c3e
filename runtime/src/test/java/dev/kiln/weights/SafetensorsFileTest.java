package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.weights.SafetensorsBytes.entry;
import static dev.kiln.weights.SafetensorsBytes.f32;
import static dev.kiln.weights.SafetensorsBytes.file;
import static dev.kiln.weights.SafetensorsBytes.halves;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading {@code .safetensors} files, and a clear {@link WeightLoadException} for every malformed
 * one.
 */
class SafetensorsFileTest {
  @TempDir Path dir;

  private Path write(byte[] bytes) {
    return SafetensorsBytes.write(dir.resolve("model.safetensors"), bytes);
  }

  /** Opens a file that must be rejected; the message starts with the path and the offset. */
  private WeightLoadException rejected(byte[] bytes, long offset) {
    Path path = write(bytes);
    var e = assertThrows(WeightLoadException.class, () -> SafetensorsFile.open(path));
    assertThat(e).hasMessageThat().startsWith(path + " (safetensors, offset " + offset + "): ");
    return e;
  }

  /** A file with one tensor entry written as given, and {@code dataBytes} bytes of data. */
  private WeightLoadException rejectedEntry(String entryJson, int dataBytes) {
    return rejected(file("{" + entryJson + "}", new byte[dataBytes]), 8);
  }

  // --- valid files ------------------------------------------------------------------------------

  @Test
  void readsF32F16AndBf16Tensors() {
    Path path =
        new SafetensorsBytes()
            .metadata("format", "pt")
            .addF32("a", new long[] {2, 3}, 1f, -2f, 3.5f, 0f, 1e-30f, Float.MAX_VALUE)
            .add("b", "F16", new long[] {3}, halves(0x3c00, 0xc000, 0x0001)) // 1, -2, 2^-24
            .add("c", "BF16", new long[] {2, 1}, halves(0x3f80, 0xc040)) // 1, -3
            .write(dir.resolve("ok.safetensors"));
    SafetensorsFile file = SafetensorsFile.open(path);

    assertThat(file.path()).isEqualTo(path);
    assertThat(file.description()).isEqualTo(path.toString());
    assertThat(file.metadata()).containsExactly("format", "pt");
    assertThat(file.names()).containsExactly("a", "b", "c").inOrder();
    assertThat(file.shape("a")).isEqualTo(new long[] {2, 3});
    assertThat(file.dtypeName("b")).isEqualTo("F16");
    assertThat(file.entries().get("c").begin()).isEqualTo(30);
    assertThat(file.entries().get("c").end()).isEqualTo(34);

    FloatTensor a = file.readFloat("a");
    assertThat(a.name()).isEqualTo("a");
    assertThat(a.shape()).isEqualTo(new long[] {2, 3});
    assertThat(a.toArray()).isEqualTo(new float[] {1f, -2f, 3.5f, 0f, 1e-30f, Float.MAX_VALUE});
    assertThat(file.readFloat("b").toArray()).isEqualTo(new float[] {1f, -2f, 0x1p-24f});
    assertThat(file.readFloat("c").toArray()).isEqualTo(new float[] {1f, -3f});
    assertThat(file.readFloat("c").shape()).isEqualTo(new long[] {2, 1});
  }

  @Test
  void tensorOrderInTheDataNeedNotFollowTheHeader() {
    byte[] data = f32(10f, 20f, 30f);
    String header =
        "{"
            + entry("late", "F32", new long[] {1}, 8, 12)
            + ","
            + entry("early", "F32", new long[] {2}, 0, 8)
            + "}";
    SafetensorsFile file = SafetensorsFile.open(write(file(header, data)));
    assertThat(file.names()).containsExactly("late", "early").inOrder();
    assertThat(file.readFloat("late").toArray()).isEqualTo(new float[] {30f});
    assertThat(file.readFloat("early").toArray()).isEqualTo(new float[] {10f, 20f});
  }

  @Test
  void paddedHeaderScalarsAndEmptyTensors() {
    // Writers pad the header with spaces so the data is 8-byte aligned.
    String header =
        "{"
            + entry("scalar", "F32", new long[] {}, 0, 4)
            + ","
            + entry("empty", "F32", new long[] {0, 5}, 4, 4)
            + "}    ";
    SafetensorsFile file = SafetensorsFile.open(write(file(header, f32(2.5f))));
    assertThat(file.readFloat("scalar").toArray()).isEqualTo(new float[] {2.5f});
    assertThat(file.readFloat("empty").elementCount()).isEqualTo(0);
    assertThat(file.metadata()).isEmpty();
  }

  @Test
  void anEmptyHeaderObjectIsAFileWithoutTensors() {
    assertThat(SafetensorsFile.open(write(file("{}", new byte[0]))).names()).isEmpty();
  }

  @Test
  void unknownTensorName() {
    SafetensorsFile file =
        SafetensorsFile.open(
            new SafetensorsBytes()
                .addF32("a", new long[] {1}, 1f)
                .write(dir.resolve("x.safetensors")));
    var e = assertThrows(WeightLoadException.class, () -> file.readFloat("b"));
    assertThat(e).hasMessageThat().isEqualTo(file.path() + ": no tensor named b");
    assertThrows(WeightLoadException.class, () -> file.shape("b"));
  }

  @Test
  void dtypesKilnCannotConvertAreNamedWhenRead() {
    SafetensorsFile file =
        SafetensorsFile.open(
            new SafetensorsBytes()
                .add("ids", "I32", new long[] {2}, new byte[8])
                .add("mystery", "Q4_WHATEVER", new long[] {2}, new byte[1])
                .write(dir.resolve("x.safetensors")));
    var e = assertThrows(WeightLoadException.class, () -> file.readFloat("ids"));
    assertThat(e)
        .hasMessageThat()
        .isEqualTo(
            file.path() + ": tensor ids has dtype I32; Kiln reads F32, F16 and BF16 safetensors");
    var unknown = assertThrows(WeightLoadException.class, () -> file.readFloat("mystery"));
    assertThat(unknown).hasMessageThat().contains("tensor mystery has dtype Q4_WHATEVER");
  }

  // --- malformed files: the frame -------------------------------------------------------------

  @Test
  void missingFile() {
    Path path = dir.resolve("absent.safetensors");
    var e = assertThrows(WeightLoadException.class, () -> SafetensorsFile.open(path));
    assertThat(e).hasMessageThat().isEqualTo(path + ": no such file");
  }

  @Test
  void aDirectoryIsNotAFile() {
    var e = assertThrows(WeightLoadException.class, () -> SafetensorsFile.open(dir));
    assertThat(e).hasMessageThat().startsWith(dir.toString());
  }

  @Test
  void fileShorterThanTheLengthField() {
    assertThat(rejected(new byte[0], 0))
        .hasMessageThat()
        .endsWith("file is 0 bytes, shorter than the 8-byte header length");
    assertThat(rejected(new byte[7], 0))
        .hasMessageThat()
        .endsWith("file is 7 bytes, shorter than the 8-byte header length");
  }

  @Test
  void headerLongerThanTheFile() {
    byte[] header = "{}".getBytes(StandardCharsets.UTF_8);
    var e = rejected(file(3, header, new byte[0]), 0);
    assertThat(e).hasMessageThat().contains("header length 3 does not fit a file of 10 bytes");
    // All 64 bits set: reported as the unsigned number, not -1.
    var huge = rejected(file(-1L, header, new byte[0]), 0);
    assertThat(huge).hasMessageThat().contains("header length 18446744073709551615 does not fit");
    // Past the 100 MB limit, even though the length itself is fine for a long.
    assertThat(rejected(file(SafetensorsFile.MAX_HEADER_BYTES + 1, header, new byte[0]), 0))
        .hasMessageThat()
        .contains("header length " + (SafetensorsFile.MAX_HEADER_BYTES + 1));
  }

  @Test
  void headerTooShortForJson() {
    assertThat(rejected(file(0, new byte[0], new byte[4]), 0))
        .hasMessageThat()
        .contains("header length 0");
    assertThat(rejected(file(1, new byte[] {'{'}, new byte[0]), 0))
        .hasMessageThat()
        .contains("header length 1");
  }

  @Test
  void headerNotUtf8() {
    byte[] header = {'{', '"', (byte) 0xff, '"', ':', '1', '}'};
    assertThat(rejected(file(header.length, header, new byte[0]), 8))
        .hasMessageThat()
        .endsWith("header is not valid UTF-8");
  }

  @Test
  void headerNotJson() {
    assertThat(rejected(file("{\"a\": [1, 2", new byte[0]), 8))
        .hasMessageThat()
        .contains("header is not valid JSON");
    assertThat(rejected(file("{} trailing", new byte[0]), 8))
        .hasMessageThat()
        .contains("header is not valid JSON");
    assertThat(rejected(file("[1, 2]", new byte[0]), 8))
        .hasMessageThat()
        .endsWith("header is not a JSON object");
    assertThat(rejected(file("hello", new byte[0]), 8))
        .hasMessageThat()
        .endsWith("header is not a JSON object");
    assertThat(rejected(file("        ", new byte[0]), 8))
        .hasMessageThat()
        .endsWith("header is not a JSON object");
  }

  @Test
  void headerErrorsAreKilnsOwnOneLineMessages() {
    for (String header :
        new String[] {
          "{\"a\": [1, 2",
          "{} trailing",
          "{\"a\": NaN}",
          "{a: 1}",
          "{\"a\": 1 /* c */}",
          "{\"a\": {\"b\": 1, \"b\": 2}}",
          "{\"a\": 1e99999999999}",
          "{\"a\" 1}",
          "{" + "[".repeat(10_000)
        }) {
      String message = rejected(file(header, new byte[0]), 8).getMessage();
      assertThat(message).doesNotContainMatch("(?i)gson|https?://|strictness|lenient|Exception");
      assertThat(message).doesNotContain("\n");
      assertThat(message)
          .containsMatch("the header (is not valid JSON|has the key|has a number out of range)");
    }
    assertThat(rejected(file("{\"a\": [1, 2", new byte[0]), 8))
        .hasMessageThat()
        .endsWith("the header is not valid JSON: End of input at line 1 column 12 path $.a[2]");
  }

  @Test
  void longNamesAreShortenedInMessages() {
    String name = "n".repeat(1_000_000);
    String message = rejectedEntry("\"" + name + "\": [0, 4]", 4).getMessage();
    assertThat(message.length()).isLessThan(SafetensorsFile.MAX_MESSAGE_CHARS + 200);
    assertThat(message).endsWith(": entry is not an object");
  }

  @Test
  void aTensorNamedTwice() {
    String header =
        "{"
            + entry("w", "F32", new long[] {1}, 0, 4)
            + ","
            + entry("w", "F32", new long[] {1}, 4, 8)
            + "}";
    assertThat(rejected(file(header, new byte[8]), 8))
        .hasMessageThat()
        .endsWith("header has the key \"w\" twice in one object ($.w)");
  }

  @Test
  void badMetadata() {
    assertThat(rejected(file("{\"__metadata__\": [1]}", new byte[0]), 8))
        .hasMessageThat()
        .endsWith("__metadata__ must be an object of strings");
    assertThat(rejected(file("{\"__metadata__\": {\"format\": 3}}", new byte[0]), 8))
        .hasMessageThat()
        .endsWith("__metadata__.format must be a string");
  }

  // --- malformed files: entries ---------------------------------------------------------------

  @Test
  void entryNotAnObject() {
    assertThat(rejectedEntry("\"w\": [0, 4]", 4))
        .hasMessageThat()
        .endsWith("tensor w: entry is not an object");
  }

  @Test
  void missingOrMistypedFields() {
    assertThat(rejectedEntry("\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}", 4))
        .hasMessageThat()
        .endsWith("tensor w: missing or non-string \"dtype\"");
    assertThat(rejectedEntry("\"w\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}", 4))
        .hasMessageThat()
        .endsWith("tensor w: missing or non-string \"dtype\"");
    assertThat(rejectedEntry("\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}", 4))
        .hasMessageThat()
        .endsWith("tensor w: missing or non-array \"shape\"");
    assertThat(
            rejectedEntry("\"w\": {\"dtype\": \"F32\", \"shape\": 1, \"data_offsets\": [0, 4]}", 4))
        .hasMessageThat()
        .endsWith("tensor w: missing or non-array \"shape\"");
    assertThat(rejectedEntry("\"w\": {\"dtype\": \"F32\", \"shape\": [1]}", 4))
        .hasMessageThat()
        .endsWith("tensor w: missing or non-array \"data_offsets\"");
    assertThat(
            rejectedEntry(
                "\"w\": {\"dtype\": \"F32\", \"shape\": [\"1\"], \"data_offsets\": [0, 4]}", 4))
        .hasMessageThat()
        .endsWith("tensor w: \"shape\" must hold integers");
  }

  @Test
  void dataOffsetsMustBeAPair() {
    assertThat(rejectedEntry(entryWithOffsets("[0, 4, 8]"), 8))
        .hasMessageThat()
        .endsWith("tensor w: data_offsets must be [begin, end], was [0, 4, 8]");
    assertThat(rejectedEntry(entryWithOffsets("[4]"), 8))
        .hasMessageThat()
        .endsWith("tensor w: data_offsets must be [begin, end], was [4]");
  }

  @Test
  void numbersThatAreNotNonNegative64BitIntegers() {
    assertThat(rejectedEntry(entryWithOffsets("[-4, 0]"), 4))
        .hasMessageThat()
        .endsWith("tensor w: \"data_offsets\" holds negative -4");
    assertThat(rejectedEntry(entryWithOffsets("[0, 4.5]"), 8))
        .hasMessageThat()
        .contains("tensor w: \"data_offsets\" holds 4.5, not a 64-bit integer");
    assertThat(rejectedEntry(entryWithOffsets("[0, 99999999999999999999]"), 8))
        .hasMessageThat()
        .contains("tensor w: \"data_offsets\" holds 99999999999999999999, not a 64-bit integer");
    // Gson refuses to expand such numbers at all; that is still the entry's problem, not a crash.
    assertThat(rejectedEntry(entryWithOffsets("[0, 1e100000]"), 8))
        .hasMessageThat()
        .contains("tensor w: \"data_offsets\" holds 1E+100000, not a 64-bit integer");
    assertThat(
            rejectedEntry(
                "\"w\": {\"dtype\": \"F32\", \"shape\": [1e100000], \"data_offsets\": [0, 4]}", 4))
        .hasMessageThat()
        .contains("tensor w: \"shape\" holds 1E+100000, not a 64-bit integer");
    // An integral value written as a decimal is still that integer.
    SafetensorsFile file =
        SafetensorsFile.open(write(file("{" + entryWithOffsets("[0, 4.0]") + "}", f32(1f))));
    assertThat(file.entries().get("w").end()).isEqualTo(4);
  }

  @Test
  void negativeDimension() {
    assertThat(
            rejectedEntry(
                "\"w\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 4]}", 4))
        .hasMessageThat()
        .endsWith("tensor w: \"shape\" holds negative -1");
  }

  @Test
  void endBeforeBegin() {
    assertThat(rejectedEntry(entry("w", "F32", new long[] {1}, 8, 4), 8))
        .hasMessageThat()
        .contains("tensor w: data_offsets [8, 4] lie outside the data section of 8 bytes");
  }

  @Test
  void offsetsPastTheEndOfTheData() {
    // 8 bytes of data; w claims [4, 12).
    assertThat(rejectedEntry(entry("w", "F32", new long[] {2}, 4, 12), 8))
        .hasMessageThat()
        .endsWith(
            "tensor w: data_offsets [4, 12] lie outside the data section of 8 bytes (file truncated?)");
  }

  @Test
  void truncatedData() {
    byte[] whole =
        new SafetensorsBytes()
            .addF32("a", new long[] {2}, 1f, 2f)
            .addF32("b", new long[] {3}, 3f, 4f, 5f)
            .bytes();
    byte[] cut = java.util.Arrays.copyOf(whole, whole.length - 1);
    assertThat(rejected(cut, 8))
        .hasMessageThat()
        .endsWith(
            "tensor b: data_offsets [8, 20] lie outside the data section of 19 bytes (file truncated?)");
  }

  @Test
  void dataLengthMustMatchShapeAndDtype() {
    assertThat(rejectedEntry(entry("w", "F32", new long[] {2, 3}, 0, 20), 24))
        .hasMessageThat()
        .endsWith("tensor w: F32 [2, 3] needs 24 bytes but data_offsets [0, 20] hold 20");
    assertThat(rejectedEntry(entry("w", "F16", new long[] {2, 3}, 0, 24), 24))
        .hasMessageThat()
        .endsWith("tensor w: F16 [2, 3] needs 12 bytes but data_offsets [0, 24] hold 24");
    assertThat(rejectedEntry(entry("w", "BF16", new long[] {0}, 0, 2), 2))
        .hasMessageThat()
        .endsWith("tensor w: BF16 [0] needs 0 bytes but data_offsets [0, 2] hold 2");
    // Dtypes Kiln does not convert are still sized.
    assertThat(rejectedEntry(entry("w", "I64", new long[] {2}, 0, 8), 8))
        .hasMessageThat()
        .endsWith("tensor w: I64 [2] needs 16 bytes but data_offsets [0, 8] hold 8");
  }

  @Test
  void shapesWhoseSizeOverflows() {
    assertThat(rejectedEntry(entry("w", "F32", new long[] {1L << 40, 1L << 40}, 0, 4), 4))
        .hasMessageThat()
        .endsWith("tensor w: shape [1099511627776, 1099511627776] overflows");
    // The element count fits a long; its byte size does not.
    assertThat(rejectedEntry(entry("w", "F32", new long[] {1L << 62}, 0, 4), 4))
        .hasMessageThat()
        .endsWith("tensor w: shape [4611686018427387904] overflows");
  }

  @Test
  void overlappingTensors() {
    String header =
        "{"
            + entry("a", "F32", new long[] {2}, 0, 8)
            + ","
            + entry("b", "F32", new long[] {2}, 4, 12)
            + "}";
    byte[] bytes = file(header, new byte[12]);
    long dataStart = 8 + header.getBytes(StandardCharsets.UTF_8).length;
    assertThat(rejected(bytes, dataStart + 4))
        .hasMessageThat()
        .endsWith("tensor b overlaps tensor a");
  }

  @Test
  void touchingTensorsAndEmptyTensorsDoNotOverlap() {
    String header =
        "{"
            + entry("a", "F32", new long[] {2}, 0, 8)
            + ","
            + entry("b", "F32", new long[] {1}, 8, 12)
            + ","
            + entry("empty", "F32", new long[] {0}, 4, 4)
            + "}";
    assertThat(SafetensorsFile.open(write(file(header, new byte[12]))).names()).hasSize(3);
  }

  @Test
  void everyEntryIsCheckedBeforeAnyTensorIsRead() {
    // The bad entry is last; opening fails, so nothing is ever read from the good ones.
    String header =
        "{"
            + entry("good", "F32", new long[] {1}, 0, 4)
            + ","
            + entry("bad", "F32", new long[] {1}, 4, 16)
            + "}";
    assertThat(rejected(file(header, new byte[8]), 8)).hasMessageThat().contains("tensor bad:");
  }

  @Test
  void entriesMapIsReadOnly() {
    SafetensorsFile file =
        SafetensorsFile.open(write(new SafetensorsBytes().addF32("a", new long[] {1}, 1f).bytes()));
    Map<String, SafetensorsFile.Entry> entries = file.entries();
    assertThrows(UnsupportedOperationException.class, () -> entries.remove("a"));
    long[] shape = file.shape("a");
    shape[0] = 99;
    assertThat(file.shape("a")).isEqualTo(new long[] {1});
  }

  private static String entryWithOffsets(String offsets) {
    return "\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": " + offsets + "}";
  }
}
