package dev.kiln.kernel;

import static dev.kiln.kernel.ScalarKernels.BYTE;
import static dev.kiln.kernel.ScalarKernels.HALF;
import static dev.kiln.kernel.ScalarKernels.Q4_K_QS;
import static dev.kiln.kernel.ScalarKernels.Q4_K_SCALES;
import static dev.kiln.kernel.ScalarKernels.Q6_K_D;
import static dev.kiln.kernel.ScalarKernels.Q6_K_QH;
import static dev.kiln.kernel.ScalarKernels.Q6_K_SCALES;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.B2I;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.XOR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;

import dev.kiln.weights.Q4_0Tensor;
import dev.kiln.weights.Q4_KTensor;
import dev.kiln.weights.Q6_KTensor;
import dev.kiln.weights.Q8_0Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API paths of the block-quantized kernels of {@link VectorKernels} (GGML's Q8_0, Q4_0,
 * Q4_K, Q6_K); only loaded when the module is present. Quants are loaded as a byte vector of {@link
 * VectorWidth#bytes()} lanes, unpacked with lanewise byte operations, and widened to {@link
 * VectorWidth#byteParts()} float vectors each. Scales are read as scalars, once per block or
 * sub-block.
 *
 * <p>The dot products sum {@code q * x} per block (or sub-block) in a float vector, then add it to
 * a row accumulator with one fused multiply-add by the scale (Q4_K instead forms each weight {@code
 * d*scale * q - dmin*min} with one fused multiply-add); several row accumulators keep consecutive
 * blocks independent, and the lanes are summed once at the end of the row. The row readers compute
 * each element with the same float operations, in the same order, as the scalar ones in {@link
 * ScalarKernels} (so their results agree bit for bit).
 *
 * <p>Each kernel first narrows {@code data} to its own blocks ({@code asSlice}) and computes each
 * block's offset from the block index ({@code (long) b * BLOCK_BYTES}) rather than carrying a
 * second, long induction variable. With the offset a linear function of the int loop counter, the
 * JIT reduces each load's bounds check to one compare; with a long running offset it rebuilt the
 * check range with a chain of about 20 instructions per load (measured on one thread over a 32000 x
 * 768 matrix, same results bit for bit: Q8_0 1.10-1.12x, Q4_0 1.21x, Q4_K 1.18x faster).
 *
 * <p>The kernels call no helper methods taking or returning vectors: the JIT does not always inline
 * them, and a vector crossing a call that is not inlined is boxed, which costs more than the
 * arithmetic. At 128 bits a byte vector (8 lanes, the narrowest) widens to two float vectors (parts
 * 0 and 1 of the conversion); {@code twoParts} is a constant, so the other widths compile without
 * that code.
 */
final class VectorQuant {
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

  private VectorQuant() {}

  // --- Q8_0: per 32 elements an F16 d, then 32 signed bytes; x = d * q ------------------------

  /** {@link VectorKernels#dotQ8_0}: two blocks at a time, into two row accumulators. */
  static float dotQ8_0(
      VectorWidth width, MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Byte> bytes = width.bytes();
    boolean twoParts = width.byteParts() == 2;
    int lanes = floats.length();
    int byteLanes = bytes.length();
    FloatVector sum0 = FloatVector.zero(floats);
    FloatVector sum1 = FloatVector.zero(floats);
    data = data.asSlice(offset, (long) blocks * Q8_0Tensor.BLOCK_BYTES);
    int b = 0;
    for (; b <= blocks - 2; b += 2) {
      long block = (long) b * Q8_0Tensor.BLOCK_BYTES;
      int xb = xStart + Q8_0Tensor.BLOCK * b;
      FloatVector acc0 = FloatVector.zero(floats);
      FloatVector acc1 = FloatVector.zero(floats);
      for (int j = 0; j < Q8_0Tensor.BLOCK; j += byteLanes) {
        ByteVector q0 = ByteVector.fromMemorySegment(bytes, data, block + 2 + j, LE);
        ByteVector q1 = ByteVector.fromMemorySegment(bytes, data, block + 36 + j, LE);
        acc0 =
            ((FloatVector) q0.convertShape(B2F, floats, 0))
                .fma(FloatVector.fromArray(floats, x, xb + j), acc0);
        acc1 =
            ((FloatVector) q1.convertShape(B2F, floats, 0))
                .fma(FloatVector.fromArray(floats, x, xb + 32 + j), acc1);
        if (twoParts) {
          acc0 =
              ((FloatVector) q0.convertShape(B2F, floats, 1))
                  .fma(FloatVector.fromArray(floats, x, xb + j + lanes), acc0);
          acc1 =
              ((FloatVector) q1.convertShape(B2F, floats, 1))
                  .fma(FloatVector.fromArray(floats, x, xb + 32 + j + lanes), acc1);
        }
      }
      sum0 =
          acc0.fma(
              FloatVector.broadcast(floats, Float.float16ToFloat(data.get(HALF, block))), sum0);
      sum1 =
          acc1.fma(
              FloatVector.broadcast(
                  floats, Float.float16ToFloat(data.get(HALF, block + Q8_0Tensor.BLOCK_BYTES))),
              sum1);
    }
    if (b < blocks) {
      long block = (long) b * Q8_0Tensor.BLOCK_BYTES;
      int xb = xStart + Q8_0Tensor.BLOCK * b;
      FloatVector acc = FloatVector.zero(floats);
      for (int j = 0; j < Q8_0Tensor.BLOCK; j += byteLanes) {
        ByteVector q = ByteVector.fromMemorySegment(bytes, data, block + 2 + j, LE);
        acc =
            ((FloatVector) q.convertShape(B2F, floats, 0))
                .fma(FloatVector.fromArray(floats, x, xb + j), acc);
        if (twoParts) {
          acc =
              ((FloatVector) q.convertShape(B2F, floats, 1))
                  .fma(FloatVector.fromArray(floats, x, xb + j + lanes), acc);
        }
      }
      sum0 =
          acc.fma(FloatVector.broadcast(floats, Float.float16ToFloat(data.get(HALF, block))), sum0);
    }
    return sum0.add(sum1).reduceLanes(VectorOperators.ADD);
  }

  /** {@link VectorKernels#readQ8_0}: element = d * q. */
  static void readQ8_0(
      VectorWidth width, MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Byte> bytes = width.bytes();
    boolean twoParts = width.byteParts() == 2;
    int lanes = floats.length();
    int byteLanes = bytes.length();
    data = data.asSlice(offset, (long) blocks * Q8_0Tensor.BLOCK_BYTES);
    for (int b = 0; b < blocks; b++) {
      long block = (long) b * Q8_0Tensor.BLOCK_BYTES;
      float d = Float.float16ToFloat(data.get(HALF, block));
      int y = outStart + Q8_0Tensor.BLOCK * b;
      for (int j = 0; j < Q8_0Tensor.BLOCK; j += byteLanes) {
        ByteVector q = ByteVector.fromMemorySegment(bytes, data, block + 2 + j, LE);
        ((FloatVector) q.convertShape(B2F, floats, 0)).mul(d).intoArray(out, y + j);
        if (twoParts) {
          ((FloatVector) q.convertShape(B2F, floats, 1)).mul(d).intoArray(out, y + j + lanes);
        }
      }
    }
  }

  // --- Q4_0: per 32 elements an F16 d, then 16 bytes: element j low nibble of byte j, j + 16 high
  //
  // Nibbles are unpacked in int lanes (bytes widened first: x86 has no byte shifts). XOR with 0x88
  // flips the top bit of both nibbles, which turns a nibble q into the 4-bit two's complement
  // number q - 8: with the byte sign-extended to v, (v << 28) >> 28 is low - 8 and v >> 4 is
  // high - 8 (arithmetic shifts).

  /** {@link VectorKernels#dotQ4_0}: two blocks at a time, into two row accumulators. */
  static float dotQ4_0(
      VectorWidth width, MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Integer> ints = width.ints();
    VectorSpecies<Byte> bytes = width.bytes();
    boolean twoParts = width.byteParts() == 2;
    int lanes = floats.length();
    int byteLanes = bytes.length();
    FloatVector sum0 = FloatVector.zero(floats);
    FloatVector sum1 = FloatVector.zero(floats);
    data = data.asSlice(offset, (long) blocks * Q4_0Tensor.BLOCK_BYTES);
    int b = 0;
    for (; b <= blocks - 2; b += 2) {
      long block = (long) b * Q4_0Tensor.BLOCK_BYTES;
      int xb = xStart + Q4_0Tensor.BLOCK * b;
      FloatVector acc0 = FloatVector.zero(floats);
      FloatVector acc1 = FloatVector.zero(floats);
      for (int j = 0; j < 16; j += byteLanes) {
        ByteVector p0 =
            ByteVector.fromMemorySegment(bytes, data, block + 2 + j, LE).lanewise(XOR, (byte) 0x88);
        ByteVector p1 =
            ByteVector.fromMemorySegment(bytes, data, block + 20 + j, LE)
                .lanewise(XOR, (byte) 0x88);
        IntVector v0 = (IntVector) p0.convertShape(B2I, ints, 0);
        IntVector v1 = (IntVector) p1.convertShape(B2I, ints, 0);
        int xi = xb + j;
        acc0 =
            ((FloatVector) v0.lanewise(LSHL, 28).lanewise(ASHR, 28).convert(I2F, 0))
                .fma(FloatVector.fromArray(floats, x, xi), acc0);
        acc1 =
            ((FloatVector) v1.lanewise(LSHL, 28).lanewise(ASHR, 28).convert(I2F, 0))
                .fma(FloatVector.fromArray(floats, x, xi + 32), acc1);
        acc0 =
            ((FloatVector) v0.lanewise(ASHR, 4).convert(I2F, 0))
                .fma(FloatVector.fromArray(floats, x, xi + 16), acc0);
        acc1 =
            ((FloatVector) v1.lanewise(ASHR, 4).convert(I2F, 0))
                .fma(FloatVector.fromArray(floats, x, xi + 48), acc1);
        if (twoParts) {
          v0 = (IntVector) p0.convertShape(B2I, ints, 1);
          v1 = (IntVector) p1.convertShape(B2I, ints, 1);
          xi += lanes;
          acc0 =
              ((FloatVector) v0.lanewise(LSHL, 28).lanewise(ASHR, 28).convert(I2F, 0))
                  .fma(FloatVector.fromArray(floats, x, xi), acc0);
          acc1 =
              ((FloatVector) v1.lanewise(LSHL, 28).lanewise(ASHR, 28).convert(I2F, 0))
                  .fma(FloatVector.fromArray(floats, x, xi + 32), acc1);
          acc0 =
              ((FloatVector) v0.lanewise(ASHR, 4).convert(I2F, 0))
                  .fma(FloatVector.fromArray(floats, x, xi + 16), acc0);
          acc1 =
              ((FloatVector) v1.lanewise(ASHR, 4).convert(I2F, 0))
                  .fma(FloatVector.fromArray(floats, x, xi + 48), acc1);
        }
      }
      sum0 =
          acc0.fma(
              FloatVector.broadcast(floats, Float.float16ToFloat(data.get(HALF, block))), sum0);
      sum1 =
          acc1.fma(
              FloatVector.broadcast(
                  floats, Float.float16ToFloat(data.get(HALF, block + Q4_0Tensor.BLOCK_BYTES))),
              sum1);
    }
    if (b < blocks) {
      long block = (long) b * Q4_0Tensor.BLOCK_BYTES;
      int xb = xStart + Q4_0Tensor.BLOCK * b;
      FloatVector acc = FloatVector.zero(floats);
      for (int j = 0; j < 16; j += byteLanes) {
        ByteVector packed =
            ByteVector.fromMemorySegment(bytes, data, block + 2 + j, LE).lanewise(XOR, (byte) 0x88);
        IntVector v = (IntVector) packed.convertShape(B2I, ints, 0);
        int xi = xb + j;
        acc =
            ((FloatVector) v.lanewise(LSHL, 28).lanewise(ASHR, 28).convert(I2F, 0))
                .fma(FloatVector.fromArray(floats, x, xi), acc);
        acc =
            ((FloatVector) v.lanewise(ASHR, 4).convert(I2F, 0))
                .fma(FloatVector.fromArray(floats, x, xi + 16), acc);
        if (twoParts) {
          v = (IntVector) packed.convertShape(B2I, ints, 1);
          xi += lanes;
          acc =
              ((FloatVector) v.lanewise(LSHL, 28).lanewise(ASHR, 28).convert(I2F, 0))
                  .fma(FloatVector.fromArray(floats, x, xi), acc);
          acc =
              ((FloatVector) v.lanewise(ASHR, 4).convert(I2F, 0))
                  .fma(FloatVector.fromArray(floats, x, xi + 16), acc);
        }
      }
      sum0 =
          acc.fma(FloatVector.broadcast(floats, Float.float16ToFloat(data.get(HALF, block))), sum0);
    }
    return sum0.add(sum1).reduceLanes(VectorOperators.ADD);
  }

  /** {@link VectorKernels#readQ4_0}: element = d * (q - 8). */
  static void readQ4_0(
      VectorWidth width, MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Integer> ints = width.ints();
    VectorSpecies<Byte> bytes = width.bytes();
    boolean twoParts = width.byteParts() == 2;
    int lanes = floats.length();
    int byteLanes = bytes.length();
    data = data.asSlice(offset, (long) blocks * Q4_0Tensor.BLOCK_BYTES);
    for (int b = 0; b < blocks; b++) {
      long block = (long) b * Q4_0Tensor.BLOCK_BYTES;
      float d = Float.float16ToFloat(data.get(HALF, block));
      int y = outStart + Q4_0Tensor.BLOCK * b;
      for (int j = 0; j < 16; j += byteLanes) {
        ByteVector packed =
            ByteVector.fromMemorySegment(bytes, data, block + 2 + j, LE).lanewise(XOR, (byte) 0x88);
        IntVector v = (IntVector) packed.convertShape(B2I, ints, 0);
        ((FloatVector) v.lanewise(LSHL, 28).lanewise(ASHR, 28).convert(I2F, 0))
            .mul(d)
            .intoArray(out, y + j);
        ((FloatVector) v.lanewise(ASHR, 4).convert(I2F, 0)).mul(d).intoArray(out, y + 16 + j);
        if (twoParts) {
          v = (IntVector) packed.convertShape(B2I, ints, 1);
          ((FloatVector) v.lanewise(LSHL, 28).lanewise(ASHR, 28).convert(I2F, 0))
              .mul(d)
              .intoArray(out, y + j + lanes);
          ((FloatVector) v.lanewise(ASHR, 4).convert(I2F, 0))
              .mul(d)
              .intoArray(out, y + 16 + j + lanes);
        }
      }
    }
  }

  // --- Q4_K: 256 elements; F16 d, dmin; 12 bytes of 6-bit scales and mins; 128 bytes of nibbles --
  //
  // The 12 scale bytes s[0..11] are read as a long (s[0..7]) and an int (s[8..11]). Sub-block j < 4
  // has scale s[j] & 63 and min s[j + 4] & 63; j >= 4 has scale (s[j + 4] & 15) | (s[j - 4] >> 6)
  // << 4
  // and min (s[j + 4] >> 4) | (s[j] >> 6) << 4. Group g (elements 64g ..) reads bytes 32g .. 32g +
  // 31
  // of the quants: low nibbles are sub-block 2g, high nibbles 2g + 1.

  /**
   * The eight 6-bit scales (bytes of the result: scale j in byte j) of a Q4_K block whose 12 scale
   * bytes are {@code first8} (bytes 0..7, little-endian) and {@code last4} (bytes 8..11).
   */
  static long q4kScales(long first8, int last4) {
    long low = first8 & 0x3f3f_3f3fL; // sub-blocks 0..3: s[j] & 63
    long top = (first8 >>> 6) & 0x0303_0303L; // s[0..3] >> 6, for sub-blocks 4..7
    long high = (last4 & 0x0f0f_0f0fL) | (top << 4); // (s[j + 4] & 15) | (s[j - 4] >> 6) << 4
    return low | high << 32;
  }

  /** The eight 6-bit mins of a Q4_K block, as {@link #q4kScales}. */
  static long q4kMins(long first8, int last4) {
    long low = (first8 >>> 32) & 0x3f3f_3f3fL; // sub-blocks 0..3: s[j + 4] & 63
    long top = (first8 >>> 38) & 0x0303_0303L; // s[4..7] >> 6, for sub-blocks 4..7
    long high =
        ((last4 & 0xffff_ffffL) >>> 4 & 0x0f0f_0f0fL)
            | (top << 4); // (s[j + 4] >> 4) | (s[j] >> 6) << 4
    return low | high << 32;
  }

  /**
   * {@link VectorKernels#dotQ4_K}. Per sub-block, the weights d*scale * q - dmin*min are formed in
   * float lanes with one fused multiply-add (the nibbles unpacked in int lanes) and multiplied into
   * two row accumulators (low and high nibbles) with another.
   */
  static float dotQ4_K(
      VectorWidth width, MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Integer> ints = width.ints();
    VectorSpecies<Byte> bytes = width.bytes();
    boolean twoParts = width.byteParts() == 2;
    int lanes = floats.length();
    int byteLanes = bytes.length();
    FloatVector sumLow = FloatVector.zero(floats);
    FloatVector sumHigh = FloatVector.zero(floats);
    data = data.asSlice(offset, (long) blocks * Q4_KTensor.BLOCK_BYTES);
    for (int b = 0; b < blocks; b++) {
      long block = (long) b * Q4_KTensor.BLOCK_BYTES;
      float d = Float.float16ToFloat(data.get(HALF, block));
      float dmin = Float.float16ToFloat(data.get(HALF, block + 2));
      long first8 = data.get(LONG, block + Q4_K_SCALES);
      int last4 = data.get(INT, block + Q4_K_SCALES + 8);
      long scales = q4kScales(first8, last4);
      long mins = q4kMins(first8, last4);
      for (int group = 0; group < 4; group++) {
        int xg = xStart + Q4_KTensor.BLOCK * b + 64 * group;
        long qs = block + Q4_K_QS + 32L * group;
        int shift = 16 * group;
        FloatVector lowScale = FloatVector.broadcast(floats, d * (int) ((scales >>> shift) & 0xff));
        FloatVector highScale =
            FloatVector.broadcast(floats, d * (int) ((scales >>> (shift + 8)) & 0xff));
        FloatVector lowMin =
            FloatVector.broadcast(floats, -(dmin * (int) ((mins >>> shift) & 0xff)));
        FloatVector highMin =
            FloatVector.broadcast(floats, -(dmin * (int) ((mins >>> (shift + 8)) & 0xff)));
        for (int j = 0; j < 32; j += byteLanes) {
          ByteVector packed = ByteVector.fromMemorySegment(bytes, data, qs + j, LE);
          IntVector v = (IntVector) packed.convertShape(ZERO_EXTEND_B2I, ints, 0);
          int xi = xg + j;
          FloatVector low = ((FloatVector) v.and(0x0f).convert(I2F, 0)).fma(lowScale, lowMin);
          FloatVector high =
              ((FloatVector) v.lanewise(LSHR, 4).convert(I2F, 0)).fma(highScale, highMin);
          sumLow = low.fma(FloatVector.fromArray(floats, x, xi), sumLow);
          sumHigh = high.fma(FloatVector.fromArray(floats, x, xi + 32), sumHigh);
          if (twoParts) {
            v = (IntVector) packed.convertShape(ZERO_EXTEND_B2I, ints, 1);
            xi += lanes;
            low = ((FloatVector) v.and(0x0f).convert(I2F, 0)).fma(lowScale, lowMin);
            high = ((FloatVector) v.lanewise(LSHR, 4).convert(I2F, 0)).fma(highScale, highMin);
            sumLow = low.fma(FloatVector.fromArray(floats, x, xi), sumLow);
            sumHigh = high.fma(FloatVector.fromArray(floats, x, xi + 32), sumHigh);
          }
        }
      }
    }
    return sumLow.add(sumHigh).reduceLanes(VectorOperators.ADD);
  }

  /** {@link VectorKernels#readQ4_K}: element = (d * scale) * q - (dmin * min). */
  static void readQ4_K(
      VectorWidth width, MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Integer> ints = width.ints();
    VectorSpecies<Byte> bytes = width.bytes();
    boolean twoParts = width.byteParts() == 2;
    int lanes = floats.length();
    int byteLanes = bytes.length();
    data = data.asSlice(offset, (long) blocks * Q4_KTensor.BLOCK_BYTES);
    for (int b = 0; b < blocks; b++) {
      long block = (long) b * Q4_KTensor.BLOCK_BYTES;
      float d = Float.float16ToFloat(data.get(HALF, block));
      float dmin = Float.float16ToFloat(data.get(HALF, block + 2));
      long first8 = data.get(LONG, block + Q4_K_SCALES);
      int last4 = data.get(INT, block + Q4_K_SCALES + 8);
      long scales = q4kScales(first8, last4);
      long mins = q4kMins(first8, last4);
      for (int group = 0; group < 4; group++) {
        int y = outStart + Q4_KTensor.BLOCK * b + 64 * group;
        long qs = block + Q4_K_QS + 32L * group;
        int shift = 16 * group;
        float d1 = d * (int) ((scales >>> shift) & 0xff);
        float d2 = d * (int) ((scales >>> (shift + 8)) & 0xff);
        float m1 = dmin * (int) ((mins >>> shift) & 0xff);
        float m2 = dmin * (int) ((mins >>> (shift + 8)) & 0xff);
        for (int j = 0; j < 32; j += byteLanes) {
          ByteVector packed = ByteVector.fromMemorySegment(bytes, data, qs + j, LE);
          IntVector v = (IntVector) packed.convertShape(ZERO_EXTEND_B2I, ints, 0);
          ((FloatVector) v.and(0x0f).convert(I2F, 0)).mul(d1).sub(m1).intoArray(out, y + j);
          ((FloatVector) v.lanewise(LSHR, 4).convert(I2F, 0))
              .mul(d2)
              .sub(m2)
              .intoArray(out, y + 32 + j);
          if (twoParts) {
            v = (IntVector) packed.convertShape(ZERO_EXTEND_B2I, ints, 1);
            ((FloatVector) v.and(0x0f).convert(I2F, 0))
                .mul(d1)
                .sub(m1)
                .intoArray(out, y + j + lanes);
            ((FloatVector) v.lanewise(LSHR, 4).convert(I2F, 0))
                .mul(d2)
                .sub(m2)
                .intoArray(out, y + 32 + j + lanes);
          }
        }
      }
    }
  }

  // --- Q6_K: 256 elements; 128 bytes ql, 64 bytes qh, 16 signed scales, F16 d ------------------
  //
  // Per half of 128 elements (ql 64 bytes, qh 32 bytes, 8 scales), element 32k + l (l < 32) has
  // low bits from nibble k / 2 of ql[l + 32 (k % 2)], high bits 2k, 2k+1 of qh[l], scale l/16 + 2k.
  // With ql0 = ql[l..], ql1 = ql[l + 32..] and qh = qh[l..] widened to int lanes, the four values
  // of k are
  //   k=0: (ql0 & 15) | ((qh << 4) & 48)     k=1: (ql1 & 15) | ((qh << 2) & 48)
  //   k=2: (ql0 >>> 4) | (qh & 48)           k=3: (ql1 >>> 4) | ((qh >>> 2) & 48)
  // each minus 32.

  /**
   * {@link VectorKernels#dotQ6_K}. Per 16 elements of one scale, sum(q*x) in a vector, added to one
   * of four row accumulators (one per k) with a fused multiply-add by d*scale.
   */
  static float dotQ6_K(
      VectorWidth width, MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    if (width.floats().length() == 16) {
      return dotQ6_K16(width, data, offset, blocks, x, xStart);
    }
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Integer> ints = width.ints();
    VectorSpecies<Byte> bytes = width.bytes();
    boolean twoParts = width.byteParts() == 2;
    int lanes = floats.length();
    int byteLanes = bytes.length();
    FloatVector sum0 = FloatVector.zero(floats);
    FloatVector sum1 = FloatVector.zero(floats);
    FloatVector sum2 = FloatVector.zero(floats);
    FloatVector sum3 = FloatVector.zero(floats);
    data = data.asSlice(offset, (long) blocks * Q6_KTensor.BLOCK_BYTES);
    for (int b = 0; b < blocks; b++) {
      long block = (long) b * Q6_KTensor.BLOCK_BYTES;
      float d = Float.float16ToFloat(data.get(HALF, block + Q6_K_D));
      for (int half = 0; half < 2; half++) {
        long ql = block + 64L * half;
        long qh = block + Q6_K_QH + 32L * half;
        long scales = block + Q6_K_SCALES + 8L * half;
        int xh = xStart + Q6_KTensor.BLOCK * b + 128 * half;
        for (int sixteen = 0; sixteen < 32; sixteen += 16) {
          FloatVector acc0 = FloatVector.zero(floats);
          FloatVector acc1 = FloatVector.zero(floats);
          FloatVector acc2 = FloatVector.zero(floats);
          FloatVector acc3 = FloatVector.zero(floats);
          for (int j = sixteen; j < sixteen + 16; j += byteLanes) {
            ByteVector low0 = ByteVector.fromMemorySegment(bytes, data, ql + j, LE);
            ByteVector low1 = ByteVector.fromMemorySegment(bytes, data, ql + 32 + j, LE);
            ByteVector high = ByteVector.fromMemorySegment(bytes, data, qh + j, LE);
            for (int part = 0; part < (twoParts ? 2 : 1); part++) {
              IntVector ql0 = (IntVector) low0.convertShape(ZERO_EXTEND_B2I, ints, part);
              IntVector ql1 = (IntVector) low1.convertShape(ZERO_EXTEND_B2I, ints, part);
              IntVector qh0 = (IntVector) high.convertShape(ZERO_EXTEND_B2I, ints, part);
              IntVector q0 = ql0.and(0x0f).or(qh0.lanewise(LSHL, 4).and(48)).sub(32);
              IntVector q1 = ql1.and(0x0f).or(qh0.lanewise(LSHL, 2).and(48)).sub(32);
              IntVector q2 = ql0.lanewise(LSHR, 4).or(qh0.and(48)).sub(32);
              IntVector q3 = ql1.lanewise(LSHR, 4).or(qh0.lanewise(LSHR, 2).and(48)).sub(32);
              int xi = xh + j + part * lanes;
              acc0 =
                  ((FloatVector) q0.convert(I2F, 0))
                      .fma(FloatVector.fromArray(floats, x, xi), acc0);
              acc1 =
                  ((FloatVector) q1.convert(I2F, 0))
                      .fma(FloatVector.fromArray(floats, x, xi + 32), acc1);
              acc2 =
                  ((FloatVector) q2.convert(I2F, 0))
                      .fma(FloatVector.fromArray(floats, x, xi + 64), acc2);
              acc3 =
                  ((FloatVector) q3.convert(I2F, 0))
                      .fma(FloatVector.fromArray(floats, x, xi + 96), acc3);
            }
          }
          long s = scales + sixteen / 16;
          sum0 = acc0.fma(FloatVector.broadcast(floats, d * data.get(BYTE, s)), sum0);
          sum1 = acc1.fma(FloatVector.broadcast(floats, d * data.get(BYTE, s + 2)), sum1);
          sum2 = acc2.fma(FloatVector.broadcast(floats, d * data.get(BYTE, s + 4)), sum2);
          sum3 = acc3.fma(FloatVector.broadcast(floats, d * data.get(BYTE, s + 6)), sum3);
        }
      }
    }
    return sum0.add(sum1).add(sum2.add(sum3)).reduceLanes(VectorOperators.ADD);
  }

  /**
   * 32 byte lanes: a Q6_K half block's 32 low-nibble bytes (or its 32 high-bit bytes) in one
   * vector.
   */
  private static final VectorSpecies<Byte> BYTES_256 = ByteVector.SPECIES_256;

  /**
   * {@link #dotQ6_K} at 16 float lanes (512 bits): each half block's six-bit values are put
   * together as bytes, 32 lanes at a time (three 32-byte loads and a dozen byte operations for 128
   * weights, where the general loop widens every byte to an int first and works on ints), then
   * widened with sign, 16 at a time, converted, scaled by {@code d * scale} of their 16 and
   * multiplied with the input.
   */
  private static float dotQ6_K16(
      VectorWidth width, MemorySegment data, long offset, int blocks, float[] x, int xStart) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Integer> ints = width.ints();
    FloatVector sum0 = FloatVector.zero(floats);
    FloatVector sum1 = FloatVector.zero(floats);
    FloatVector sum2 = FloatVector.zero(floats);
    FloatVector sum3 = FloatVector.zero(floats);
    data = data.asSlice(offset, (long) blocks * 210);
    for (int b = 0; b < blocks; b++) {
      long block = (long) b * 210;
      float d = Float.float16ToFloat(data.get(HALF, block + Q6_K_D));
      for (int half = 0; half < 2; half++) {
        long ql = block + 64L * half;
        long scales = block + Q6_K_SCALES + 8L * half;
        int xh = xStart + 256 * b + 128 * half;
        ByteVector low0 = ByteVector.fromMemorySegment(BYTES_256, data, ql, LE);
        ByteVector low1 = ByteVector.fromMemorySegment(BYTES_256, data, ql + 32, LE);
        ByteVector high =
            ByteVector.fromMemorySegment(BYTES_256, data, block + Q6_K_QH + 32L * half, LE);
        // q - 32 in [-32, 31]: fits a byte.
        ByteVector q0 =
            low0.and((byte) 0x0f).or(high.lanewise(LSHL, 4).and((byte) 0x30)).sub((byte) 32);
        ByteVector q1 =
            low1.and((byte) 0x0f).or(high.lanewise(LSHL, 2).and((byte) 0x30)).sub((byte) 32);
        ByteVector q2 = low0.lanewise(LSHR, 4).or(high.and((byte) 0x30)).sub((byte) 32);
        ByteVector q3 =
            low1.lanewise(LSHR, 4).or(high.lanewise(LSHR, 2).and((byte) 0x30)).sub((byte) 32);
        for (int part = 0; part < 2; part++) {
          int xi = xh + 16 * part;
          long s = scales + part;
          sum0 =
              ((FloatVector) ((IntVector) q0.convertShape(B2I, ints, part)).convert(I2F, 0))
                  .mul(d * data.get(BYTE, s))
                  .fma(FloatVector.fromArray(floats, x, xi), sum0);
          sum1 =
              ((FloatVector) ((IntVector) q1.convertShape(B2I, ints, part)).convert(I2F, 0))
                  .mul(d * data.get(BYTE, s + 2))
                  .fma(FloatVector.fromArray(floats, x, xi + 32), sum1);
          sum2 =
              ((FloatVector) ((IntVector) q2.convertShape(B2I, ints, part)).convert(I2F, 0))
                  .mul(d * data.get(BYTE, s + 4))
                  .fma(FloatVector.fromArray(floats, x, xi + 64), sum2);
          sum3 =
              ((FloatVector) ((IntVector) q3.convertShape(B2I, ints, part)).convert(I2F, 0))
                  .mul(d * data.get(BYTE, s + 6))
                  .fma(FloatVector.fromArray(floats, x, xi + 96), sum3);
        }
      }
    }
    return sum0.add(sum1).add(sum2.add(sum3)).reduceLanes(VectorOperators.ADD);
  }

  /** {@link VectorKernels#readQ6_K}: element = (d * scale) * (q - 32). */
  static void readQ6_K(
      VectorWidth width, MemorySegment data, long offset, int blocks, float[] out, int outStart) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Integer> ints = width.ints();
    VectorSpecies<Byte> bytes = width.bytes();
    boolean twoParts = width.byteParts() == 2;
    int lanes = floats.length();
    int byteLanes = bytes.length();
    data = data.asSlice(offset, (long) blocks * Q6_KTensor.BLOCK_BYTES);
    for (int b = 0; b < blocks; b++) {
      long block = (long) b * Q6_KTensor.BLOCK_BYTES;
      float d = Float.float16ToFloat(data.get(HALF, block + Q6_K_D));
      for (int half = 0; half < 2; half++) {
        long ql = block + 64L * half;
        long qh = block + Q6_K_QH + 32L * half;
        long scales = block + Q6_K_SCALES + 8L * half;
        int yh = outStart + Q6_KTensor.BLOCK * b + 128 * half;
        for (int j = 0; j < 32; j += byteLanes) {
          long s = scales + j / 16;
          float scale0 = d * data.get(BYTE, s);
          float scale1 = d * data.get(BYTE, s + 2);
          float scale2 = d * data.get(BYTE, s + 4);
          float scale3 = d * data.get(BYTE, s + 6);
          ByteVector low0 = ByteVector.fromMemorySegment(bytes, data, ql + j, LE);
          ByteVector low1 = ByteVector.fromMemorySegment(bytes, data, ql + 32 + j, LE);
          ByteVector high = ByteVector.fromMemorySegment(bytes, data, qh + j, LE);
          for (int part = 0; part < (twoParts ? 2 : 1); part++) {
            IntVector ql0 = (IntVector) low0.convertShape(ZERO_EXTEND_B2I, ints, part);
            IntVector ql1 = (IntVector) low1.convertShape(ZERO_EXTEND_B2I, ints, part);
            IntVector qh0 = (IntVector) high.convertShape(ZERO_EXTEND_B2I, ints, part);
            IntVector q0 = ql0.and(0x0f).or(qh0.lanewise(LSHL, 4).and(48)).sub(32);
            IntVector q1 = ql1.and(0x0f).or(qh0.lanewise(LSHL, 2).and(48)).sub(32);
            IntVector q2 = ql0.lanewise(LSHR, 4).or(qh0.and(48)).sub(32);
            IntVector q3 = ql1.lanewise(LSHR, 4).or(qh0.lanewise(LSHR, 2).and(48)).sub(32);
            int yi = yh + j + part * lanes;
            ((FloatVector) q0.convert(I2F, 0)).mul(scale0).intoArray(out, yi);
            ((FloatVector) q1.convert(I2F, 0)).mul(scale1).intoArray(out, yi + 32);
            ((FloatVector) q2.convert(I2F, 0)).mul(scale2).intoArray(out, yi + 64);
            ((FloatVector) q3.convert(I2F, 0)).mul(scale3).intoArray(out, yi + 96);
          }
        }
      }
    }
  }
}
