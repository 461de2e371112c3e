package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Reading GGUF values that {@link GgufFile} has already checked: these methods trust lengths and
 * counts, so they only ever see bytes that passed the checks.
 */
final class GgufCodec {
  static final ValueLayout.OfShort U16 =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfInt U32 =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfLong U64 =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfFloat F32 =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfDouble F64 =
      ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private GgufCodec() {}

  /** A fixed-size value at {@code pos}, boxed as {@link GgufValueType} describes. */
  static Object scalar(MemorySegment file, long pos, GgufValueType type) {
    return switch (type) {
      case UINT8 -> file.get(ValueLayout.JAVA_BYTE, pos) & 0xff;
      case INT8 -> (int) file.get(ValueLayout.JAVA_BYTE, pos);
      case UINT16 -> file.get(U16, pos) & 0xffff;
      case INT16 -> (int) file.get(U16, pos);
      case UINT32 -> Integer.toUnsignedLong(file.get(U32, pos));
      case INT32 -> file.get(U32, pos);
      case FLOAT32 -> file.get(F32, pos);
      case BOOL -> file.get(ValueLayout.JAVA_BYTE, pos) != 0;
      case UINT64, INT64 -> file.get(U64, pos);
      case FLOAT64 -> file.get(F64, pos);
      case STRING, ARRAY -> throw new IllegalArgumentException(type + " is not fixed-size");
    };
  }

  /** The value of type {@code type} at {@code pos}. */
  static Object value(MemorySegment file, long pos, GgufValueType type) {
    return switch (type) {
      case STRING -> string(file, pos);
      case ARRAY -> new GgufArray(file, pos);
      default -> scalar(file, pos, type);
    };
  }

  /** The string (u64 length, then UTF-8 bytes) at {@code pos}. */
  static String string(MemorySegment file, long pos) {
    long length = file.get(U64, pos);
    return new String(
        file.asSlice(pos + 8, length).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
  }

  /** Where the value of type {@code type} at {@code pos} ends. */
  static long end(MemorySegment file, long pos, GgufValueType type) {
    return switch (type) {
      case STRING -> pos + 8 + file.get(U64, pos);
      case ARRAY -> {
        GgufValueType elementType =
            GgufValueType.ofId(Integer.toUnsignedLong(file.get(U32, pos))).orElseThrow();
        long count = file.get(U64, pos + 4);
        long at = pos + 12;
        if (elementType.fixedSize() > 0) {
          yield at + count * elementType.fixedSize();
        }
        for (long i = 0; i < count; i++) {
          at = end(file, at, elementType);
        }
        yield at;
      }
      default -> pos + type.fixedSize();
    };
  }

  /**
   * Whether {@code length} bytes at {@code pos} are well-formed UTF-8 (no overlong forms, no
   * surrogates, nothing above U+10FFFF), checked without copying them.
   */
  static boolean isUtf8(MemorySegment file, long pos, long length) {
    long end = pos + length;
    long i = pos;
    while (i < end) {
      int b = file.get(ValueLayout.JAVA_BYTE, i) & 0xff;
      if (b < 0x80) {
        i++;
        continue;
      }
      int continuations;
      int low = 0x80;
      int high = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) {
        continuations = 1;
      } else if (b >= 0xe0 && b <= 0xef) {
        continuations = 2;
        if (b == 0xe0) {
          low = 0xa0;
        } else if (b == 0xed) {
          high = 0x9f;
        }
      } else if (b >= 0xf0 && b <= 0xf4) {
        continuations = 3;
        if (b == 0xf0) {
          low = 0x90;
        } else if (b == 0xf4) {
          high = 0x8f;
        }
      } else {
        return false;
      }
      if (end - i - 1 < continuations) {
        return false;
      }
      for (int k = 1; k <= continuations; k++) {
        int c = file.get(ValueLayout.JAVA_BYTE, i + k) & 0xff;
        if (k == 1 ? c < low || c > high : c < 0x80 || c > 0xbf) {
          return false;
        }
      }
      i += 1 + continuations;
    }
    return true;
  }
}
