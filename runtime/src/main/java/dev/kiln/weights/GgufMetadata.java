package dev.kiln.weights;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The key-value metadata of a GGUF file, in file order. {@link #get} gives each value as a plain
 * Java value ({@link GgufValueType} lists which); the typed getters accept any stored type that
 * represents the value exactly (e.g. any integer type for {@link #getInteger}) and throw {@link
 * WeightLoadException}, naming the key and its offset, for one that does not.
 */
public final class GgufMetadata {
  /** One key: its stored type, its value and the file offset of the value. */
  public record Entry(String key, GgufValueType type, Object value, long offset) {}

  private final String source;
  private final Map<String, Entry> entries;

  GgufMetadata(String source, Map<String, Entry> entries) {
    this.source = source;
    this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
  }

  /** Keys in file order. */
  public Set<String> keys() {
    return entries.keySet();
  }

  public boolean contains(String key) {
    return entries.containsKey(key);
  }

  /** Every entry, by key, in file order. */
  public Map<String, Entry> entries() {
    return entries;
  }

  /** Every value, by key, in file order. */
  public Map<String, Object> asMap() {
    Map<String, Object> map = new LinkedHashMap<>();
    entries.forEach((key, entry) -> map.put(key, entry.value()));
    return Collections.unmodifiableMap(map);
  }

  /** The value of {@code key}, or null when the file has no such key. */
  public Object get(String key) {
    Entry entry = entries.get(key);
    return entry == null ? null : entry.value();
  }

  /** The stored type of {@code key}'s value. */
  public Optional<GgufValueType> type(String key) {
    return Optional.ofNullable(entries.get(key)).map(Entry::type);
  }

  /** The element type of an array value. */
  public Optional<GgufValueType> elementType(String key) {
    return Optional.ofNullable(entries.get(key))
        .filter(e -> e.value() instanceof GgufArray)
        .map(e -> ((GgufArray) e.value()).elementType());
  }

  /** An integer of any integer type (a {@code UINT64} above {@link Long#MAX_VALUE} is an error). */
  public OptionalLong getInteger(String key) {
    Entry entry = entries.get(key);
    if (entry == null) {
      return OptionalLong.empty();
    }
    if (!entry.type().isInteger()) {
      throw wrongType(entry, "an integer");
    }
    long value = ((Number) entry.value()).longValue();
    if (entry.type() == GgufValueType.UINT64 && value < 0) {
      throw new WeightLoadException(
          where(entry)
              + "value "
              + Long.toUnsignedString(value)
              + " does not fit a signed 64-bit integer");
    }
    return OptionalLong.of(value);
  }

  /**
   * A number as a double: a {@code FLOAT32} widened exactly (so {@code 1e-5f} gives {@code
   * 9.999999747378752E-6}), a {@code FLOAT64} as it is, an integer converted.
   */
  public OptionalDouble getFloat(String key) {
    Entry entry = entries.get(key);
    if (entry == null) {
      return OptionalDouble.empty();
    }
    return switch (entry.type()) {
      case FLOAT32 -> OptionalDouble.of((Float) entry.value());
      case FLOAT64 -> OptionalDouble.of((Double) entry.value());
      default -> {
        if (!entry.type().isInteger()) {
          throw wrongType(entry, "a number");
        }
        long value = ((Number) entry.value()).longValue();
        yield OptionalDouble.of(
            entry.type() == GgufValueType.UINT64 && value < 0
                ? Double.parseDouble(Long.toUnsignedString(value))
                : value);
      }
    };
  }

  public Optional<String> getString(String key) {
    Entry entry = entries.get(key);
    if (entry == null) {
      return Optional.empty();
    }
    if (entry.type() != GgufValueType.STRING) {
      throw wrongType(entry, "a string");
    }
    return Optional.of((String) entry.value());
  }

  public Optional<Boolean> getBool(String key) {
    Entry entry = entries.get(key);
    if (entry == null) {
      return Optional.empty();
    }
    if (entry.type() != GgufValueType.BOOL) {
      throw wrongType(entry, "a bool");
    }
    return Optional.of((Boolean) entry.value());
  }

  /**
   * An array's elements, decoded as they are read (see {@link GgufValueType} for their Java types).
   */
  public Optional<List<Object>> getArray(String key) {
    Entry entry = entries.get(key);
    if (entry == null) {
      return Optional.empty();
    }
    if (entry.type() != GgufValueType.ARRAY) {
      throw wrongType(entry, "an array");
    }
    return Optional.of((GgufArray) entry.value());
  }

  /** The file offset of {@code key}'s value, or -1. */
  public long offset(String key) {
    Entry entry = entries.get(key);
    return entry == null ? -1 : entry.offset();
  }

  private WeightLoadException wrongType(Entry entry, String expected) {
    return new WeightLoadException(
        where(entry) + "expected " + expected + ", found " + entry.type());
  }

  private String where(Entry entry) {
    return source + " (GGUF, offset " + entry.offset() + "): metadata " + entry.key() + ": ";
  }

  @Override
  public String toString() {
    return entries.keySet().toString();
  }
}
