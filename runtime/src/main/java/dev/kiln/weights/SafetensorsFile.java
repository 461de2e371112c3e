package dev.kiln.weights;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.kiln.spec.SpecElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face {@code .safetensors} file, memory-mapped. Layout: an unsigned little-endian 64-bit
 * header length N, N bytes of JSON ({@code name -> {dtype, shape, data_offsets: [begin, end]}},
 * offsets relative to the data section after the header, plus an optional {@code __metadata__}),
 * then the data. Every entry is checked against the file before any tensor is read.
 */
public final class SafetensorsFile implements Checkpoint {
  /** Upper bound on the header (the format's reference reader uses 100 MB). */
  static final long MAX_HEADER_BYTES = 100L << 20;

  /** Longest message about a header (its names are unbounded). */
  static final int MAX_MESSAGE_CHARS = 1000;

  /** One tensor's entry in the header. */
  public record Entry(String name, String dtype, long[] shape, long begin, long end) {
    public Entry {
      shape = shape.clone();
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }
  }

  private final Path path;
  private final MemorySegment file;
  private final long dataStart;
  private final Map<String, Entry> entries;
  private final Map<String, String> metadata;

  private SafetensorsFile(
      Path path,
      MemorySegment file,
      long dataStart,
      Map<String, Entry> entries,
      Map<String, String> metadata) {
    this.path = path;
    this.file = file;
    this.dataStart = dataStart;
    this.entries = entries;
    this.metadata = metadata;
  }

  /**
   * Maps and checks a file; throws {@link WeightLoadException} naming the file, entry and offset of
   * any problem.
   */
  public static SafetensorsFile open(Path path) {
    return parse(path, MappedFile.map(path));
  }

  static SafetensorsFile parse(Path path, MemorySegment file) {
    long size = file.byteSize();
    if (size < 8) {
      throw error(path, 0, "file is " + size + " bytes, shorter than the 8-byte header length");
    }
    long headerLength =
        file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
    if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
      throw error(
          path,
          0,
          "header length "
              + Long.toUnsignedString(headerLength)
              + " does not fit a file of "
              + size
              + " bytes (nor the "
              + MAX_HEADER_BYTES
              + "-byte limit)");
    }
    String json;
    try {
      json =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .decode(file.asSlice(8, headerLength).asByteBuffer())
              .toString();
    } catch (CharacterCodingException e) {
      throw error(path, 8, "header is not valid UTF-8");
    }
    if (!json.strip().startsWith("{")) {
      throw error(path, 8, "header is not a JSON object");
    }
    // Strict JSON, and no name twice in one object (a map would silently keep one of two tensors).
    Map<String, JsonElement> header =
        StrictJson.parseObject(json, "header", message -> error(path, 8, message)).asMap();

    long dataStart = 8 + headerLength;
    long dataSize = size - dataStart;
    Map<String, Entry> entries = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    for (var member : header.entrySet()) {
      String name = member.getKey();
      if (name.equals("__metadata__")) {
        readMetadata(path, member.getValue(), metadata);
        continue;
      }
      entries.put(name, readEntry(path, name, member.getValue(), dataSize));
    }
    checkOverlaps(path, entries.values(), dataStart);
    return new SafetensorsFile(
        path,
        file,
        dataStart,
        Collections.unmodifiableMap(entries),
        Collections.unmodifiableMap(metadata));
  }

  private static void readMetadata(Path path, JsonElement value, Map<String, String> metadata) {
    if (!value.isJsonObject()) {
      throw error(path, 8, "__metadata__ must be an object of strings");
    }
    for (var m : value.getAsJsonObject().entrySet()) {
      if (!m.getValue().isJsonPrimitive() || !m.getValue().getAsJsonPrimitive().isString()) {
        throw error(path, 8, "__metadata__." + m.getKey() + " must be a string");
      }
      metadata.put(m.getKey(), m.getValue().getAsString());
    }
  }

  private static Entry readEntry(Path path, String name, JsonElement value, long dataSize) {
    if (!value.isJsonObject()) {
      throw error(path, 8, "tensor " + name + ": entry is not an object");
    }
    JsonObject object = value.getAsJsonObject();
    String dtype = string(path, name, object, "dtype");
    long[] shape = longs(path, name, object, "shape");
    long[] offsets = longs(path, name, object, "data_offsets");
    if (offsets.length != 2) {
      throw error(
          path,
          8,
          "tensor "
              + name
              + ": data_offsets must be [begin, end], was "
              + Arrays.toString(offsets));
    }
    long begin = offsets[0];
    long end = offsets[1];
    if (begin > end || end > dataSize) {
      throw error(
          path,
          8,
          "tensor "
              + name
              + ": data_offsets ["
              + begin
              + ", "
              + end
              + "] lie outside the data section of "
              + dataSize
              + " bytes (file truncated?)");
    }
    long elements = 1;
    for (long d : shape) {
      if (d < 0) {
        throw error(
            path, 8, "tensor " + name + ": negative dimension in shape " + Arrays.toString(shape));
      }
      try {
        elements = Math.multiplyExact(elements, d);
      } catch (ArithmeticException e) {
        throw error(path, 8, "tensor " + name + ": shape " + Arrays.toString(shape) + " overflows");
      }
    }
    Integer elementBytes = elementBytes(dtype);
    if (elementBytes != null) {
      long expected;
      try {
        expected = Math.multiplyExact(elements, elementBytes);
      } catch (ArithmeticException e) {
        throw error(path, 8, "tensor " + name + ": shape " + Arrays.toString(shape) + " overflows");
      }
      if (end - begin != expected) {
        throw error(
            path,
            8,
            "tensor "
                + name
                + ": "
                + dtype
                + " "
                + Arrays.toString(shape)
                + " needs "
                + expected
                + " bytes but data_offsets ["
                + begin
                + ", "
                + end
                + "] hold "
                + (end - begin));
      }
    }
    return new Entry(name, dtype, shape, begin, end);
  }

  /** Bytes per element of the dtypes safetensors defines; null for unknown names. */
  private static Integer elementBytes(String dtype) {
    return switch (dtype) {
      case "F64", "I64", "U64" -> 8;
      case "F32", "I32", "U32" -> 4;
      case "F16", "BF16", "I16", "U16" -> 2;
      case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
      default -> null;
    };
  }

  private static void checkOverlaps(
      Path path, java.util.Collection<Entry> entries, long dataStart) {
    List<Entry> sorted = new ArrayList<>(entries);
    sorted.removeIf(e -> e.begin() == e.end());
    sorted.sort(Comparator.comparingLong(Entry::begin));
    for (int i = 1; i < sorted.size(); i++) {
      Entry previous = sorted.get(i - 1);
      Entry current = sorted.get(i);
      if (current.begin() < previous.end()) {
        throw error(
            path,
            dataStart + current.begin(),
            "tensor " + current.name() + " overlaps tensor " + previous.name());
      }
    }
  }

  private static String string(Path path, String name, JsonObject object, String key) {
    JsonElement value = object.get(key);
    if (value == null || !value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString()) {
      throw error(path, 8, "tensor " + name + ": missing or non-string \"" + key + "\"");
    }
    return value.getAsString();
  }

  private static long[] longs(Path path, String name, JsonObject object, String key) {
    JsonElement value = object.get(key);
    if (value == null || !value.isJsonArray()) {
      throw error(path, 8, "tensor " + name + ": missing or non-array \"" + key + "\"");
    }
    JsonArray array = value.getAsJsonArray();
    if (array.size() > 64) {
      throw error(path, 8, "tensor " + name + ": \"" + key + "\" has " + array.size() + " entries");
    }
    long[] result = new long[array.size()];
    for (int i = 0; i < result.length; i++) {
      JsonElement element = array.get(i);
      if (!element.isJsonPrimitive() || !element.getAsJsonPrimitive().isNumber()) {
        throw error(path, 8, "tensor " + name + ": \"" + key + "\" must hold integers");
      }
      try {
        result[i] = element.getAsJsonPrimitive().getAsBigDecimal().longValueExact();
      } catch (ArithmeticException | NumberFormatException e) {
        // ArithmeticException: a fraction, or a number beyond 64 bits (such as 1e100000).
        throw error(
            path,
            8,
            "tensor " + name + ": \"" + key + "\" holds " + element + ", not a 64-bit integer");
      }
      if (result[i] < 0) {
        throw error(path, 8, "tensor " + name + ": \"" + key + "\" holds negative " + result[i]);
      }
    }
    return result;
  }

  private static WeightLoadException error(Path path, long offset, String message) {
    // Names in a header can be megabytes long; a message stays readable.
    return new WeightLoadException(
        path
            + " (safetensors, offset "
            + offset
            + "): "
            + dev.kiln.ProblemList.shorten(message, MAX_MESSAGE_CHARS));
  }

  public Path path() {
    return path;
  }

  /** The header's entries, in file order. */
  public Map<String, Entry> entries() {
    return entries;
  }

  /** The header's {@code __metadata__}. */
  public Map<String, String> metadata() {
    return metadata;
  }

  @Override
  public String format() {
    return "safetensors";
  }

  /** A bare safetensors file states no spec values (a Hugging Face folder's config.json does). */
  @Override
  public Map<SpecElement, Object> statedSpec() {
    return Map.of();
  }

  @Override
  public String description() {
    return path.toString();
  }

  @Override
  public Set<String> names() {
    return entries.keySet();
  }

  @Override
  public long[] shape(String name) {
    return entry(name).shape();
  }

  @Override
  public String dtypeName(String name) {
    return entry(name).dtype();
  }

  private Entry entry(String name) {
    Entry entry = entries.get(name);
    if (entry == null) {
      throw new WeightLoadException(path + ": no tensor named " + name);
    }
    return entry;
  }

  /** A view of the tensor's bytes in the file (no copy). */
  @Override
  public WeightTensor read(String name) {
    Entry entry = entry(name);
    Dtype dtype;
    try {
      dtype = Dtype.valueOf(entry.dtype());
      if (dtype.quantized()) {
        throw new IllegalArgumentException(dtype + " is not a safetensors dtype");
      }
    } catch (IllegalArgumentException e) {
      throw new WeightLoadException(
          path
              + ": tensor "
              + name
              + " has dtype "
              + entry.dtype()
              + "; Kiln reads F32, F16 and BF16 safetensors");
    }
    MemorySegment bytes = file.asSlice(dataStart + entry.begin(), entry.end() - entry.begin());
    return WeightTensor.of(name, entry.shape(), dtype, bytes);
  }
}
