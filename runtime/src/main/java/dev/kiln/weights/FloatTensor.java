package dev.kiln.weights;

import dev.kiln.kernel.VectorKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A float32 tensor over a {@link MemorySegment}: a slice of a memory-mapped file (no copy) or
 * memory Kiln filled itself. Elements are little-endian, row-major, unaligned access allowed.
 */
public final class FloatTensor extends WeightTensor {
  /**
   * How elements are stored: float32, little-endian, any alignment (files need not align tensors).
   */
  public static final ValueLayout.OfFloat LAYOUT =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  public FloatTensor(String name, long[] shape, MemorySegment data) {
    this(name, shape, data, null);
  }

  private FloatTensor(String name, long[] shape, MemorySegment data, int[] rowOrder) {
    super(name, shape, Dtype.F32, data, rowOrder);
  }

  /** A tensor over new zeroed memory ({@link WeightTensor#allocateData}). */
  public static FloatTensor allocate(String name, long... shape) {
    long count = Arrays.stream(shape).reduce(1L, Math::multiplyExact);
    return new FloatTensor(name, shape, allocateData(Math.multiplyExact(count, Float.BYTES)));
  }

  /** A tensor holding a copy of {@code values}. */
  public static FloatTensor of(String name, long[] shape, float[] values) {
    FloatTensor tensor = allocate(name, shape);
    MemorySegment.copy(values, 0, tensor.data(), LAYOUT, 0, values.length);
    return tensor;
  }

  @Override
  public FloatTensor withRowOrder(int[] order) {
    return new FloatTensor(name(), shape(), data(), order.clone());
  }

  @Override
  public float dot(long row, float[] vector, int vectorStart) {
    return VectorKernels.dot(
        data(), rowOffset(row) / Float.BYTES, vector, vectorStart, (int) columns());
  }

  @Override
  public void dotRowRange(
      long firstRow, long lastRow, float[] x, int xStart, float[] out, int outStart) {
    if (rowOrder() != null) {
      VectorKernels.dotRowRange(
          data(),
          rowOrder(),
          (int) firstRow,
          (int) (lastRow - firstRow),
          (int) columns(),
          x,
          xStart,
          out,
          outStart);
      return;
    }
    VectorKernels.dotRowRange(
        data(),
        firstRow * columns(),
        (int) (lastRow - firstRow),
        (int) columns(),
        x,
        xStart,
        out,
        outStart);
  }

  @Override
  public void readRow(long row, float[] out, int outStart) {
    MemorySegment.copy(data(), LAYOUT, rowOffset(row), out, outStart, (int) columns());
  }

  @Override
  public float get(long index) {
    long row = index / columns();
    return data().get(LAYOUT, rowOffset(row) + (index - row * columns()) * Float.BYTES);
  }

  /** Sets element {@code index} (of a tensor in stored row order). */
  public void set(long index, float value) {
    if (rowOrder() != null) {
      throw new IllegalStateException(name() + ": a row-reordered view is read-only");
    }
    data().setAtIndex(LAYOUT, index, value);
  }

  @Override
  public FloatTensor toFloat() {
    return rowOrder() == null ? this : super.toFloat();
  }
}
