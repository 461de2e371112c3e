package dev.kiln.kernel;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * One implementation (scalar, the dispatching {@link VectorKernels} method, or the vector kernel at
 * an explicit width) of the dot product and row reader of one stored element type, called
 * uniformly: a row of {@code n} elements at byte {@code offset}.
 */
record RowKernel(Format format, String path, Dot dot, Read read) {
  static final int[] WIDTHS = {128, 256, 512};

  interface Dot {
    float dot(MemorySegment data, long offset, int n, float[] x, int xStart);
  }

  interface Read {
    void read(MemorySegment data, long offset, int n, float[] out, int outStart);
  }

  /**
   * The stored element types: elements per block, bytes per block, byte offsets of F16 scale
   * fields.
   */
  enum Format {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    Q8_0(32, 34, 0),
    Q4_0(32, 18, 0),
    Q4_K(256, 144, 0, 2),
    Q6_K(256, 210, 208);

    final int blockSize;
    final int blockBytes;
    final int[] halfFields;

    Format(int blockSize, int blockBytes, int... halfFields) {
      this.blockSize = blockSize;
      this.blockBytes = blockBytes;
      this.halfFields = halfFields;
    }

    long bytes(long elements) {
      return elements / blockSize * blockBytes;
    }

    /** Row lengths to test: odd and edge sizes, or the multiples of the block near them. */
    int[] sizes() {
      return switch (blockSize) {
        case 1 -> new int[] {1, 3, 7, 13, 31, 64, 100, 257, 1000, 4097};
        case 32 -> new int[] {32, 64, 96, 288, 1024, 4096};
        default -> new int[] {256, 512, 768, 2816, 4096};
      };
    }
  }

  @Override
  public String toString() {
    return format + " " + path;
  }

  /**
   * Every implementation of {@code format}: scalar, dispatch, and vector at 128, 256 and 512 bits.
   */
  static List<RowKernel> all(Format format) {
    List<RowKernel> all = new ArrayList<>();
    all.add(scalar(format));
    all.add(dispatch(format));
    for (int bits : WIDTHS) {
      all.add(vector(format, VectorWidth.of(bits)));
    }
    return all;
  }

  static RowKernel scalar(Format format) {
    return switch (format) {
      case F32 ->
          new RowKernel(
              format,
              "scalar",
              (d, o, n, x, xs) -> ScalarKernels.dotF32(d, o / 4, x, xs, n),
              RowKernel::copyF32);
      case F16 ->
          new RowKernel(
              format,
              "scalar",
              (d, o, n, x, xs) -> ScalarKernels.dotF16(d, o, x, xs, n),
              (d, o, n, out, os) -> ScalarKernels.readF16(d, o, out, os, n));
      case BF16 ->
          new RowKernel(
              format,
              "scalar",
              (d, o, n, x, xs) -> ScalarKernels.dotBF16(d, o, x, xs, n),
              (d, o, n, out, os) -> ScalarKernels.readBF16(d, o, out, os, n));
      case Q8_0 ->
          new RowKernel(
              format,
              "scalar",
              (d, o, n, x, xs) -> ScalarKernels.dotQ8_0(d, o, n / 32, x, xs),
              (d, o, n, out, os) -> ScalarKernels.readQ8_0(d, o, n / 32, out, os));
      case Q4_0 ->
          new RowKernel(
              format,
              "scalar",
              (d, o, n, x, xs) -> ScalarKernels.dotQ4_0(d, o, n / 32, x, xs),
              (d, o, n, out, os) -> ScalarKernels.readQ4_0(d, o, n / 32, out, os));
      case Q4_K ->
          new RowKernel(
              format,
              "scalar",
              (d, o, n, x, xs) -> ScalarKernels.dotQ4_K(d, o, n / 256, x, xs),
              (d, o, n, out, os) -> ScalarKernels.readQ4_K(d, o, n / 256, out, os));
      case Q6_K ->
          new RowKernel(
              format,
              "scalar",
              (d, o, n, x, xs) -> ScalarKernels.dotQ6_K(d, o, n / 256, x, xs),
              (d, o, n, out, os) -> ScalarKernels.readQ6_K(d, o, n / 256, out, os));
    };
  }

  static RowKernel dispatch(Format format) {
    String path = "dispatch(" + VectorKernels.VECTOR_BITS + ")";
    return switch (format) {
      case F32 ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorKernels.dot(d, o / 4, x, xs, n),
              RowKernel::copyF32);
      case F16 ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorKernels.dotF16(d, o, x, xs, n),
              (d, o, n, out, os) -> VectorKernels.readF16(d, o, out, os, n));
      case BF16 ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorKernels.dotBF16(d, o, x, xs, n),
              (d, o, n, out, os) -> VectorKernels.readBF16(d, o, out, os, n));
      case Q8_0 ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorKernels.dotQ8_0(d, o, n / 32, x, xs),
              (d, o, n, out, os) -> VectorKernels.readQ8_0(d, o, n / 32, out, os));
      case Q4_0 ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorKernels.dotQ4_0(d, o, n / 32, x, xs),
              (d, o, n, out, os) -> VectorKernels.readQ4_0(d, o, n / 32, out, os));
      case Q4_K ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorKernels.dotQ4_K(d, o, n / 256, x, xs),
              (d, o, n, out, os) -> VectorKernels.readQ4_K(d, o, n / 256, out, os));
      case Q6_K ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorKernels.dotQ6_K(d, o, n / 256, x, xs),
              (d, o, n, out, os) -> VectorKernels.readQ6_K(d, o, n / 256, out, os));
    };
  }

  static RowKernel vector(Format format, VectorWidth w) {
    String path = "vector" + w.bits();
    return switch (format) {
      case F32 ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorDot.dot(w, d, o / 4, x, xs, n),
              RowKernel::copyF32);
      case F16 ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorHalf.dotF16(w, d, o, x, xs, n),
              (d, o, n, out, os) -> VectorHalf.readF16(w, d, o, out, os, n));
      case BF16 ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorHalf.dotBF16(w, d, o, x, xs, n),
              (d, o, n, out, os) -> VectorHalf.readBF16(w, d, o, out, os, n));
      case Q8_0 ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorQuant.dotQ8_0(w, d, o, n / 32, x, xs),
              (d, o, n, out, os) -> VectorQuant.readQ8_0(w, d, o, n / 32, out, os));
      case Q4_0 ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorQuant.dotQ4_0(w, d, o, n / 32, x, xs),
              (d, o, n, out, os) -> VectorQuant.readQ4_0(w, d, o, n / 32, out, os));
      case Q4_K ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorQuant.dotQ4_K(w, d, o, n / 256, x, xs),
              (d, o, n, out, os) -> VectorQuant.readQ4_K(w, d, o, n / 256, out, os));
      case Q6_K ->
          new RowKernel(
              format,
              path,
              (d, o, n, x, xs) -> VectorQuant.dotQ6_K(w, d, o, n / 256, x, xs),
              (d, o, n, out, os) -> VectorQuant.readQ6_K(w, d, o, n / 256, out, os));
    };
  }

  /** F32 rows are read with a plain copy (FloatTensor.readRow); there is no kernel to compare. */
  private static void copyF32(MemorySegment data, long offset, int n, float[] out, int outStart) {
    MemorySegment.copy(data, ScalarKernels.FLOAT, offset, out, outStart, n);
  }
}
