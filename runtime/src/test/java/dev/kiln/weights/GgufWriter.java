package dev.kiln.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes GGUF files for tests: metadata of every value type (arrays of any type, nested), tensors
 * of any GGML type id at aligned or given offsets, and, for corruption tests, values the format
 * forbids (raw value bytes, unknown types, duplicate keys). Records where every length, count, type
 * and offset field went ({@link #fields()}).
 */
public final class GgufWriter {
  /** An array value: its element type and elements (nested arrays are {@code Arr} too). */
  public record Arr(GgufValueType elementType, List<?> items) {}

  /** A value written as given bytes after the type id. */
  record Raw(int typeId, byte[] bytes) {}

  /** Where a numeric header field was written and how wide it is. */
  record Field(long offset, int width, String what) {}

  private record Kv(String key, Object type, Object value) {}

  private record Tensor(String name, long[] dims, int ggmlType, byte[] data, long offset) {}

  private final int version;
  private final List<Kv> metadata = new ArrayList<>();
  private final List<Tensor> tensors = new ArrayList<>();
  private final List<Field> fields = new ArrayList<>();
  private long alignment = 32;
  private int magic = GgufContainer.MAGIC;

  GgufWriter(int version) {
    this.version = version;
  }

  public GgufWriter() {
    this(3);
  }

  GgufWriter magic(int magic) {
    this.magic = magic;
    return this;
  }

  /** Adds a key (duplicates allowed, for tests that need them). */
  public GgufWriter put(String key, GgufValueType type, Object value) {
    metadata.add(new Kv(key, type, value));
    return this;
  }

  /** Adds a key whose value type id and bytes are given as they are. */
  GgufWriter putRaw(String key, int typeId, byte[] bytes) {
    metadata.add(new Kv(key, null, new Raw(typeId, bytes)));
    return this;
  }

  public GgufWriter putString(String key, String value) {
    return put(key, GgufValueType.STRING, value);
  }

  public GgufWriter putU32(String key, long value) {
    return put(key, GgufValueType.UINT32, value);
  }

  public GgufWriter putF32(String key, float value) {
    return put(key, GgufValueType.FLOAT32, value);
  }

  /** Writes {@code general.alignment} and pads the data section to it. */
  GgufWriter alignment(long alignment) {
    this.alignment = alignment;
    return putU32("general.alignment", alignment);
  }

  /** Pads to {@code alignment} without writing the key (to test a wrong or missing key). */
  GgufWriter padding(long alignment) {
    this.alignment = alignment;
    return this;
  }

  /** A tensor at the next aligned offset. */
  GgufWriter tensor(String name, Dtype dtype, long[] dims, byte[] data) {
    return tensor(name, dtype.ggmlType(), dims, data, -1);
  }

  /** A tensor at a given data offset ({@code -1}: the next aligned one), of any type id. */
  GgufWriter tensor(String name, int ggmlType, long[] dims, byte[] data, long offset) {
    tensors.add(new Tensor(name, dims.clone(), ggmlType, data.clone(), offset));
    return this;
  }

  GgufWriter f32Tensor(String name, long[] dims, float[] values) {
    return tensor(name, Dtype.F32, dims, f32Bytes(values));
  }

  static byte[] f32Bytes(float[] values) {
    ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      buffer.putFloat(v);
    }
    return buffer.array();
  }

  static byte[] f16Bytes(float[] values) {
    ByteBuffer buffer = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      buffer.putShort(Float.floatToFloat16(v));
    }
    return buffer.array();
  }

  /** The numeric fields written by the last {@link #toBytes}. */
  List<Field> fields() {
    return List.copyOf(fields);
  }

  public byte[] toBytes() {
    fields.clear();
    Out out = new Out();
    out.u32(magic);
    out.u32(version);
    field(out, 8, "tensor count");
    out.u64(tensors.size());
    field(out, 8, "kv count");
    out.u64(metadata.size());
    for (Kv kv : metadata) {
      string(out, kv.key());
      if (kv.value() instanceof Raw raw) {
        field(out, 4, kv.key() + " type");
        out.u32(raw.typeId());
        out.bytes(raw.bytes());
      } else {
        GgufValueType type = (GgufValueType) kv.type();
        field(out, 4, kv.key() + " type");
        out.u32(type.id());
        value(out, type, kv.value());
      }
    }
    long[] offsets = new long[tensors.size()];
    long next = 0;
    for (int i = 0; i < tensors.size(); i++) {
      Tensor t = tensors.get(i);
      offsets[i] = t.offset() >= 0 ? t.offset() : next;
      next = Math.max(next, align(offsets[i] + t.data().length));
    }
    for (int i = 0; i < tensors.size(); i++) {
      Tensor t = tensors.get(i);
      string(out, t.name());
      field(out, 4, t.name() + " n_dims");
      out.u32(t.dims().length);
      for (long d : t.dims()) {
        field(out, 8, t.name() + " dim");
        out.u64(d);
      }
      field(out, 4, t.name() + " type");
      out.u32(t.ggmlType());
      field(out, 8, t.name() + " offset");
      out.u64(offsets[i]);
    }
    while (out.size() % alignment != 0) {
      out.bytes(new byte[1]);
    }
    long dataStart = out.size();
    long end = 0;
    for (int i = 0; i < tensors.size(); i++) {
      end = Math.max(end, align(offsets[i] + tensors.get(i).data().length));
    }
    byte[] bytes = new byte[Math.toIntExact(dataStart + end)];
    System.arraycopy(out.toByteArray(), 0, bytes, 0, (int) dataStart);
    for (int i = 0; i < tensors.size(); i++) {
      byte[] data = tensors.get(i).data();
      System.arraycopy(data, 0, bytes, (int) (dataStart + offsets[i]), data.length);
    }
    return bytes;
  }

  private long align(long offset) {
    return (offset + alignment - 1) / alignment * alignment;
  }

  private void field(Out out, int width, String what) {
    fields.add(new Field(out.size(), width, what));
  }

  private void string(Out out, String value) {
    byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
    field(out, 8, "string length");
    out.u64(utf8.length);
    out.bytes(utf8);
  }

  private void value(Out out, GgufValueType type, Object value) {
    switch (type) {
      case UINT8, INT8 -> out.bytes(new byte[] {((Number) value).byteValue()});
      case UINT16, INT16 -> out.u16(((Number) value).shortValue());
      case UINT32, INT32 -> out.u32(((Number) value).intValue());
      case UINT64, INT64 -> out.u64(((Number) value).longValue());
      case FLOAT32 -> out.u32(Float.floatToRawIntBits(((Number) value).floatValue()));
      case FLOAT64 -> out.u64(Double.doubleToRawLongBits(((Number) value).doubleValue()));
      case BOOL -> out.bytes(new byte[] {(byte) ((Boolean) value ? 1 : 0)});
      case STRING -> string(out, (String) value);
      case ARRAY -> {
        Arr array = (Arr) value;
        field(out, 4, "array element type");
        out.u32(array.elementType().id());
        field(out, 8, "array length");
        out.u64(array.items().size());
        for (Object item : array.items()) {
          value(out, array.elementType(), item);
        }
      }
    }
  }

  public Path write(Path file) throws IOException {
    Files.write(file, toBytes());
    return file;
  }

  /** Parses {@code bytes} as a file named {@code name}. */
  public static GgufFile parse(String name, byte[] bytes) {
    return GgufFile.parse(Path.of(name), MemorySegment.ofArray(bytes));
  }

  public GgufFile parse() {
    return parse("test.gguf", toBytes());
  }

  /** Little-endian output. */
  private static final class Out {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    int size() {
      return bytes.size();
    }

    void bytes(byte[] b) {
      bytes.writeBytes(b);
    }

    void u16(short v) {
      bytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(v).array());
    }

    void u32(int v) {
      bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    void u64(long v) {
      bytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    byte[] toByteArray() {
      return bytes.toByteArray();
    }
  }
}
