package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Element types Kiln reads from weight files, with their exact conversion to float32. */
public enum Dtype {
  F32(4),
  F16(2),
  BF16(2);

  private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private final int bytes;

  Dtype(int bytes) {
    this.bytes = bytes;
  }

  public int bytes() {
    return bytes;
  }

  /** IEEE binary16 to float32, exact for every value including subnormals, infinities and NaN. */
  public static float f16ToFloat(short bits) {
    return Float.float16ToFloat(bits);
  }

  /** bfloat16 to float32 (bfloat16 is the upper half of a float32), exact for every value. */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }

  /** Converts {@code count} elements of this type at {@code source} into a new float32 tensor. */
  FloatTensor toFloat(String name, long[] shape, MemorySegment source) {
    if (this == F32) {
      return new FloatTensor(name, shape, source);
    }
    FloatTensor out = FloatTensor.allocate(name, shape);
    long count = out.elementCount();
    for (long i = 0; i < count; i++) {
      short bits = source.getAtIndex(HALF, i);
      out.set(i, this == F16 ? f16ToFloat(bits) : bf16ToFloat(bits));
    }
    return out;
  }
}
