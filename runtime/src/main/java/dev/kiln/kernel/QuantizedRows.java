package dev.kiln.kernel;

import dev.kiln.weights.Q8_0Tensor;
import dev.kiln.weights.WeightTensor;

/**
 * Input rows (activations) quantized to 8 bits for the integer dot products of the block-quantized
 * weight types: per 32 elements a float scale {@code d = max|x| / 127} and the integers {@code q =
 * round(x / d)} in [-127, 127], kept widened to {@code short} so the kernels multiply them without
 * converting. Made once per projection call (all rows of the call, before the output features are
 * split across threads) and then only read, so the threads of the call share it.
 *
 * <p>Each element is off by at most {@code d / 2} (plus float rounding of {@code x / d}): a dot
 * product with a weight row {@code w} is off by at most {@code sum_blocks d_b / 2 * sum |w_i|} from
 * the same dot product with the unquantized row. A non-finite input makes its block's scale NaN or
 * infinite, so the dot products it enters are not finite either.
 *
 * <p>Which path the weight tensors take is {@link #mode()}: the system property {@code
 * kiln.quantizedDot}, {@code float} (the default: every weight converted to float and multiplied by
 * the float inputs, as before) or {@code int8} (these integer dot products for Q8_0 and Q4_0
 * weights).
 */
public final class QuantizedRows {
  /** Elements per scale: the block of the Q8_0 and Q4_0 weights these inputs multiply. */
  public static final int BLOCK = Q8_0Tensor.BLOCK;

  /** The dot-product path of the quantized weight types. */
  public enum Mode {
    /** Weights converted to float, times the float inputs. */
    FLOAT,
    /** Inputs quantized to 8 bits once per projection, integer products summed per block. */
    INT8
  }

  private static volatile Mode mode = chooseMode();

  private final short[] q;
  private final float[] d;
  private final int count;
  private final int columns;

  private QuantizedRows(short[] q, float[] d, int count, int columns) {
    this.q = q;
    this.d = d;
    this.count = count;
    this.columns = columns;
  }

  private static Mode chooseMode() {
    String property = System.getProperty("kiln.quantizedDot");
    if (property == null || property.isEmpty() || property.equals("float")) {
      return Mode.FLOAT;
    }
    if (property.equals("int8")) {
      return Mode.INT8;
    }
    System.err.println(
        "kiln: WARNING: kiln.quantizedDot=" + property + " is not float or int8; using float");
    return Mode.FLOAT;
  }

  /** The path the quantized weight types take now ({@code kiln.quantizedDot}). */
  public static Mode mode() {
    return mode;
  }

  /**
   * Sets the path for the whole JVM (tests and benchmarks compare both in one process); decoders
   * read it at each projection call, so set it between calls, not during one.
   */
  public static void setMode(Mode newMode) {
    mode = java.util.Objects.requireNonNull(newMode);
  }

  /**
   * The {@code count} rows {@code x[xStart + r * xStride ..]} of {@code columns} elements,
   * quantized, when the integer path is on and one of {@code weights} takes it; otherwise null (the
   * weights then take their float path). The generated decoders call this once per projection call.
   */
  public static QuantizedRows forWeights(
      float[] x, int xStart, int xStride, int count, WeightTensor... weights) {
    if (mode != Mode.INT8) {
      return null;
    }
    for (WeightTensor weight : weights) {
      if (weight.takesInt8()) {
        return quantize(x, xStart, xStride, count, (int) weight.columns());
      }
    }
    return null;
  }

  /**
   * The rows {@code x[xStart + r * xStride ..]} ({@code r < count}) of {@code columns} elements (a
   * multiple of 32), quantized.
   */
  public static QuantizedRows quantize(float[] x, int xStart, int xStride, int count, int columns) {
    if (columns % BLOCK != 0) {
      throw new IllegalArgumentException(
          "rows of " + columns + " elements do not fill whole blocks of " + BLOCK);
    }
    short[] q = new short[count * columns];
    float[] d = new float[count * (columns / BLOCK)];
    for (int r = 0; r < count; r++) {
      quantizeRow(x, xStart + r * xStride, columns, q, r * columns, d, r * (columns / BLOCK));
    }
    return new QuantizedRows(q, d, count, columns);
  }

  private static void quantizeRow(
      float[] x, int xStart, int columns, short[] q, int qStart, float[] d, int dStart) {
    for (int b = 0; b < columns / BLOCK; b++) {
      int xb = xStart + b * BLOCK;
      float max = 0f;
      for (int j = 0; j < BLOCK; j++) {
        float a = Math.abs(x[xb + j]);
        max = a > max || Float.isNaN(a) ? a : max;
      }
      float scale = max / 127f;
      float inverse = scale > 0f && Float.isFinite(scale) ? 1f / scale : 0f;
      d[dStart + b] = scale;
      int qb = qStart + b * BLOCK;
      for (int j = 0; j < BLOCK; j++) {
        q[qb + j] = (short) Math.max(-127, Math.min(127, Math.round(x[xb + j] * inverse)));
      }
    }
  }

  /** Rows. */
  public int count() {
    return count;
  }

  /** Elements per row. */
  public int columns() {
    return columns;
  }

  /** Quantized element {@code i} of row {@code row}. */
  public int quant(int row, int i) {
    return q[row * columns + i];
  }

  /** Scale of block {@code b} of row {@code row}. */
  public float scale(int row, int b) {
    return d[row * (columns / BLOCK) + b];
  }

  /** Element {@code i} of row {@code row} as the integer path sees it: {@code d * q}. */
  public float value(int row, int i) {
    return scale(row, i / BLOCK) * quant(row, i);
  }

  short[] quants() {
    return q;
  }

  float[] scales() {
    return d;
  }

  /** Start of row {@code row} in {@link #quants()}. */
  int quantStart(int row) {
    return row * columns;
  }

  /** Start of row {@code row} in {@link #scales()}. */
  int scaleStart(int row) {
    return row * (columns / BLOCK);
  }
}
