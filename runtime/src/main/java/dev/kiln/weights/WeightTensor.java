package dev.kiln.weights;

import dev.kiln.kernel.QuantizedRows;
import dev.kiln.kernel.VectorKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A named tensor in its stored element type, over a {@link MemorySegment} (usually a slice of a
 * memory-mapped file, so nothing is copied). A tensor is seen as rows of {@link #columns()}
 * elements (the last dimension); the kernels work a row at a time: {@link #dot} multiplies a row
 * with a float32 vector, dequantizing on the fly, and {@link #readRow} dequantizes one row.
 *
 * <p>Rows may be read in a different order than they are stored ({@link #withRowOrder}), which is
 * how GGUF and llama2.c files, whose q/k projection rows are permuted, are read without a copy.
 */
public abstract sealed class WeightTensor
    permits FloatTensor, F16Tensor, BF16Tensor, Q8_0Tensor, Q4_0Tensor, Q4_KTensor, Q6_KTensor {
  private final String name;
  private final long[] shape;
  private final Dtype dtype;
  private final MemorySegment data;
  private final long columns;
  private final long rows;
  private final long rowBytes;

  /** Stored row of each logical row, or null for the identity. */
  private final int[] rowOrder;

  WeightTensor(String name, long[] shape, Dtype dtype, MemorySegment data, int[] rowOrder) {
    this.name = name;
    this.shape = shape.clone();
    this.dtype = dtype;
    long elements = elementCount(name, shape);
    this.columns = shape.length == 0 ? 1 : shape[shape.length - 1];
    this.rows = columns == 0 ? 0 : elements / columns;
    if (columns % dtype.blockSize() != 0) {
      throw new IllegalArgumentException(
          name
              + ": rows of "
              + columns
              + " elements do not fill whole "
              + dtype
              + " blocks of "
              + dtype.blockSize());
    }
    long bytes = dtype.byteSize(elements);
    if (bytes < 0 || data.byteSize() != bytes) {
      throw new IllegalArgumentException(
          name
              + ": "
              + data.byteSize()
              + " bytes do not hold "
              + dtype
              + " "
              + Arrays.toString(shape)
              + " ("
              + bytes
              + " bytes)");
    }
    this.rowBytes = dtype.byteSize(columns);
    this.data = data;
    if (rowOrder != null) {
      if (rowOrder.length != rows) {
        throw new IllegalArgumentException(
            name + ": row order has " + rowOrder.length + " entries for " + rows + " rows");
      }
      for (int r = 0; r < rowOrder.length; r++) {
        if (rowOrder[r] < 0 || rowOrder[r] >= rows) {
          throw new IllegalArgumentException(
              name
                  + ": row order names stored row "
                  + rowOrder[r]
                  + " for row "
                  + r
                  + " of "
                  + rows);
        }
      }
    }
    this.rowOrder = rowOrder;
  }

  private static long elementCount(String name, long[] shape) {
    long count = 1;
    for (long dimension : shape) {
      if (dimension < 0) {
        throw new IllegalArgumentException(
            name + ": negative dimension in " + Arrays.toString(shape));
      }
      try {
        count = Math.multiplyExact(count, dimension);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException(
            name
                + ": "
                + Arrays.toString(shape)
                + " has more than "
                + Long.MAX_VALUE
                + " elements");
      }
    }
    return count;
  }

  /**
   * A tensor of type {@code dtype} over {@code data}, which must hold exactly the bytes of {@code
   * shape} (rows of whole blocks for quantized types).
   */
  public static WeightTensor of(String name, long[] shape, Dtype dtype, MemorySegment data) {
    return switch (dtype) {
      case F32 -> new FloatTensor(name, shape, data);
      case F16 -> new F16Tensor(name, shape, data, null);
      case BF16 -> new BF16Tensor(name, shape, data, null);
      case Q8_0 -> new Q8_0Tensor(name, shape, data, null);
      case Q4_0 -> new Q4_0Tensor(name, shape, data, null);
      case Q4_K -> new Q4_KTensor(name, shape, data, null);
      case Q6_K -> new Q6_KTensor(name, shape, data, null);
    };
  }

  /**
   * The same tensor whose logical row {@code r} is stored row {@code order[r]} (no copy of the
   * data; {@code order} is copied). A view of a view takes {@code order} as stored rows too.
   *
   * @throws IllegalArgumentException naming the tensor when {@code order} does not have one entry
   *     per row or names a row outside {@code [0, rows())}
   */
  public abstract WeightTensor withRowOrder(int[] order);

  public final String name() {
    return name;
  }

  public final long[] shape() {
    return shape.clone();
  }

  public final Dtype dtype() {
    return dtype;
  }

  /** The stored bytes. */
  public final MemorySegment data() {
    return data;
  }

  /** Elements per row: the last dimension. */
  public final long columns() {
    return columns;
  }

  /** Number of rows: the product of all but the last dimension. */
  public final long rows() {
    return rows;
  }

  public final long elementCount() {
    return rows * columns;
  }

  /** The row order given to {@link #withRowOrder}, or null. */
  final int[] rowOrder() {
    return rowOrder;
  }

  /** Byte offset of logical row {@code row} in {@link #data()}. */
  protected final long rowOffset(long row) {
    return (rowOrder == null ? row : rowOrder[(int) row]) * rowBytes;
  }

  /**
   * The stored bytes of logical row {@code row} (following the row order), in the tensor's {@link
   * #dtype()}.
   */
  public final MemorySegment storedRow(long row) {
    if (row < 0 || row >= rows) {
      throw new IndexOutOfBoundsException(name + ": row " + row + " of " + rows);
    }
    return data.asSlice(rowOffset(row), rowBytes);
  }

  /** {@code sum_i row[i] * vector[vectorStart + i]} over the row's {@link #columns()} elements. */
  public abstract float dot(long row, float[] vector, int vectorStart);

  /**
   * The dot products of rows {@code [firstRow, firstRow + rows)} with {@code count} vectors at
   * {@code x[xStart + r * xStride]}, into {@code out[k * count + r]}: a block of weight rows times
   * a block of positions (prefill) or sequences (batched decode). The rows are dequantized once
   * into a per-thread buffer.
   */
  public void dotRowBlock(
      long firstRow, int rows, float[] x, int xStart, int xStride, int count, float[] out) {
    int n = (int) columns;
    float[] weights = ROW_BUFFER.get();
    if (weights.length < rows * n) {
      weights = new float[rows * n];
      ROW_BUFFER.set(weights);
    }
    for (int k = 0; k < rows; k++) {
      readRow(firstRow + k, weights, k * n);
    }
    VectorKernels.dotRowBlock(weights, rows, n, x, xStart, xStride, count, out);
  }

  /**
   * {@code out[outStart + i] = dot(firstRow + i, x, xStart)} for the rows {@code [firstRow,
   * lastRow)}: one input vector times a range of rows (a thread's share of a one-row projection).
   */
  public void dotRowRange(
      long firstRow, long lastRow, float[] x, int xStart, float[] out, int outStart) {
    for (long row = firstRow; row < lastRow; row++) {
      out[outStart + (int) (row - firstRow)] = dot(row, x, xStart);
    }
  }

  /**
   * Whether this tensor has an integer dot product with 8-bit inputs ({@link QuantizedRows}): Q8_0
   * and Q4_0. The calls below taking a {@code QuantizedRows} use it when it is given (not null);
   * {@link QuantizedRows#forWeights} gives one only when {@link QuantizedRows#mode()} is INT8.
   */
  public boolean takesInt8() {
    return false;
  }

  /**
   * {@code sum_i row[i] * (d * q)[i]} with row {@code xRow} of the quantized inputs {@code x}: the
   * integer dot product (only for a tensor that {@link #takesInt8()}).
   */
  public float dotInt8(long row, QuantizedRows x, int xRow) {
    throw new UnsupportedOperationException(name + ": " + dtype + " has no integer dot product");
  }

  /**
   * {@link #dot(long, float[], int)}, or with row {@code xqRow} of {@code xq} (the same input,
   * quantized) when {@code xq} is not null and this tensor {@link #takesInt8()}.
   */
  public float dot(long row, float[] x, int xStart, QuantizedRows xq, int xqRow) {
    return xq == null || !takesInt8() ? dot(row, x, xStart) : dotInt8(row, xq, xqRow);
  }

  /**
   * {@link #dotRowRange(long, long, float[], int, float[], int)} with row {@code xqRow} of {@code
   * xq}, the same input quantized, when {@code xq} is not null and this tensor {@link
   * #takesInt8()}; otherwise the float path over {@code x}.
   */
  public void dotRowRange(
      long firstRow,
      long lastRow,
      float[] x,
      int xStart,
      QuantizedRows xq,
      int xqRow,
      float[] out,
      int outStart) {
    if (xq == null || !takesInt8()) {
      dotRowRange(firstRow, lastRow, x, xStart, out, outStart);
      return;
    }
    for (long row = firstRow; row < lastRow; row++) {
      out[outStart + (int) (row - firstRow)] = dotInt8(row, xq, xqRow);
    }
  }

  /**
   * {@link #dotRowBlock(long, int, float[], int, int, int, float[])} with {@code xq} (rows {@code 0
   * .. count - 1}: the {@code count} input rows quantized) when it is not null and this tensor
   * {@link #takesInt8()}; otherwise the float path over {@code x}.
   */
  public void dotRowBlock(
      long firstRow,
      int rows,
      float[] x,
      int xStart,
      int xStride,
      int count,
      QuantizedRows xq,
      float[] out) {
    if (xq == null || !takesInt8()) {
      dotRowBlock(firstRow, rows, x, xStart, xStride, count, out);
      return;
    }
    for (int k = 0; k < rows; k++) {
      for (int r = 0; r < count; r++) {
        out[k * count + r] = dotInt8(firstRow + k, xq, r);
      }
    }
  }

  /** Each thread's buffer for a block of dequantized rows. */
  private static final ThreadLocal<float[]> ROW_BUFFER =
      ThreadLocal.withInitial(() -> new float[0]);

  /** Dequantizes row {@code row} into {@code out[outStart ..]}. */
  public abstract void readRow(long row, float[] out, int outStart);

  /**
   * New zeroed memory for a tensor Kiln makes itself (a copy, a conversion, random weights): native
   * and 64-byte aligned, as a model file's mapped tensors are. The JIT keeps one profile of the
   * segment classes that reach the JDK's shared segment-access code; heap segments (a float[] for
   * F32, a byte[] for the block types) next to native ones made it megamorphic, and then every
   * vector load paid for it: a Q8_0 decoder run after an F32 one in the same process decoded at 39
   * tokens/s against 98 alone (stories110m shape, 2 threads), and at 160 with native memory for
   * both. Freed when the tensor is no longer reachable; it counts against {@code
   * -XX:MaxDirectMemorySize} (by default the heap limit).
   */
  static MemorySegment allocateData(long bytes) {
    return Arena.ofAuto().allocate(bytes, 64);
  }

  /** Element {@code index} in row-major order (slow for quantized types: for tests and tools). */
  public float get(long index) {
    float[] row = new float[Math.toIntExact(columns)];
    readRow(index / columns, row, 0);
    return row[(int) (index % columns)];
  }

  /**
   * A float32 copy of the whole tensor in logical row order (this tensor itself when it is F32 in
   * stored order).
   */
  public FloatTensor toFloat() {
    FloatTensor out = FloatTensor.allocate(name, shape);
    float[] row = new float[Math.toIntExact(columns)];
    for (long r = 0; r < rows; r++) {
      readRow(r, row, 0);
      MemorySegment.copy(
          row, 0, out.data(), FloatTensor.LAYOUT, r * columns * Float.BYTES, row.length);
    }
    return out;
  }

  /** All elements as a float array in logical row order (for tests and small tensors). */
  public float[] toArray() {
    float[] values = new float[Math.toIntExact(elementCount())];
    for (long r = 0; r < rows; r++) {
      readRow(r, values, Math.toIntExact(r * columns));
    }
    return values;
  }

  @Override
  public String toString() {
    return name + " " + dtype + " " + Arrays.toString(shape);
  }
}
