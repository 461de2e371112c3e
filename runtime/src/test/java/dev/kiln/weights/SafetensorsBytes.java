package dev.kiln.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Writes {@code .safetensors} files for tests, written independently of {@link SafetensorsFile}: an
 * 8-byte little-endian header length, the JSON header, the data. The builder computes offsets; the
 * static helpers assemble raw (possibly malformed) files.
 */
final class SafetensorsBytes {
  private final List<String> entries = new ArrayList<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();
  private final ByteArrayOutputStream data = new ByteArrayOutputStream();

  /** Adds a tensor with raw little-endian bytes, placed after the previous one. */
  SafetensorsBytes add(String name, String dtype, long[] shape, byte[] bytes) {
    long begin = data.size();
    data.writeBytes(bytes);
    entries.add(entry(name, dtype, shape, begin, data.size()));
    return this;
  }

  SafetensorsBytes addF32(String name, long[] shape, float... values) {
    return add(name, "F32", shape, f32(values));
  }

  SafetensorsBytes metadata(String key, String value) {
    metadata.put(key, value);
    return this;
  }

  String header() {
    List<String> members = new ArrayList<>();
    if (!metadata.isEmpty()) {
      members.add(
          "\"__metadata__\":{"
              + metadata.entrySet().stream()
                  .map(e -> quote(e.getKey()) + ":" + quote(e.getValue()))
                  .collect(Collectors.joining(","))
              + "}");
    }
    members.addAll(entries);
    return "{" + String.join(",", members) + "}";
  }

  byte[] bytes() {
    return file(header(), data.toByteArray());
  }

  Path write(Path path) {
    return write(path, bytes());
  }

  static Path write(Path path, byte[] bytes) {
    try {
      return Files.write(path, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String entry(String name, String dtype, long[] shape, long begin, long end) {
    return quote(name)
        + ":{\"dtype\":"
        + quote(dtype)
        + ",\"shape\":"
        + json(shape)
        + ",\"data_offsets\":["
        + begin
        + ","
        + end
        + "]}";
  }

  static String json(long[] shape) {
    return Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(",", "[", "]"));
  }

  static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /** Header length (u64 little-endian), header, data. */
  static byte[] file(String header, byte[] data) {
    byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
    return file(headerBytes.length, headerBytes, data);
  }

  /** A file whose length field says {@code declaredLength}, whatever follows. */
  static byte[] file(long declaredLength, byte[] header, byte[] data) {
    ByteBuffer buffer =
        ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    buffer.putLong(declaredLength).put(header).put(data);
    return buffer.array();
  }

  static byte[] f32(float... values) {
    ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      buffer.putFloat(v);
    }
    return buffer.array();
  }

  /** Raw 16-bit patterns, little-endian. */
  static byte[] halves(int... bits) {
    ByteBuffer buffer = ByteBuffer.allocate(2 * bits.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int b : bits) {
      buffer.putShort((short) b);
    }
    return buffer.array();
  }
}
