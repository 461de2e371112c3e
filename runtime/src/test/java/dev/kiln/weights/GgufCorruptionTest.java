package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.kiln.testing.SharedConformance;
import dev.kiln.weights.GgufWriter.Arr;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Broken GGUF files: each problem is a {@link WeightLoadException} naming the file, the offset and
 * the key or tensor; and truncating or overwriting any header bytes ends in such an exception or a
 * file whose every tensor reads (again with nothing but {@link WeightLoadException}), never in
 * another exception or a hang.
 */
class GgufCorruptionTest {
  private static final String NAME = "bad.gguf";
  private static final Duration BATCH_LIMIT = Duration.ofSeconds(20);

  private static WeightLoadException fails(byte[] bytes) {
    WeightLoadException e =
        assertThrows(WeightLoadException.class, () -> GgufWriter.parse(NAME, bytes));
    assertThat(e).hasMessageThat().startsWith(NAME + " (GGUF, offset ");
    return e;
  }

  private static WeightLoadException fails(GgufWriter writer) {
    return fails(writer.toBytes());
  }

  private static void assertOffset(WeightLoadException e, long offset) {
    assertThat(e).hasMessageThat().startsWith(NAME + " (GGUF, offset " + offset + "): ");
  }

  private static byte[] patch(byte[] bytes, long offset, int width, long value) {
    byte[] copy = bytes.clone();
    for (int i = 0; i < width; i++) {
      copy[(int) offset + i] = (byte) (value >>> (8 * i));
    }
    return copy;
  }

  // ---- Each kind of problem, with its message.

  @Test
  void wrongMagic() {
    WeightLoadException e = fails(new GgufWriter().magic(0x4c4d4747).toBytes());
    assertOffset(e, 0);
    assertThat(e)
        .hasMessageThat()
        .contains(
            "not a GGUF file: starts with bytes 47 47 4d 4c, expected 47 47 55 46 (\"GGUF\")");
    assertOffset(fails(new byte[0]), 0);
    assertThat(fails(new byte[] {'G', 'G'}))
        .hasMessageThat()
        .contains("file is 2 bytes, too short for the GGUF magic");
  }

  @Test
  void unsupportedVersions() {
    WeightLoadException v1 = fails(new GgufWriter(1));
    assertOffset(v1, 4);
    assertThat(v1)
        .hasMessageThat()
        .contains("GGUF v1 (32-bit counts) is not supported; Kiln reads GGUF v2 and v3");
    assertThat(fails(new GgufWriter(4)))
        .hasMessageThat()
        .contains("unsupported GGUF version 4; Kiln reads GGUF v2 and v3");
    assertThat(fails(new GgufWriter(-1)))
        .hasMessageThat()
        .contains("unsupported GGUF version 4294967295");
    assertThat(fails(new GgufWriter(Integer.reverseBytes(3))))
        .hasMessageThat()
        .contains("this is a big-endian GGUF v3 file, and Kiln reads little-endian files");
  }

  @Test
  void truncatedHeader() {
    byte[] bytes = GgufFileTest.llama(3).toBytes();
    WeightLoadException e = fails(Arrays.copyOf(bytes, 10));
    assertOffset(e, 8);
    assertThat(e)
        .hasMessageThat()
        .contains("tensor count: needs 8 bytes but the file ends after 2 (truncated?)");
    bytes = new GgufWriter().putString("general.architecture", "llama").toBytes();
    e = fails(Arrays.copyOf(bytes, 24 + 8 + 5));
    assertThat(e).hasMessageThat().contains("metadata entry #0: key: string length");
    e = fails(Arrays.copyOf(bytes, 24 + 8 + 20 + 4 + 8 + 2));
    assertThat(e)
        .hasMessageThat()
        .contains("metadata general.architecture: string length 5 is more than the 2 bytes left");
  }

  @Test
  void truncatedData() {
    byte[] bytes = GgufFileTest.llama(3).toBytes();
    WeightLoadException e = fails(Arrays.copyOf(bytes, bytes.length - 1));
    assertThat(e)
        .hasMessageThat()
        .contains("tensor output_norm.weight: its 32 bytes at data offset");
    assertThat(e).hasMessageThat().contains("run past the end of the file");
    assertThat(e).hasMessageThat().contains("(file truncated?)");
  }

  @Test
  void absurdCounts() {
    byte[] bytes = new GgufWriter().putU32("a", 1).toBytes();
    WeightLoadException e = fails(patch(bytes, 8, 8, 1L << 40));
    assertOffset(e, 8);
    assertThat(e).hasMessageThat().contains("tensor count 1099511627776 cannot fit in the");
    assertThat(fails(patch(bytes, 8, 8, -1)))
        .hasMessageThat()
        .contains("tensor count 18446744073709551615");
    e = fails(patch(bytes, 16, 8, 1000));
    assertOffset(e, 16);
    assertThat(e)
        .hasMessageThat()
        .contains("metadata key-value count 1000 cannot fit in the 40 bytes after the header");
  }

  @Test
  void absurdStringLengths() {
    byte[] bytes = new GgufWriter().putString("key", "value").toBytes();
    WeightLoadException e = fails(patch(bytes, 24, 8, Long.MAX_VALUE));
    assertOffset(e, 24);
    assertThat(e)
        .hasMessageThat()
        .contains("metadata entry #0: key: string length 9223372036854775807 is more than the");
    e = fails(patch(bytes, 24 + 8 + 3 + 4, 8, -1));
    assertOffset(e, 39);
    assertThat(e)
        .hasMessageThat()
        .contains(
            "metadata key: string length 18446744073709551615 is more than the 17 bytes left");
    byte[] longKey = new GgufWriter().putString("k".repeat(70_000), "v").toBytes();
    assertThat(fails(longKey))
        .hasMessageThat()
        .contains("string of 70000 bytes is longer than the 65535 allowed");
  }

  @Test
  void absurdArrayLengths() {
    GgufWriter writer =
        new GgufWriter()
            .put("ints", GgufValueType.ARRAY, new Arr(GgufValueType.UINT32, List.of(1L, 2L)))
            .put("strings", GgufValueType.ARRAY, new Arr(GgufValueType.STRING, List.of("a")));
    byte[] bytes = writer.toBytes();
    long intsCount = 24 + 8 + 4 + 4 + 4;
    WeightLoadException e = fails(patch(bytes, intsCount, 8, 1L << 61));
    assertOffset(e, intsCount);
    assertThat(e)
        .hasMessageThat()
        .contains("metadata ints: array of 2305843009213693952 UINT32 values cannot fit in the");
    assertThat(fails(patch(bytes, intsCount, 8, -1)))
        .hasMessageThat()
        .contains("array of 18446744073709551615 UINT32");
    long stringsCount = intsCount + 8 + 8 + 8 + 7 + 4 + 4;
    e = fails(patch(bytes, stringsCount, 8, 1000));
    assertThat(e)
        .hasMessageThat()
        .contains("metadata strings: array of 1000 STRING values cannot fit in the 37 bytes left");
    e = fails(patch(bytes, stringsCount - 4, 4, 42));
    assertThat(e).hasMessageThat().contains("metadata strings: unknown array element type 42");
    e = fails(patch(bytes, stringsCount + 8, 8, 1000));
    assertThat(e)
        .hasMessageThat()
        .contains("metadata strings[0]: string length 1000 is more than the 29 bytes left");
  }

  @Test
  void nestedArraysAreBounded() {
    Object value = new Arr(GgufValueType.UINT8, List.of(1));
    for (int depth = 0; depth < 8; depth++) {
      value = new Arr(GgufValueType.ARRAY, List.of(value));
    }
    WeightLoadException e = fails(new GgufWriter().put("deep", GgufValueType.ARRAY, value));
    assertThat(e)
        .hasMessageThat()
        .contains("metadata deep[0][0][0][0][0][0][0][0]: arrays nested more than 8 deep");
    Object ok = ((Arr) value).items().getFirst();
    assertThat(new GgufWriter().put("deep", GgufValueType.ARRAY, ok).parse().metadata().get("deep"))
        .isEqualTo(List.of(List.of(List.of(List.of(List.of(List.of(List.of(List.of(1)))))))));
  }

  @Test
  void unknownValueTypes() {
    WeightLoadException e =
        fails(new GgufWriter().putU32("fine", 1).putRaw("odd", 13, new byte[8]));
    assertOffset(e, 24 + 8 + 4 + 4 + 4 + 8 + 3);
    assertThat(e)
        .hasMessageThat()
        .contains("metadata odd: unknown value type 13 (GGUF types are 0 to 12)");
  }

  @Test
  void invalidValues() {
    assertThat(fails(new GgufWriter().putRaw("flag", 7, new byte[] {2})))
        .hasMessageThat()
        .contains("metadata flag: bool byte is 2, expected 0 or 1");
    byte[] badUtf8 = {(byte) 0xc3, (byte) 0x28};
    byte[] key = new GgufWriter().putString("xx", "v").toBytes();
    System.arraycopy(badUtf8, 0, key, 32, 2);
    assertThat(fails(key))
        .hasMessageThat()
        .contains("metadata entry #0: key: string of 2 bytes is not valid UTF-8");
    byte[] element =
        new GgufWriter()
            .put("t", GgufValueType.ARRAY, new Arr(GgufValueType.STRING, List.of("ok", "xx")))
            .toBytes();
    System.arraycopy(badUtf8, 0, element, indexOf(element, "xx"), 2);
    assertThat(fails(element))
        .hasMessageThat()
        .contains("metadata t[1]: string of 2 bytes is not valid UTF-8");
  }

  private static int indexOf(byte[] bytes, String text) {
    byte[] needle = text.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i + needle.length <= bytes.length; i++) {
      if (Arrays.equals(bytes, i, i + needle.length, needle, 0, needle.length)) {
        return i;
      }
    }
    throw new AssertionError(text + " not found");
  }

  @Test
  void duplicateKeys() {
    WeightLoadException e = fails(new GgufWriter().putU32("a", 1).putU32("b", 2).putU32("a", 3));
    assertThat(e)
        .hasMessageThat()
        .contains("metadata key a appears twice (its first value is at offset 37)");
    assertOffset(e, 24 + 2 * 17);
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 3, 48, 1L << 32})
  void badAlignment(long alignment) {
    GgufWriter writer = new GgufWriter().put("general.alignment", GgufValueType.UINT64, alignment);
    WeightLoadException e = fails(writer);
    assertOffset(e, 24 + 8 + 17 + 4);
    assertThat(e)
        .hasMessageThat()
        .contains("metadata general.alignment is " + alignment + ", expected a power of two");
    assertThat(fails(new GgufWriter().putF32("general.alignment", 32f)))
        .hasMessageThat()
        .contains("metadata general.alignment: expected an integer, found FLOAT32");
  }

  @Test
  void badDimensionCounts() {
    for (int n : new int[] {0, 5}) {
      GgufWriter writer = new GgufWriter().tensor("t", 0, new long[n], new byte[0], 0);
      WeightLoadException e = fails(writer);
      assertOffset(e, 24 + 8 + 1);
      assertThat(e).hasMessageThat().contains("tensor t: " + n + " dimensions, expected 1 to 4");
    }
  }

  @Test
  void dimensionsThatOverflow() {
    WeightLoadException e =
        fails(new GgufWriter().tensor("t", 0, new long[] {1L << 40, 1L << 40}, new byte[0], 0));
    assertOffset(e, 24 + 8 + 1 + 4 + 8);
    assertThat(e)
        .hasMessageThat()
        .contains("tensor t: dimensions [1099511627776, 1099511627776] have more elements");
    e = fails(new GgufWriter().tensor("t", 0, new long[] {1, -2}, new byte[0], 0));
    assertThat(e)
        .hasMessageThat()
        .contains("tensor t: dimension 1 is 18446744073709551614, more than 2^63 - 1");
    e = fails(new GgufWriter().tensor("t", 0, new long[] {1L << 31, 1L << 31}, new byte[0], 0));
    assertThat(e)
        .hasMessageThat()
        .contains(
            "tensor t: F32 [2147483648, 2147483648] takes more bytes than a 64-bit size holds");
  }

  @Test
  void unknownTensorTypes() {
    WeightLoadException e =
        fails(
            new GgufWriter()
                .tensor("blk.0.ffn_up.weight", 13, new long[] {256, 2}, new byte[352], 0));
    assertOffset(e, 24 + 8 + 19 + 4 + 16);
    assertThat(e)
        .hasMessageThat()
        .contains(
            "tensor blk.0.ffn_up.weight: GGML type 13 (Q5_K) is not one Kiln reads; "
                + "Kiln reads F32 (0), F16 (1), BF16 (30), Q8_0 (8), Q4_0 (2), Q4_K (12), Q6_K (14)");
    assertThat(fails(new GgufWriter().tensor("t", 4000, new long[] {1}, new byte[4], 0)))
        .hasMessageThat()
        .contains("GGML type 4000 (unknown) is not one Kiln reads");
    assertThat(fails(new GgufWriter().tensor("t", -1, new long[] {1}, new byte[4], 0)))
        .hasMessageThat()
        .contains("GGML type 4294967295 (unknown)");
  }

  @Test
  void rowsOfPartialBlocks() {
    WeightLoadException e =
        fails(new GgufWriter().tensor("q", Dtype.Q8_0, new long[] {16, 4}, new byte[68]));
    assertThat(e)
        .hasMessageThat()
        .contains("tensor q: rows of 16 Q8_0 elements do not fill whole blocks of 32");
  }

  @Test
  void misalignedOffsets() {
    WeightLoadException e = fails(new GgufWriter().tensor("t", 0, new long[] {1}, new byte[4], 4));
    assertOffset(e, 24 + 8 + 1 + 4 + 8 + 4);
    assertThat(e)
        .hasMessageThat()
        .contains("tensor t: data offset 4 is not a multiple of the alignment 32");
    byte[] bytes = new GgufWriter().tensor("t", 0, new long[] {1}, new byte[4], 0).toBytes();
    assertThat(fails(patch(bytes, 24 + 8 + 1 + 4 + 8 + 4, 8, -32)))
        .hasMessageThat()
        .contains("tensor t: data offset 18446744073709551584 is more than 2^63 - 1");
  }

  @Test
  void tensorsOutsideTheData() {
    byte[] bytes = new GgufWriter().tensor("t", 0, new long[] {8}, new byte[32], 0).toBytes();
    WeightLoadException e = fails(patch(bytes, 24 + 8 + 1 + 4 + 8 + 4, 8, 1L << 40));
    assertOffset(e, 24);
    assertThat(e)
        .hasMessageThat()
        .contains(
            "tensor t: its 32 bytes at data offset 1099511627776 (file offset 1099511627840) "
                + "run past the end of the file, which has 32 bytes of data after the tensor infos");
    byte[] noData = Arrays.copyOf(bytes, 60);
    assertThat(fails(noData)).hasMessageThat().contains("which has 0 bytes of data");
  }

  @Test
  void overlappingTensors() {
    GgufWriter writer =
        new GgufWriter()
            .tensor("a", 0, new long[] {16}, new byte[64], 0)
            .tensor("b", 0, new long[] {8}, new byte[32], 32);
    WeightLoadException e = fails(writer);
    assertThat(e)
        .hasMessageThat()
        .contains("tensor b (data offsets 32 to 64) overlaps tensor a (0 to 64)");
    // Empty tensors overlap nothing.
    GgufFile file =
        new GgufWriter()
            .tensor("a", 0, new long[] {8}, new byte[32], 0)
            .tensor("b", 0, new long[] {0}, new byte[0], 0)
            .parse();
    assertThat(file.readStored("b").elementCount()).isEqualTo(0);
  }

  @Test
  void duplicateTensorNames() {
    GgufWriter writer =
        new GgufWriter()
            .f32Tensor("t", new long[] {1}, new float[1])
            .f32Tensor("t", new long[] {1}, new float[1]);
    WeightLoadException e = fails(writer);
    assertOffset(e, 24 + 33);
    assertThat(e).hasMessageThat().contains("tensor t appears twice (first at offset 24)");
    GgufWriter clash =
        new GgufWriter()
            .f32Tensor("token_embd.weight", new long[] {1}, new float[1])
            .f32Tensor("model.embed_tokens.weight", new long[] {1}, new float[1]);
    assertThat(fails(clash))
        .hasMessageThat()
        .contains(
            "tensors token_embd.weight and model.embed_tokens.weight both stand for the Hugging Face tensor model.embed_tokens.weight");
  }

  // ---- Truncation and random damage.

  /** A llama file with every kind of metadata value and tensors of several types. */
  private static GgufWriter rich(int version) {
    GgufWriter w =
        GgufFileTest.llama(version)
            .put("u8", GgufValueType.UINT8, 7)
            .put("i8", GgufValueType.INT8, -7)
            .put("u16", GgufValueType.UINT16, 700)
            .put("i16", GgufValueType.INT16, -700)
            .put("i32", GgufValueType.INT32, -70000)
            .put("bool", GgufValueType.BOOL, true)
            .put("u64", GgufValueType.UINT64, 1L << 40)
            .put("i64", GgufValueType.INT64, -(1L << 40))
            .put("f64", GgufValueType.FLOAT64, 0.25)
            .put(
                "tokenizer.ggml.tokens",
                GgufValueType.ARRAY,
                new Arr(GgufValueType.STRING, List.of("<unk>", "<s>", "</s>", "▁", "一")))
            .put(
                "tokenizer.ggml.scores",
                GgufValueType.ARRAY,
                new Arr(GgufValueType.FLOAT32, List.of(0f, 0f, 0f, -1f, -2f)))
            .put(
                "bools",
                GgufValueType.ARRAY,
                new Arr(GgufValueType.BOOL, List.of(true, false, true)))
            .put(
                "nested",
                GgufValueType.ARRAY,
                new Arr(
                    GgufValueType.ARRAY,
                    List.of(
                        new Arr(GgufValueType.STRING, List.of("x", "yz")),
                        new Arr(GgufValueType.INT64, List.of(1L, 2L)))));
    w.f32Tensor("blk.0.attn_q.bias", new long[] {8}, GgufFileTest.ramp(8, 0));
    w.tensor(
        "blk.0.attn_k.bias",
        Dtype.F16,
        new long[] {4},
        GgufWriter.f16Bytes(GgufFileTest.ramp(4, 0)));
    byte[] q8 = new byte[2 * 34];
    new Random(1).nextBytes(q8);
    w.tensor("output.weight", Dtype.Q8_0, new long[] {32, 2}, q8);
    byte[] q4k = new byte[2 * 144];
    new Random(2).nextBytes(q4k);
    w.tensor("extra.q4_k", Dtype.Q4_K, new long[] {256, 2}, q4k);
    return w;
  }

  private record Base(String label, byte[] bytes, long headerEnd, List<GgufWriter.Field> fields) {}

  private static List<Base> bases() throws IOException {
    List<Base> bases = new ArrayList<>();
    for (int version : new int[] {2, 3}) {
      GgufWriter w = rich(version);
      byte[] bytes = w.toBytes();
      bases.add(
          new Base(
              "rich v" + version, bytes, GgufWriter.parse(NAME, bytes).dataStart(), w.fields()));
    }
    Optional<Path> shared = SharedConformance.LLAMA_GGUF.root();
    if (shared.isPresent()) {
      byte[] bytes = Files.readAllBytes(shared.get().resolve("tiny/gguf/model-f32.gguf"));
      bases.add(new Base("tiny f32", bytes, GgufWriter.parse(NAME, bytes).dataStart(), List.of()));
    }
    return bases;
  }

  @Test
  void basesAreValid() throws IOException {
    for (Base base : bases()) {
      GgufFile file = GgufWriter.parse(NAME, base.bytes());
      assertWithMessage(base.label()).that(file.tensorNames()).isNotEmpty();
      exercise(file);
    }
  }

  @Test
  void truncatedAnywhere() throws IOException {
    for (Base base : bases()) {
      List<Integer> lengths = new ArrayList<>();
      for (int n = 0; n <= base.headerEnd() + 8; n++) {
        lengths.add(n);
      }
      int data = base.bytes().length - (int) base.headerEnd();
      for (int i = 0; i < 200; i++) {
        lengths.add((int) base.headerEnd() + (int) ((long) data * i / 200));
      }
      for (int from = 0; from < lengths.size(); from += 500) {
        List<Integer> batch = lengths.subList(from, Math.min(lengths.size(), from + 500));
        assertTimeoutPreemptively(
            BATCH_LIMIT,
            () -> {
              for (int n : batch) {
                check(base.label() + " cut to " + n + " bytes", Arrays.copyOf(base.bytes(), n));
              }
            },
            base.label());
      }
    }
  }

  @Test
  void randomBytesInTheHeader() throws IOException {
    for (Base base : bases()) {
      Random random = new Random(base.label().hashCode());
      for (int batch = 0; batch < 4; batch++) {
        assertTimeoutPreemptively(
            BATCH_LIMIT,
            () -> {
              for (int attempt = 0; attempt < 150; attempt++) {
                byte[] bytes = base.bytes().clone();
                int changes = 1 + random.nextInt(4);
                StringBuilder what = new StringBuilder(base.label() + ":");
                for (int c = 0; c < changes; c++) {
                  int at = random.nextInt((int) base.headerEnd());
                  bytes[at] = (byte) random.nextInt(256);
                  what.append(" [").append(at).append("]=").append(bytes[at] & 0xff);
                }
                check(what.toString(), bytes);
              }
            },
            base.label());
      }
    }
  }

  @Test
  void largeValuesInLengthsCountsAndOffsets() throws IOException {
    for (Base base : bases()) {
      Random random = new Random(~base.label().hashCode());
      for (int batch = 0; batch < 4; batch++) {
        assertTimeoutPreemptively(
            BATCH_LIMIT,
            () -> {
              for (int attempt = 0; attempt < 150; attempt++) {
                GgufWriter.Field field;
                if (!base.fields().isEmpty() && random.nextInt(4) != 0) {
                  field = base.fields().get(random.nextInt(base.fields().size()));
                } else {
                  int width = random.nextBoolean() ? 8 : 4;
                  field =
                      new GgufWriter.Field(
                          random.nextInt((int) base.headerEnd() - width), width, "random");
                }
                long value = largeValue(random, base.bytes().length, field.offset());
                byte[] bytes = patch(base.bytes(), field.offset(), field.width(), value);
                check(
                    base.label()
                        + ": "
                        + field.what()
                        + " at "
                        + field.offset()
                        + " = "
                        + Long.toUnsignedString(value),
                    bytes);
              }
            },
            base.label());
      }
    }
  }

  private static long largeValue(Random random, long size, long offset) {
    long[] values = {
      -1,
      Long.MIN_VALUE,
      Long.MAX_VALUE,
      1L << 32,
      (1L << 32) - 1,
      Integer.MAX_VALUE,
      1L << 31,
      1L << 62,
      size,
      size - offset,
      size - offset - 7,
      size - offset - 8,
      size - offset - 9,
      size * 2,
      0,
      1,
      2,
      3,
      4,
      5,
      12,
      13,
      31,
      32,
      64,
      256,
      0xFFFF,
      0x10000
    };
    return random.nextInt(5) == 0 ? random.nextLong() : values[random.nextInt(values.length)];
  }

  /**
   * Parsing either fails with a {@link WeightLoadException} or gives a file that reads completely.
   */
  private static void check(String what, byte[] bytes) {
    GgufFile file;
    try {
      file = GgufWriter.parse(NAME, bytes);
    } catch (WeightLoadException e) {
      assertWithMessage(what).that(e.getMessage()).isNotEmpty();
      return;
    } catch (Throwable t) {
      throw new AssertionError(what + ": parsing threw " + t, t);
    }
    try {
      exercise(file);
    } catch (Throwable t) {
      throw new AssertionError(what + ": reading the parsed file threw " + t, t);
    }
  }

  /**
   * Reads every metadata value, the stated spec and every row of every tensor; only
   * WeightLoadException may come out.
   */
  private static void exercise(GgufFile file) {
    assertThat(file.toString()).isNotEmpty();
    GgufMetadata metadata = file.metadata();
    for (GgufMetadata.Entry entry : metadata.entries().values()) {
      touch(entry.value());
      String key = entry.key();
      tolerate(() -> metadata.getInteger(key));
      tolerate(() -> metadata.getFloat(key));
      tolerate(() -> metadata.getString(key));
      tolerate(() -> metadata.getBool(key));
      tolerate(() -> metadata.getArray(key));
    }
    tolerate(file::statedSpec);
    tolerate(file::architecture);
    for (String name : file.tensorNames()) {
      tolerate(() -> readRows(file.readStored(name)));
    }
    for (String name : file.names()) {
      tolerate(() -> file.shape(name));
      tolerate(() -> file.dtypeName(name));
      tolerate(() -> readRows(file.read(name)));
    }
  }

  private static void touch(Object value) {
    if (value instanceof List<?> list) {
      for (Object item : list) {
        touch(item);
      }
      for (int i = 0; i < list.size(); i++) {
        touch(list.get(i));
      }
      assertThat(list.toString()).isNotNull();
    } else {
      assertThat(value).isNotNull();
    }
  }

  private static Object readRows(WeightTensor tensor) {
    float[] row = new float[Math.toIntExact(tensor.columns())];
    for (long r = 0; r < tensor.rows(); r++) {
      tensor.readRow(r, row, 0);
      tensor.dot(r, row, 0);
    }
    return tensor;
  }

  private static void tolerate(java.util.function.Supplier<?> action) {
    try {
      action.get();
    } catch (WeightLoadException e) {
      assertThat(e.getMessage()).isNotEmpty();
    }
  }

  @Test
  void largeFileOffsetsAreLongs() {
    // A tensor info may place data anywhere a long reaches; a file too short for it is an error,
    // not an overflow.
    byte[] bytes =
        new GgufWriter().tensor("t", 0, new long[] {1L << 30, 4}, new byte[0], 0).toBytes();
    assertThat(fails(patch(bytes, 24 + 8 + 1 + 4 + 16 + 4, 8, 1L << 33)))
        .hasMessageThat()
        .contains("its 17179869184 bytes at data offset 8589934592");
  }

  @Test
  void stringsAreUtf8() {
    String key = "ключ";
    GgufFile file = new GgufWriter().putString(key, "значение").parse();
    assertThat(file.metadata().get(key)).isEqualTo("значение");
    assertThat(file.metadata().keys()).containsExactly(key);
  }
}
