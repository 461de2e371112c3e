package dev.kiln.kernel;

import java.lang.foreign.MemorySegment;

/**
 * Inner loops shared by the weight tensors and generated Java decoders: dot products of a stored
 * weight row with a float32 vector (dequantizing on the fly) and row readers (dequantizing a row),
 * for every element type Kiln reads, and a plain float32 dot product.
 *
 * <p>Each runs on the Vector API when the {@code jdk.incubator.vector} module is present, and as
 * the scalar loop of {@link ScalarKernels} otherwise. The system property {@code kiln.vector} picks
 * the path once per JVM: unset, the CPU's preferred vector width (capped at 512 bits); {@code 128},
 * {@code 256} or {@code 512}, that width; {@code scalar}, the scalar loops. A missing module, a CPU
 * without 128-bit vectors, a width wider than the CPU's and an unknown value are reported once on
 * standard error, never silently. This class holds no Vector API types, so it loads without the
 * module.
 *
 * <p>Rows of the block-quantized types are given as a byte offset and a number of whole blocks;
 * element {@code i} of the row pairs with {@code x[xStart + i]}. Dot products sum in a different
 * order than the scalar loops (so results differ in the last bits); row readers give the same
 * floats, bit for bit, as the scalar ones.
 */
public final class VectorKernels {
  /** Vector bits the kernels run at, 0 for the scalar loops. */
  public static final int VECTOR_BITS = chooseBits();

  /** Whether the kernels use the Vector API. */
  public static final boolean VECTORIZED = VECTOR_BITS > 0;

  /**
   * Whether the row-block, attention-tile, RMSNorm and scale kernels ({@link VectorRows}, written
   * for the preferred species) run vectorized: at the preferred width only; a narrower {@code
   * kiln.vector} runs them through {@link #dot(float[], int, float[], int, int)} or plain loops.
   */
  private static final boolean ROWS_VECTORIZED =
      VECTORIZED && VECTOR_BITS == VectorWidth.preferredBits();

  /**
   * The width the vector kernels run at, null when scalar; its class is only loaded when
   * vectorized.
   */
  private static final VectorWidth WIDTH = VECTORIZED ? VectorWidth.of(VECTOR_BITS) : null;

  private VectorKernels() {}

  private static int chooseBits() {
    String property = System.getProperty("kiln.vector");
    if ("scalar".equals(property)) {
      return 0;
    }
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      warn(
          "the Vector API is not available (start java with --add-modules jdk.incubator.vector); running scalar"
              + " kernels, several times slower");
      return 0;
    }
    warnIfNotIntrinsified();
    int preferred = VectorWidth.preferredBits();
    if (property != null && !property.isEmpty()) {
      switch (property) {
        case "128", "256", "512" -> {
          int bits = Integer.parseInt(property);
          if (bits > preferred) {
            warn(
                "kiln.vector="
                    + property
                    + " is wider than this CPU's "
                    + preferred
                    + "-bit vectors; the Vector"
                    + " API emulates it, far slower than scalar kernels");
          }
          return bits;
        }
        default ->
            warn(
                "kiln.vector="
                    + property
                    + " is not scalar, 128, 256 or 512; using the preferred width");
      }
    }
    if (preferred < 128) {
      warn(
          "this CPU has no vectors of 128 bits or more ("
              + preferred
              + "); running scalar kernels");
      return 0;
    }
    return Math.min(preferred, 512);
  }

  /**
   * The Vector API is only fast once C2 compiles it into vector instructions; interpreted or
   * C1-compiled, every vector is an object and the kernels run far slower than scalar loops.
   */
  private static void warnIfNotIntrinsified() {
    for (String argument :
        java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (argument.equals("-Xint")
          || argument.startsWith("-XX:TieredStopAtLevel=") && !argument.endsWith("=4")) {
        warn(
            "the JVM runs with "
                + argument
                + ", so the Vector API is not compiled to vector instructions and Kiln's"
                + " kernels run many times slower; drop the option, or set kiln.vector=scalar");
      }
    }
  }

  private static void warn(String message) {
    System.err.println("kiln: WARNING: " + message);
  }

  // --- float32 ---------------------------------------------------------------------------------

  /**
   * {@code sum_i weight[rowStart + i] * vector[vectorStart + i]} for {@code i < length}, weight
   * elements read as little-endian float32 (rowStart counts floats, not bytes).
   */
  public static float dot(
      MemorySegment weight, long rowStart, float[] vector, int vectorStart, int length) {
    return VECTORIZED
        ? VectorDot.dot(WIDTH, weight, rowStart, vector, vectorStart, length)
        : ScalarKernels.dotF32(weight, rowStart, vector, vectorStart, length);
  }

  /**
   * The dot products of {@code rows} consecutive stored float32 rows of {@code n} elements, the
   * first at element {@code firstRowStart} of {@code weight}, with {@code x[xStart ..]}, into
   * {@code out[outStart ..]}: a matrix-vector product over a range of rows.
   */
  public static void dotRowRange(
      MemorySegment weight,
      long firstRowStart,
      int rows,
      int n,
      float[] x,
      int xStart,
      float[] out,
      int outStart) {
    if (VECTORIZED) {
      VectorDot.dotRows(WIDTH, weight, firstRowStart, null, 0, rows, n, x, xStart, out, outStart);
    } else {
      for (int r = 0; r < rows; r++) {
        out[outStart + r] =
            ScalarKernels.dotF32(weight, firstRowStart + (long) r * n, x, xStart, n);
      }
    }
  }

  /**
   * {@link #dotRowRange} over rows read in another order than stored: row {@code r} of the call is
   * stored row {@code order[orderStart + r]} (rows of {@code n} elements from element 0 of {@code
   * weight}).
   */
  public static void dotRowRange(
      MemorySegment weight,
      int[] order,
      int orderStart,
      int rows,
      int n,
      float[] x,
      int xStart,
      float[] out,
      int outStart) {
    if (VECTORIZED) {
      VectorDot.dotRows(WIDTH, weight, 0, order, orderStart, rows, n, x, xStart, out, outStart);
    } else {
      for (int r = 0; r < rows; r++) {
        out[outStart + r] =
            ScalarKernels.dotF32(weight, (long) order[orderStart + r] * n, x, xStart, n);
      }
    }
  }

  /** The scalar path of {@link #dot(MemorySegment, long, float[], int, int)}. */
  public static float scalarDot(
      MemorySegment weight, long rowStart, float[] vector, int vectorStart, int length) {
    return ScalarKernels.dotF32(weight, rowStart, vector, vectorStart, length);
  }

  /**
   * {@code sum_i a[aStart + i] * b[bStart + i]} for {@code i < n}: for instance a dequantized
   * weight row ({@link #readQ8_0} and the others) times each of many input rows.
   */
  public static float dot(float[] a, int aStart, float[] b, int bStart, int n) {
    return VECTORIZED
        ? VectorDot.dot(WIDTH, a, aStart, b, bStart, n)
        : ScalarKernels.dot(a, aStart, b, bStart, n);
  }

  // --- F16 and BF16: n elements of 2 bytes from byte offset `offset` -----------------------------

  /**
   * Dot product of {@code n} IEEE binary16 elements at byte {@code offset} with {@code x[xStart
   * ..]}.
   */
  public static float dotF16(MemorySegment data, long offset, float[] x, int xStart, int n) {
    return VECTORIZED
        ? VectorHalf.dotF16(WIDTH, data, offset, x, xStart, n)
        : ScalarKernels.dotF16(data, offset, x, xStart, n);
  }

  /**
   * Widens {@code n} IEEE binary16 elements at byte {@code offset} to {@code out[outStart ..]},
   * exactly.
   */
  public static void readF16(MemorySegment data, long offset, float[] out, int outStart, int n) {
    if (VECTORIZED) {
      VectorHalf.readF16(WIDTH, data, offset, out, outStart, n);
    } else {
      ScalarKernels.readF16(data, offset, out, outStart, n);
    }
  }

  /**
   * Dot product of {@code n} bfloat16 elements at byte {@code offset} with {@code x[xStart ..]}.
   */
  public static float dotBF16(MemorySegment data, long offset, float[] x, int xStart, int n) {
    return VECTORIZED
        ? VectorHalf.dotBF16(WIDTH, data, offset, x, xStart, n)
        : ScalarKernels.dotBF16(data, offset, x, xStart, n);
  }

  /** Widens {@code n} bfloat16 elements at byte {@code offset} to {@code out[outStart ..]}. */
  public static void readBF16(MemorySegment data, long offset, float[] out, int outStart, int n) {
    if (VECTORIZED) {
      VectorHalf.readBF16(WIDTH, data, offset, out, outStart, n);
    } else {
      ScalarKernels.readBF16(data, offset, out, outStart, n);
    }
  }

  // --- block-quantized: `blocks` whole blocks from byte offset `offset` --------------------------

  /**
   * Dot product of {@code blocks} Q8_0 blocks (34 bytes, 32 elements each) with {@code x[xStart
   * ..]}.
   */
  public static float dotQ8_0(MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    return VECTORIZED
        ? VectorQuant.dotQ8_0(WIDTH, data, offset, blocks, x, xStart)
        : ScalarKernels.dotQ8_0(data, offset, blocks, x, xStart);
  }

  /** Dequantizes {@code blocks} Q8_0 blocks to {@code out[outStart ..]}. */
  public static void readQ8_0(
      MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    if (VECTORIZED) {
      VectorQuant.readQ8_0(WIDTH, data, offset, blocks, out, outStart);
    } else {
      ScalarKernels.readQ8_0(data, offset, blocks, out, outStart);
    }
  }

  /**
   * Dot product of {@code blocks} Q4_0 blocks (18 bytes, 32 elements each) with {@code x[xStart
   * ..]}.
   */
  public static float dotQ4_0(MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    return VECTORIZED
        ? VectorQuant.dotQ4_0(WIDTH, data, offset, blocks, x, xStart)
        : ScalarKernels.dotQ4_0(data, offset, blocks, x, xStart);
  }

  /** Dequantizes {@code blocks} Q4_0 blocks to {@code out[outStart ..]}. */
  public static void readQ4_0(
      MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    if (VECTORIZED) {
      VectorQuant.readQ4_0(WIDTH, data, offset, blocks, out, outStart);
    } else {
      ScalarKernels.readQ4_0(data, offset, blocks, out, outStart);
    }
  }

  /**
   * Integer dot product of {@code blocks} Q8_0 blocks with row {@code row} of {@code x} (8-bit
   * inputs, {@link QuantizedRows}), starting at the row's element {@code 32 * firstBlock}.
   */
  public static float dotQ8_0Int(
      MemorySegment data, long offset, int blocks, QuantizedRows x, int row, int firstBlock) {
    int qStart = x.quantStart(row) + QuantizedRows.BLOCK * firstBlock;
    int dStart = x.scaleStart(row) + firstBlock;
    return VECTORIZED
        ? VectorInt8.dotQ8_0(WIDTH, data, offset, blocks, x.quants(), qStart, x.scales(), dStart)
        : ScalarKernels.dotQ8_0Int(data, offset, blocks, x.quants(), qStart, x.scales(), dStart);
  }

  /**
   * Integer dot product of {@code blocks} Q4_0 blocks with row {@code row} of {@code x}, as {@link
   * #dotQ8_0Int}.
   */
  public static float dotQ4_0Int(
      MemorySegment data, long offset, int blocks, QuantizedRows x, int row, int firstBlock) {
    int qStart = x.quantStart(row) + QuantizedRows.BLOCK * firstBlock;
    int dStart = x.scaleStart(row) + firstBlock;
    return VECTORIZED
        ? VectorInt8.dotQ4_0(WIDTH, data, offset, blocks, x.quants(), qStart, x.scales(), dStart)
        : ScalarKernels.dotQ4_0Int(data, offset, blocks, x.quants(), qStart, x.scales(), dStart);
  }

  /**
   * Dot product of {@code blocks} Q4_K blocks (144 bytes, 256 elements each) with {@code x[xStart
   * ..]}.
   */
  public static float dotQ4_K(MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    return VECTORIZED
        ? VectorQuant.dotQ4_K(WIDTH, data, offset, blocks, x, xStart)
        : ScalarKernels.dotQ4_K(data, offset, blocks, x, xStart);
  }

  /** Dequantizes {@code blocks} Q4_K blocks to {@code out[outStart ..]}. */
  public static void readQ4_K(
      MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    if (VECTORIZED) {
      VectorQuant.readQ4_K(WIDTH, data, offset, blocks, out, outStart);
    } else {
      ScalarKernels.readQ4_K(data, offset, blocks, out, outStart);
    }
  }

  /**
   * Dot product of {@code blocks} Q6_K blocks (210 bytes, 256 elements each) with {@code x[xStart
   * ..]}.
   */
  public static float dotQ6_K(MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    return VECTORIZED
        ? VectorQuant.dotQ6_K(WIDTH, data, offset, blocks, x, xStart)
        : ScalarKernels.dotQ6_K(data, offset, blocks, x, xStart);
  }

  /** Dequantizes {@code blocks} Q6_K blocks to {@code out[outStart ..]}. */
  public static void readQ6_K(
      MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    if (VECTORIZED) {
      VectorQuant.readQ6_K(WIDTH, data, offset, blocks, out, outStart);
    } else {
      ScalarKernels.readQ6_K(data, offset, blocks, out, outStart);
    }
  }

  /**
   * {@code out[k * count + r] = dot(w[k * n ..], x[xStart + r * xStride ..])} for {@code k < rows},
   * {@code r < count}: a block of (dequantized) weight rows times a block of input rows, the inner
   * kernel of prefill and batched decode.
   */
  public static void dotRowBlock(
      float[] w, int rows, int n, float[] x, int xStart, int xStride, int count, float[] out) {
    if (ROWS_VECTORIZED && rows == 4) {
      VectorRows.dotRowBlock4(w, n, x, xStart, xStride, count, out);
      return;
    }
    for (int k = 0; k < rows; k++) {
      for (int r = 0; r < count; r++) {
        out[k * count + r] = dot(w, k * n, x, xStart + r * xStride, n);
      }
    }
  }

  /** {@code y[yStart + i] *= a} for {@code i < length}. */
  public static void scale(float a, float[] y, int yStart, int length) {
    if (ROWS_VECTORIZED) {
      VectorRows.scale(a, y, yStart, length);
    } else {
      for (int i = 0; i < length; i++) {
        y[yStart + i] *= a;
      }
    }
  }

  /**
   * {@code a[start + i] = exp(a[start + i] - shift)} for {@code i < count}; returns their sum (in
   * float, in index order on the scalar path): a tile of attention scores turned into softmax
   * weights relative to the running max {@code shift}. The vector path uses the Vector API's {@code
   * EXP}, which may differ from {@link Math#exp} in the last bit.
   */
  public static float expShift(float[] a, int start, int count, float shift) {
    return ROWS_VECTORIZED
        ? VectorRows.expShift(a, start, count, shift)
        : ScalarKernels.expShift(a, start, count, shift);
  }

  /**
   * {@code out[outStart + d] += sum_j weights[j] * rows[rowsStart + j * rowStride + d]} for {@code
   * j < count}, {@code d < n}: a tile of attention weights times the value rows of their positions,
   * added to a head's output. Each output vector stays in a register over the whole tile.
   */
  public static void addWeightedRows(
      float[] weights,
      int count,
      float[] rows,
      int rowsStart,
      int rowStride,
      float[] out,
      int outStart,
      int n) {
    if (ROWS_VECTORIZED) {
      VectorRows.addWeightedRows(weights, count, rows, rowsStart, rowStride, out, outStart, n);
    } else {
      ScalarKernels.addWeightedRows(weights, count, rows, rowsStart, rowStride, out, outStart, n);
    }
  }

  /**
   * One row of RMSNorm: {@code out[outStart + i] = in[inStart + i] * scale * gain[i]} for {@code i
   * < n}, with {@code scale = 1 / sqrt(sum(in^2) / n + eps)}; {@code gain} holds n little-endian
   * float32 values (a norm weight, heap or native). The vector path sums the squares in lanes
   * (another order than the scalar loop's) and reads the gain as vectors.
   */
  public static void rmsNorm(
      float[] in, int inStart, MemorySegment gain, float[] out, int outStart, int n, double eps) {
    rmsNorm(in, inStart, gain, out, outStart, n, eps, 0f);
  }

  /**
   * RMSNorm whose gain is {@code gainOffset + gain[i]}: {@code out = in / sqrt(mean(in^2) + eps) *
   * (gainOffset + gain)} (Gemma's norms store the gain minus 1: {@code gainOffset = 1}). {@code in}
   * and {@code out} may be the same row.
   */
  public static void rmsNorm(
      float[] in,
      int inStart,
      MemorySegment gain,
      float[] out,
      int outStart,
      int n,
      double eps,
      float gainOffset) {
    if (ROWS_VECTORIZED) {
      VectorRows.rmsNorm(in, inStart, gain, out, outStart, n, eps, gainOffset);
    } else {
      ScalarKernels.rmsNorm(in, inStart, gain, out, outStart, n, eps, gainOffset);
    }
  }
}
