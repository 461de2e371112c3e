package dev.kiln.kernel;

import static dev.kiln.kernel.ScalarKernels.HALF;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.B2S;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;
import static jdk.incubator.vector.VectorOperators.XOR;

import dev.kiln.weights.Q4_0Tensor;
import dev.kiln.weights.Q8_0Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API paths of the integer dot products ({@link VectorKernels#dotQ8_0Int}, {@link
 * VectorKernels#dotQ4_0Int}): a weight row of Q8_0 or Q4_0 blocks times a row of {@link
 * QuantizedRows} (8-bit inputs kept as shorts, a float scale per 32).
 *
 * <p>Per block, the weight bytes are widened to shorts ({@link VectorWidth#shorts()}: as many lanes
 * as a float vector), multiplied by the input's shorts (|q_w * q_x| <= 127 * 127, so the products
 * and the sum of two of them fit a short), two products added in short lanes, widened to int and
 * summed into the block's int vector; that is converted to float once per block and added to a row
 * accumulator with one fused multiply-add by {@code d_w * d_x}. The integer block sums are exact,
 * so the result differs from {@link ScalarKernels#dotQ8_0Int}'s only by the order of the float
 * sums. The Vector API has no widening byte dot-product instruction (x86's {@code vpdpbusd}, {@code
 * vpmaddwd}), so each weight still takes a widening, a multiply and a share of an add; the float
 * path's int-to-float conversion and float multiply-add per weight become one per block.
 *
 * <p>As in {@link VectorQuant}, no helper takes or returns vectors; at 128 bits a byte vector (8
 * lanes) holds two short vectors' worth (parts 0 and 1).
 */
final class VectorInt8 {
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  private VectorInt8() {}

  /** {@link VectorKernels#dotQ8_0Int}: blocks of 34 bytes (F16 d, 32 signed q). */
  static float dotQ8_0(
      VectorWidth width,
      MemorySegment data,
      long offset,
      int blocks,
      short[] q,
      int qStart,
      float[] d,
      int dStart) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Integer> ints = width.ints();
    VectorSpecies<Short> shorts = width.shorts();
    VectorSpecies<Byte> bytes = width.bytes();
    boolean twoParts = width.byteParts() == 2;
    int lanes = floats.length();
    FloatVector sum0 = FloatVector.zero(floats);
    FloatVector sum1 = FloatVector.zero(floats);
    data = data.asSlice(offset, (long) blocks * Q8_0Tensor.BLOCK_BYTES);
    for (int b = 0; b < blocks; b++) {
      long block = (long) b * Q8_0Tensor.BLOCK_BYTES;
      int qb = qStart + Q8_0Tensor.BLOCK * b;
      IntVector acc = IntVector.zero(ints);
      for (int j = 0; j < Q8_0Tensor.BLOCK; j += 2 * lanes) {
        ShortVector w0;
        ShortVector w1;
        if (twoParts) {
          ByteVector packed = ByteVector.fromMemorySegment(bytes, data, block + 2 + j, LE);
          w0 = (ShortVector) packed.convertShape(B2S, shorts, 0);
          w1 = (ShortVector) packed.convertShape(B2S, shorts, 1);
        } else {
          w0 =
              (ShortVector)
                  ByteVector.fromMemorySegment(bytes, data, block + 2 + j, LE)
                      .convertShape(B2S, shorts, 0);
          w1 =
              (ShortVector)
                  ByteVector.fromMemorySegment(bytes, data, block + 2 + j + lanes, LE)
                      .convertShape(B2S, shorts, 0);
        }
        ShortVector pair =
            w0.mul(ShortVector.fromArray(shorts, q, qb + j))
                .add(w1.mul(ShortVector.fromArray(shorts, q, qb + j + lanes)));
        acc = acc.add((IntVector) pair.convertShape(S2I, ints, 0));
      }
      float scale = Float.float16ToFloat(data.get(HALF, block)) * d[dStart + b];
      if ((b & 1) == 0) {
        sum0 = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(floats, scale), sum0);
      } else {
        sum1 = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(floats, scale), sum1);
      }
    }
    return sum0.add(sum1).reduceLanes(VectorOperators.ADD);
  }

  /**
   * {@link VectorKernels#dotQ4_0Int}: blocks of 18 bytes (F16 d, 16 bytes: element j the low nibble
   * of byte j, element j + 16 the high one; weight q - 8). XOR 0x88 turns each nibble q into the
   * 4-bit two's complement q - 8; widened with sign, {@code (v << 12) >> 12} is the low one and
   * {@code v >> 4} the high one.
   */
  static float dotQ4_0(
      VectorWidth width,
      MemorySegment data,
      long offset,
      int blocks,
      short[] q,
      int qStart,
      float[] d,
      int dStart) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Integer> ints = width.ints();
    VectorSpecies<Short> shorts = width.shorts();
    VectorSpecies<Byte> bytes = width.bytes();
    boolean twoParts = width.byteParts() == 2;
    int lanes = floats.length();
    int byteLanes = bytes.length();
    FloatVector sum0 = FloatVector.zero(floats);
    FloatVector sum1 = FloatVector.zero(floats);
    data = data.asSlice(offset, (long) blocks * Q4_0Tensor.BLOCK_BYTES);
    for (int b = 0; b < blocks; b++) {
      long block = (long) b * Q4_0Tensor.BLOCK_BYTES;
      int qb = qStart + Q4_0Tensor.BLOCK * b;
      IntVector acc = IntVector.zero(ints);
      for (int j = 0; j < 16; j += byteLanes) {
        ByteVector packed =
            ByteVector.fromMemorySegment(bytes, data, block + 2 + j, LE).lanewise(XOR, (byte) 0x88);
        ShortVector v = (ShortVector) packed.convertShape(B2S, shorts, 0);
        ShortVector pair =
            v.lanewise(LSHL, 12)
                .lanewise(ASHR, 12)
                .mul(ShortVector.fromArray(shorts, q, qb + j))
                .add(v.lanewise(ASHR, 4).mul(ShortVector.fromArray(shorts, q, qb + j + 16)));
        acc = acc.add((IntVector) pair.convertShape(S2I, ints, 0));
        if (twoParts) {
          v = (ShortVector) packed.convertShape(B2S, shorts, 1);
          pair =
              v.lanewise(LSHL, 12)
                  .lanewise(ASHR, 12)
                  .mul(ShortVector.fromArray(shorts, q, qb + j + lanes))
                  .add(
                      v.lanewise(ASHR, 4)
                          .mul(ShortVector.fromArray(shorts, q, qb + j + lanes + 16)));
          acc = acc.add((IntVector) pair.convertShape(S2I, ints, 0));
        }
      }
      float scale = Float.float16ToFloat(data.get(HALF, block)) * d[dStart + b];
      if ((b & 1) == 0) {
        sum0 = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(floats, scale), sum0);
      } else {
        sum1 = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(floats, scale), sum1);
      }
    }
    return sum0.add(sum1).reduceLanes(VectorOperators.ADD);
  }
}
