package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named float32 tensor over a {@link MemorySegment}: a slice of a memory-mapped file (no copy) or
 * memory Kiln filled itself. Elements are little-endian, row-major, unaligned access allowed.
 */
public final class FloatTensor {
  /** How elements are stored: float32, little-endian, any alignment (files need not align tensors). */
  public static final ValueLayout.OfFloat LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private final String name;
  private final long[] shape;
  private final MemorySegment data;

  public FloatTensor(String name, long[] shape, MemorySegment data) {
    this.name = name;
    this.shape = shape.clone();
    long count = Arrays.stream(shape).reduce(1L, Math::multiplyExact);
    if (data.byteSize() != count * Float.BYTES) {
      throw new IllegalArgumentException(
          name + ": " + data.byteSize() + " bytes do not hold shape " + Arrays.toString(shape) + " of float32");
    }
    this.data = data;
  }

  /** A tensor over new zeroed memory. */
  public static FloatTensor allocate(String name, long... shape) {
    long count = Arrays.stream(shape).reduce(1L, Math::multiplyExact);
    return new FloatTensor(name, shape, MemorySegment.ofArray(new float[Math.toIntExact(count)]));
  }

  /** A tensor holding a copy of {@code values}. */
  public static FloatTensor of(String name, long[] shape, float[] values) {
    FloatTensor tensor = allocate(name, shape);
    for (int i = 0; i < values.length; i++) {
      tensor.set(i, values[i]);
    }
    return tensor;
  }

  public String name() {
    return name;
  }

  public long[] shape() {
    return shape.clone();
  }

  public long elementCount() {
    return data.byteSize() / Float.BYTES;
  }

  /** The raw little-endian float32 elements. Read them with {@link #LAYOUT}. */
  public MemorySegment data() {
    return data;
  }

  public float get(long index) {
    return data.getAtIndex(LAYOUT, index);
  }

  public void set(long index, float value) {
    data.setAtIndex(LAYOUT, index, value);
  }

  /** A copy of the elements (for tests and small tensors). */
  public float[] toArray() {
    float[] values = new float[Math.toIntExact(elementCount())];
    for (int i = 0; i < values.length; i++) {
      values[i] = get(i);
    }
    return values;
  }

  @Override
  public String toString() {
    return name + " " + Arrays.toString(shape);
  }
}
