package dev.kiln.weights;

import java.util.Optional;

/**
 * The types of GGUF metadata values, with their ids in the file. In Java, {@link GgufMetadata}
 * gives {@code UINT8}, {@code INT8}, {@code UINT16}, {@code INT16} and {@code INT32} as {@code
 * Integer}; {@code UINT32}, {@code INT64} and {@code UINT64} as {@code Long} (a {@code UINT64}
 * above {@link Long#MAX_VALUE} as the long with the same bits); {@code FLOAT32} as {@code Float},
 * {@code FLOAT64} as {@code Double}, {@code BOOL} as {@code Boolean}, {@code STRING} as {@code
 * String} and {@code ARRAY} as an unmodifiable {@code List}.
 */
public enum GgufValueType {
  UINT8(0, 1),
  INT8(1, 1),
  UINT16(2, 2),
  INT16(3, 2),
  UINT32(4, 4),
  INT32(5, 4),
  FLOAT32(6, 4),
  BOOL(7, 1),
  STRING(8, 0),
  ARRAY(9, 0),
  UINT64(10, 8),
  INT64(11, 8),
  FLOAT64(12, 8);

  private final int id;
  private final int fixedSize;

  GgufValueType(int id, int fixedSize) {
    this.id = id;
    this.fixedSize = fixedSize;
  }

  /** The type's id in the file. */
  public int id() {
    return id;
  }

  /** Bytes of one value, or 0 for {@code STRING} and {@code ARRAY}, whose size varies. */
  public int fixedSize() {
    return fixedSize;
  }

  /**
   * The fewest bytes a value of this type takes (a string's length field, an array's type and
   * count).
   */
  int minSize() {
    return switch (this) {
      case STRING -> 8;
      case ARRAY -> 12;
      default -> fixedSize;
    };
  }

  public boolean isInteger() {
    return switch (this) {
      case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
      default -> false;
    };
  }

  /** The type with id {@code id}, if there is one. */
  public static Optional<GgufValueType> ofId(long id) {
    for (GgufValueType type : values()) {
      if (type.id == id) {
        return Optional.of(type);
      }
    }
    return Optional.empty();
  }
}
