package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The GGUF container format (v2 or v3, little-endian), memory-mapped: what any GGUF file holds,
 * whatever its architecture. Layout: the magic {@code GGUF}, a u32 version, u64 tensor and metadata
 * counts; the metadata (key string, u32 value type, value); the tensor infos (name, u32 dimension
 * count, u64 dimensions innermost first, u32 GGML type, u64 offset into the data section); then,
 * padded to {@code general.alignment} (default 32), the data section. Strings are a u64 byte length
 * and UTF-8 bytes. Everything is checked when the file is parsed, before any tensor is read; every
 * problem is a {@link WeightLoadException} naming the file, the byte offset and the key or tensor.
 *
 * <p>How an architecture's tensors and keys map onto Hugging Face's names and a spec is {@link
 * GgufArchitecture}'s; {@link GgufFile} puts the two together.
 */
final class GgufContainer {
  /** "GGUF" read as a little-endian u32. */
  static final int MAGIC = 0x46554747;

  static final long DEFAULT_ALIGNMENT = 32;

  /** GGML tensors have at most four dimensions. */
  static final int MAX_DIMS = 4;

  /** How deep arrays of arrays may nest. */
  static final int MAX_ARRAY_DEPTH = 8;

  /** Longest key or tensor name (GGUF limits keys to 65535 bytes). */
  static final long MAX_NAME_BYTES = 65_535;

  /** Longest string value (a Java array's limit). */
  static final long MAX_STRING_BYTES = Integer.MAX_VALUE - 8;

  /** Fewest bytes of one metadata entry: empty key, type, one-byte value. */
  private static final long MIN_KV_BYTES = 8 + 4 + 1;

  /** Fewest bytes of one tensor info: empty name, dimension count, one dimension, type, offset. */
  private static final long MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

  /** Names of GGML's tensor types by id, for messages about types Kiln does not read. */
  private static final Map<Integer, String> GGML_TYPE_NAMES = ggmlTypeNames();

  private final Path path;
  private final MemorySegment file;
  private final int version;
  private final GgufMetadata metadata;
  private final long alignment;
  private final long dataStart;
  private final Map<String, GgufTensorInfo> tensors;

  private GgufContainer(
      Path path,
      MemorySegment file,
      int version,
      GgufMetadata metadata,
      long alignment,
      long dataStart,
      Map<String, GgufTensorInfo> tensors) {
    this.path = path;
    this.file = file;
    this.version = version;
    this.metadata = metadata;
    this.alignment = alignment;
    this.dataStart = dataStart;
    this.tensors = Collections.unmodifiableMap(tensors);
  }

  /** Checks and indexes the GGUF bytes in {@code file} ({@code path} is for messages). */
  static GgufContainer parse(Path path, MemorySegment file) {
    Cursor in = new Cursor(path, file);
    long size = file.byteSize();
    if (size < 4) {
      throw in.error(0, "file is " + size + " bytes, too short for the GGUF magic");
    }
    int magic = in.u32("magic");
    if (magic != MAGIC) {
      throw in.error(
          0,
          "not a GGUF file: starts with bytes "
              + hex(file, 0, 4)
              + ", expected 47 47 55 46 (\"GGUF\")");
    }
    int version = in.u32("version");
    if (version != 2 && version != 3) {
      int swapped = Integer.reverseBytes(version);
      String why =
          version == 1
              ? "GGUF v1 (32-bit counts) is not supported"
              : swapped >= 1 && swapped <= 3
                  ? "this is a big-endian GGUF v"
                      + swapped
                      + " file, and Kiln reads little-endian files"
                  : "unsupported GGUF version " + Integer.toUnsignedString(version);
      throw in.error(4, why + "; Kiln reads GGUF v2 and v3");
    }
    long tensorCount = in.u64("tensor count");
    long kvCount = in.u64("metadata key-value count");
    long left = size - in.pos;
    if (tensorCount < 0 || tensorCount > left / MIN_TENSOR_INFO_BYTES) {
      throw in.error(
          8,
          "tensor count "
              + Long.toUnsignedString(tensorCount)
              + " cannot fit in the "
              + left
              + " bytes after the header (each tensor info takes at least "
              + MIN_TENSOR_INFO_BYTES
              + ")");
    }
    if (kvCount < 0 || kvCount > left / MIN_KV_BYTES) {
      throw in.error(
          16,
          "metadata key-value count "
              + Long.toUnsignedString(kvCount)
              + " cannot fit in the "
              + left
              + " bytes after the header (each entry takes at least "
              + MIN_KV_BYTES
              + ")");
    }

    Map<String, GgufMetadata.Entry> entries = new LinkedHashMap<>();
    for (long k = 0; k < kvCount; k++) {
      long keyAt = in.pos;
      String key = in.name("metadata entry #" + k + ": key");
      GgufMetadata.Entry previous = entries.get(key);
      if (previous != null) {
        throw in.error(
            keyAt,
            "metadata key "
                + key
                + " appears twice (its first value is at offset "
                + previous.offset()
                + ")");
      }
      long typeAt = in.pos;
      long typeId = Integer.toUnsignedLong(in.u32("metadata " + key + ": value type"));
      GgufValueType type =
          GgufValueType.ofId(typeId)
              .orElseThrow(
                  () ->
                      in.error(
                          typeAt,
                          "metadata "
                              + key
                              + ": unknown value type "
                              + typeId
                              + " (GGUF types are 0 to 12)"));
      long valueAt = in.pos;
      entries.put(key, new GgufMetadata.Entry(key, type, in.value(type, key), valueAt));
    }
    GgufMetadata metadata = new GgufMetadata(path.toString(), entries);
    long alignment = alignment(in, metadata);

    Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
    for (long t = 0; t < tensorCount; t++) {
      GgufTensorInfo info = in.tensorInfo(t, alignment);
      GgufTensorInfo previous = tensors.get(info.name());
      if (previous != null) {
        throw in.error(
            info.infoOffset(),
            "tensor "
                + info.name()
                + " appears twice (first at offset "
                + previous.infoOffset()
                + ")");
      }
      tensors.put(info.name(), info);
    }
    long infosEnd = in.pos;
    long dataStart = (infosEnd + alignment - 1) / alignment * alignment;
    long dataSize = Math.max(0, size - dataStart);
    for (GgufTensorInfo info : tensors.values()) {
      if (info.offset() > dataSize || info.byteSize() > dataSize - info.offset()) {
        throw in.error(
            info.infoOffset(),
            "tensor "
                + info.name()
                + ": its "
                + info.byteSize()
                + " bytes at data offset "
                + info.offset()
                + " (file offset "
                + (dataStart + info.offset())
                + ") run past the end of the file, which has "
                + dataSize
                + " bytes of data after the tensor infos (file truncated?)");
      }
    }
    checkOverlaps(in, tensors.values(), dataStart);
    return new GgufContainer(path, file, version, metadata, alignment, dataStart, tensors);
  }

  private static long alignment(Cursor in, GgufMetadata metadata) {
    String key = "general.alignment";
    if (!metadata.contains(key)) {
      return DEFAULT_ALIGNMENT;
    }
    long alignment = metadata.getInteger(key).orElseThrow();
    if (alignment <= 0 || alignment > 1L << 31 || Long.bitCount(alignment) != 1) {
      throw in.error(
          metadata.offset(key),
          "metadata " + key + " is " + alignment + ", expected a power of two");
    }
    return alignment;
  }

  private static void checkOverlaps(
      Cursor in, java.util.Collection<GgufTensorInfo> infos, long dataStart) {
    List<GgufTensorInfo> sorted = new ArrayList<>(infos);
    sorted.removeIf(info -> info.byteSize() == 0);
    sorted.sort(Comparator.comparingLong(GgufTensorInfo::offset));
    for (int i = 1; i < sorted.size(); i++) {
      GgufTensorInfo previous = sorted.get(i - 1);
      GgufTensorInfo current = sorted.get(i);
      if (current.offset() < previous.offset() + previous.byteSize()) {
        throw in.error(
            current.infoOffset(),
            "tensor "
                + current.name()
                + " (data offsets "
                + current.offset()
                + " to "
                + (current.offset() + current.byteSize())
                + ") overlaps tensor "
                + previous.name()
                + " ("
                + previous.offset()
                + " to "
                + (previous.offset() + previous.byteSize())
                + "); the data section starts at file offset "
                + dataStart);
      }
    }
  }

  public Path path() {
    return path;
  }

  /** The GGUF version, 2 or 3. */
  public int version() {
    return version;
  }

  public GgufMetadata metadata() {
    return metadata;
  }

  /** The data section's alignment ({@code general.alignment}, 32 by default). */
  public long alignment() {
    return alignment;
  }

  /** File offset where the data section starts. */
  public long dataStart() {
    return dataStart;
  }

  /** The GGUF names of the tensors, in file order. */
  public List<String> tensorNames() {
    return List.copyOf(tensors.keySet());
  }

  /** The tensor infos by GGUF name, in file order. */
  public Map<String, GgufTensorInfo> tensorInfos() {
    return tensors;
  }

  /** The tensor info of GGUF tensor {@code ggufName}. */
  public GgufTensorInfo tensorInfo(String ggufName) {
    GgufTensorInfo info = tensors.get(ggufName);
    if (info == null) {
      throw new WeightLoadException(path + ": no GGUF tensor named " + ggufName);
    }
    return info;
  }

  /**
   * GGUF tensor {@code ggufName} as stored (rows in file order, not reordered), named and shaped in
   * row-major order (the GGML dimensions reversed); a view of the mapped file.
   */
  public WeightTensor readStored(String ggufName) {
    return view(tensorInfo(ggufName), ggufName);
  }

  /**
   * Tensor {@code info}'s bytes as a {@link WeightTensor} named {@code name}, in row-major order; a
   * view of the mapped file.
   */
  WeightTensor view(GgufTensorInfo info, String name) {
    if (info.dims()[0] > Integer.MAX_VALUE) {
      throw new WeightLoadException(
          where(info.infoOffset())
              + "tensor "
              + info.name()
              + ": rows of "
              + info.dims()[0]
              + " elements are longer than Kiln reads ("
              + Integer.MAX_VALUE
              + ")");
    }
    MemorySegment bytes = file.asSlice(dataStart + info.offset(), info.byteSize());
    try {
      return WeightTensor.of(name, info.shape(), info.dtype(), bytes);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new WeightLoadException(
          where(info.infoOffset()) + "tensor " + info.name() + ": " + e.getMessage(), e);
    }
  }

  /**
   * The start of a message about byte {@code offset}: {@code "<path> (GGUF, offset <offset>): "}.
   */
  String where(long offset) {
    return path + " (GGUF, offset " + offset + "): ";
  }

  /** A problem at byte {@code offset} of the file, the message shortened as all of Kiln's are. */
  WeightLoadException error(long offset, String message) {
    return error(path, offset, message);
  }

  static WeightLoadException error(Path path, long offset, String message) {
    return new WeightLoadException(
        path
            + " (GGUF, offset "
            + offset
            + "): "
            + dev.kiln.ProblemList.shorten(message, SafetensorsFile.MAX_MESSAGE_CHARS));
  }

  private static String hex(MemorySegment file, long offset, int count) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < count; i++) {
      out.append(i == 0 ? "" : " ")
          .append(String.format("%02x", file.get(ValueLayout.JAVA_BYTE, offset + i) & 0xff));
    }
    return out.toString();
  }

  private static Map<Integer, String> ggmlTypeNames() {
    String[] names = {
      "F32", "F16", "Q4_0", "Q4_1", null, null, "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K",
      "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S",
      "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16", null, null, null,
      "TQ1_0", "TQ2_0", null, null, null, "MXFP4"
    };
    Map<Integer, String> map = new LinkedHashMap<>();
    for (int id = 0; id < names.length; id++) {
      if (names[id] != null) {
        map.put(id, names[id]);
      }
    }
    return Collections.unmodifiableMap(map);
  }

  /** Reads and checks the header, keeping the offset for messages. */
  private static final class Cursor {
    private final Path path;
    private final MemorySegment file;
    private final long size;
    long pos;

    Cursor(Path path, MemorySegment file) {
      this.path = path;
      this.file = file;
      this.size = file.byteSize();
    }

    WeightLoadException error(long offset, String message) {
      return GgufContainer.error(path, offset, message);
    }

    private void need(long bytes, String what) {
      if (bytes > size - pos) {
        throw error(
            pos,
            what
                + ": needs "
                + bytes
                + " bytes but the file ends after "
                + (size - pos)
                + " (truncated?)");
      }
    }

    int u32(String what) {
      need(4, what);
      int value = file.get(GgufCodec.U32, pos);
      pos += 4;
      return value;
    }

    long u64(String what) {
      need(8, what);
      long value = file.get(GgufCodec.U64, pos);
      pos += 8;
      return value;
    }

    /** A key or tensor name: a checked string of at most {@link #MAX_NAME_BYTES}. */
    String name(String what) {
      long at = pos;
      long length = stringLength(what, MAX_NAME_BYTES, -1);
      checkUtf8(what, at, length, -1);
      String name = GgufCodec.string(file, at);
      pos += length;
      return name;
    }

    /** Checks a string's length field, leaving the cursor at its bytes; returns the length. */
    private long stringLength(String what, long max, long index) {
      long at = pos;
      long length = u64(what + element(index) + ": string length");
      if (length < 0 || length > size - pos) {
        throw error(
            at,
            what
                + element(index)
                + ": string length "
                + Long.toUnsignedString(length)
                + " is more than the "
                + (size - pos)
                + " bytes left in the file");
      }
      if (length > max) {
        throw error(
            at,
            what
                + element(index)
                + ": string of "
                + length
                + " bytes is longer than the "
                + max
                + " allowed");
      }
      return length;
    }

    private void checkUtf8(String what, long at, long length, long index) {
      if (!GgufCodec.isUtf8(file, at + 8, length)) {
        throw error(
            at, what + element(index) + ": string of " + length + " bytes is not valid UTF-8");
      }
    }

    private static String element(long index) {
      return index < 0 ? "" : "[" + index + "]";
    }

    /** Checks a value of type {@code type} and returns it (arrays as lazy views of the file). */
    Object value(GgufValueType type, String key) {
      long at = pos;
      check(type, "metadata " + key, 0, -1);
      return GgufCodec.value(file, at, type);
    }

    /** Checks the value at the cursor and moves past it. */
    private void check(GgufValueType type, String what, int depth, long index) {
      switch (type) {
        case STRING -> {
          long at = pos;
          long length = stringLength(what, MAX_STRING_BYTES, index);
          checkUtf8(what, at, length, index);
          pos += length;
        }
        case ARRAY -> checkArray(what, depth, index);
        default -> {
          need(type.fixedSize(), what + element(index) + ": " + type + " value");
          checkBool(type, what, index);
          pos += type.fixedSize();
        }
      }
    }

    private void checkBool(GgufValueType type, String what, long index) {
      if (type == GgufValueType.BOOL) {
        byte b = file.get(ValueLayout.JAVA_BYTE, pos);
        if (b != 0 && b != 1) {
          throw error(
              pos, what + element(index) + ": bool byte is " + (b & 0xff) + ", expected 0 or 1");
        }
      }
    }

    private void checkArray(String what, int depth, long index) {
      long at = pos;
      String name = what + element(index);
      if (depth >= MAX_ARRAY_DEPTH) {
        throw error(at, name + ": arrays nested more than " + MAX_ARRAY_DEPTH + " deep");
      }
      long typeId = Integer.toUnsignedLong(u32(name + ": array element type"));
      GgufValueType elementType =
          GgufValueType.ofId(typeId)
              .orElseThrow(
                  () ->
                      error(
                          at,
                          name
                              + ": unknown array element type "
                              + typeId
                              + " (GGUF types are 0 to 12)"));
      long count = u64(name + ": array length");
      long left = size - pos;
      if (count < 0 || count > left / elementType.minSize()) {
        throw error(
            at + 4,
            name
                + ": array of "
                + Long.toUnsignedString(count)
                + " "
                + elementType
                + " values cannot fit in the "
                + left
                + " bytes left in the file (each takes at least "
                + elementType.minSize()
                + ")");
      }
      if (count > Integer.MAX_VALUE) {
        throw error(
            at + 4,
            name
                + ": array of "
                + count
                + " values is longer than the "
                + Integer.MAX_VALUE
                + " allowed");
      }
      if (elementType.fixedSize() > 0) {
        if (elementType == GgufValueType.BOOL) {
          long start = pos;
          for (long i = 0; i < count; i++) {
            pos = start + i;
            checkBool(elementType, name, i);
          }
          pos = start;
        }
        pos += count * elementType.fixedSize();
        return;
      }
      for (long i = 0; i < count; i++) {
        check(elementType, name, depth + 1, i);
      }
    }

    /** Checks one tensor info and moves past it. */
    GgufTensorInfo tensorInfo(long number, long alignment) {
      long at = pos;
      String name = name("tensor info #" + number + ": name");
      String what = "tensor " + name;
      long dimsAt = pos;
      long dimCount = Integer.toUnsignedLong(u32(what + ": dimension count"));
      if (dimCount == 0 || dimCount > MAX_DIMS) {
        throw error(dimsAt, what + ": " + dimCount + " dimensions, expected 1 to " + MAX_DIMS);
      }
      long[] dims = new long[(int) dimCount];
      long elements = 1;
      for (int d = 0; d < dims.length; d++) {
        long dimAt = pos;
        dims[d] = u64(what + ": dimension " + d);
        if (dims[d] < 0) {
          throw error(
              dimAt,
              what
                  + ": dimension "
                  + d
                  + " is "
                  + Long.toUnsignedString(dims[d])
                  + ", more than 2^63 - 1");
        }
        try {
          elements = Math.multiplyExact(elements, dims[d]);
        } catch (ArithmeticException e) {
          throw error(
              dimAt,
              what
                  + ": dimensions "
                  + Arrays.toString(Arrays.copyOf(dims, d + 1))
                  + " have more elements than a 64-bit count holds");
        }
      }
      long typeAt = pos;
      long typeId = Integer.toUnsignedLong(u32(what + ": type"));
      Dtype dtype =
          Dtype.ofGgmlType(typeId)
              .orElseThrow(
                  () ->
                      error(
                          typeAt,
                          what
                              + ": GGML type "
                              + typeId
                              + Optional.ofNullable(
                                      GGML_TYPE_NAMES.get(
                                          (int) Math.min(typeId, Integer.MAX_VALUE)))
                                  .map(n -> " (" + n + ")")
                                  .orElse(" (unknown)")
                              + " is not one Kiln reads; Kiln reads "
                              + Arrays.stream(Dtype.values())
                                  .map(t -> t.name() + " (" + t.ggmlType() + ")")
                                  .collect(Collectors.joining(", "))));
      if (dims[0] % dtype.blockSize() != 0) {
        throw error(
            dimsAt,
            what
                + ": rows of "
                + dims[0]
                + " "
                + dtype
                + " elements do not fill whole blocks of "
                + dtype.blockSize());
      }
      long bytes = dtype.byteSize(elements);
      if (bytes < 0) {
        throw error(
            dimsAt,
            what
                + ": "
                + dtype
                + " "
                + Arrays.toString(dims)
                + " takes more bytes than a 64-bit size holds");
      }
      long offsetAt = pos;
      long offset = u64(what + ": data offset");
      if (offset < 0) {
        throw error(
            offsetAt,
            what + ": data offset " + Long.toUnsignedString(offset) + " is more than 2^63 - 1");
      }
      if (offset % alignment != 0) {
        throw error(
            offsetAt,
            what + ": data offset " + offset + " is not a multiple of the alignment " + alignment);
      }
      return new GgufTensorInfo(name, dims, dtype, offset, bytes, at);
    }
  }
}
