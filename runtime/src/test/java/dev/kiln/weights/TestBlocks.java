package dev.kiln.weights;

import dev.kiln.kernel.ScalarKernels;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

/** Builds stored tensor bytes for tests: random, seeded, or set field by field. */
final class TestBlocks {
  private TestBlocks() {}

  /** Byte offsets of the F16 fields (d, dmin) inside one block of a quantized type. */
  static int[] halfFields(Dtype type) {
    return switch (type) {
      case Q8_0, Q4_0 -> new int[] {0};
      case Q4_K -> new int[] {0, 2};
      case Q6_K -> new int[] {208};
      default -> new int[0];
    };
  }

  static void putHalf(byte[] bytes, int at, int bits) {
    bytes[at] = (byte) bits;
    bytes[at + 1] = (byte) (bits >> 8);
  }

  /** A finite, normal F16 with random sign and biased exponent in [minExponent, maxExponent]. */
  static int randomHalf(Random random, int minExponent, int maxExponent) {
    int exponent = minExponent + random.nextInt(maxExponent - minExponent + 1);
    return (random.nextBoolean() ? 0x8000 : 0) | exponent << 10 | random.nextInt(1024);
  }

  /** Every byte random, F16 scales included (so some are subnormal, infinite or NaN). */
  static byte[] raw(Dtype type, int rows, int columns, Random random) {
    byte[] bytes = new byte[Math.toIntExact(type.byteSize((long) rows * columns))];
    random.nextBytes(bytes);
    return bytes;
  }

  /**
   * Random bytes whose F16 scales (or F16/BF16/F32 elements) are finite, of moderate size (2^-10 ..
   * 2^5), so dot products stay far from overflow and underflow.
   */
  static byte[] finite(Dtype type, int rows, int columns, Random random) {
    byte[] bytes = raw(type, rows, columns, random);
    switch (type) {
      case F32 -> {
        for (int i = 0; i < bytes.length; i += 4) {
          int bits =
              Float.floatToIntBits(
                  (float) (random.nextGaussian() * Math.pow(2, random.nextInt(16) - 10)));
          for (int k = 0; k < 4; k++) {
            bytes[i + k] = (byte) (bits >> (8 * k));
          }
        }
      }
      case F16 -> {
        for (int i = 0; i < bytes.length; i += 2) {
          putHalf(bytes, i, randomHalf(random, 5, 20));
        }
      }
      case BF16 -> {
        for (int i = 0; i < bytes.length; i += 2) {
          int bits =
              (random.nextBoolean() ? 0x8000 : 0)
                  | (117 + random.nextInt(16)) << 7
                  | random.nextInt(128);
          putHalf(bytes, i, bits);
        }
      }
      default -> {
        for (int block = 0; block < bytes.length; block += type.blockBytes()) {
          for (int field : halfFields(type)) {
            putHalf(bytes, block + field, randomHalf(random, 5, 20));
          }
        }
      }
    }
    return bytes;
  }

  static WeightTensor tensor(String name, Dtype type, int rows, int columns, byte[] bytes) {
    return WeightTensor.of(
        name, new long[] {rows, columns}, type, MemorySegment.ofArray(bytes.clone()));
  }

  /** The stored bytes of row {@code row}. */
  static byte[] row(byte[] bytes, Dtype type, int columns, int row) {
    int rowBytes = Math.toIntExact(type.byteSize(columns));
    return Arrays.copyOfRange(bytes, row * rowBytes, (row + 1) * rowBytes);
  }

  static float[] randomVector(int length, Random random) {
    float[] vector = new float[length];
    for (int i = 0; i < length; i++) {
      vector[i] = (float) random.nextGaussian();
    }
    return vector;
  }

  /**
   * Row {@code row} of a stored-order {@code type} tensor over {@code data}, dequantized by the
   * scalar kernels.
   */
  static void scalarRead(
      Dtype type, MemorySegment data, int columns, long row, float[] out, int outStart) {
    long offset = row * type.byteSize(columns);
    int blocks = columns / type.blockSize();
    switch (type) {
      case F32 -> MemorySegment.copy(data, FloatTensor.LAYOUT, offset, out, outStart, columns);
      case F16 -> ScalarKernels.readF16(data, offset, out, outStart, columns);
      case BF16 -> ScalarKernels.readBF16(data, offset, out, outStart, columns);
      case Q8_0 -> ScalarKernels.readQ8_0(data, offset, blocks, out, outStart);
      case Q4_0 -> ScalarKernels.readQ4_0(data, offset, blocks, out, outStart);
      case Q4_K -> ScalarKernels.readQ4_K(data, offset, blocks, out, outStart);
      case Q6_K -> ScalarKernels.readQ6_K(data, offset, blocks, out, outStart);
    }
  }

  /** The scalar kernels' dot product of row {@code row} with {@code x[xStart ..]}. */
  static float scalarDot(
      Dtype type, MemorySegment data, int columns, long row, float[] x, int xStart) {
    long offset = row * type.byteSize(columns);
    int blocks = columns / type.blockSize();
    return switch (type) {
      case F32 -> ScalarKernels.dotF32(data, offset / Float.BYTES, x, xStart, columns);
      case F16 -> ScalarKernels.dotF16(data, offset, x, xStart, columns);
      case BF16 -> ScalarKernels.dotBF16(data, offset, x, xStart, columns);
      case Q8_0 -> ScalarKernels.dotQ8_0(data, offset, blocks, x, xStart);
      case Q4_0 -> ScalarKernels.dotQ4_0(data, offset, blocks, x, xStart);
      case Q4_K -> ScalarKernels.dotQ4_K(data, offset, blocks, x, xStart);
      case Q6_K -> ScalarKernels.dotQ6_K(data, offset, blocks, x, xStart);
    };
  }
}
