package dev.kiln.kernel;

import static dev.kiln.kernel.ScalarKernels.HALF;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API paths of the F16 and BF16 kernels of {@link VectorKernels}; only loaded when the
 * module is present. Lanes of 16-bit elements are widened to 32-bit int lanes (as many lanes, half
 * the bits per load) and turned into floats with integer operations.
 *
 * <p>F16 to F32 exactly, for every one of the 65,536 bit patterns (the JDK's Vector API has no
 * half-precision conversion): with h sign-extended to 32 bits, {@code (h << 13) & 0x8fffe000} is
 * the sign in bit 31 and the 15 exponent and fraction bits in bits 27..13, which read as a float32
 * are the value times 2^-112, for normal and subnormal halves alike (a half subnormal becomes a
 * float32 subnormal, exactly); multiplying by 2^112 is exact. Where the half exponent is all ones
 * (infinity, NaN) the float32 exponent is set to all ones instead, keeping sign and fraction; a NaN
 * also gets the quiet bit, as {@link Float#float16ToFloat} gives on x86. The dot product skips the
 * quiet bit (any NaN gives a NaN sum).
 *
 * <p>The kernels call no helper methods of their own: the JIT would not always inline them (they
 * are too big to inline when not yet hot), and a vector passed to a method that is not inlined is
 * boxed, which costs more than the arithmetic.
 */
final class VectorHalf {
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
  private static final float TWO_TO_112 = 0x1p112f;

  private VectorHalf() {}

  /**
   * {@link VectorKernels#dotF16}: two accumulators (the conversion gives the loop enough else to
   * do).
   */
  static float dotF16(
      VectorWidth width, MemorySegment data, long offset, float[] x, int xStart, int n) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Short> shorts = width.shorts();
    VectorSpecies<Integer> ints = width.ints();
    int lanes = floats.length();
    FloatVector sum0 = FloatVector.zero(floats);
    FloatVector sum1 = FloatVector.zero(floats);
    int i = 0;
    for (; i <= n - 2 * lanes; i += 2 * lanes) {
      long at = offset + 2L * i;
      IntVector h0 =
          (IntVector)
              ShortVector.fromMemorySegment(shorts, data, at, LE)
                  .convertShape(VectorOperators.S2I, ints, 0);
      IntVector h1 =
          (IntVector)
              ShortVector.fromMemorySegment(shorts, data, at + 2L * lanes, LE)
                  .convertShape(VectorOperators.S2I, ints, 0);
      IntVector bits0 = h0.lanewise(VectorOperators.LSHL, 13).and(0x8fff_e000);
      IntVector bits1 = h1.lanewise(VectorOperators.LSHL, 13).and(0x8fff_e000);
      FloatVector w0 =
          bits0
              .reinterpretAsFloats()
              .mul(TWO_TO_112)
              .reinterpretAsInts()
              .blend(bits0.or(0x7f80_0000), h0.and(0x7c00).eq(0x7c00))
              .reinterpretAsFloats();
      FloatVector w1 =
          bits1
              .reinterpretAsFloats()
              .mul(TWO_TO_112)
              .reinterpretAsInts()
              .blend(bits1.or(0x7f80_0000), h1.and(0x7c00).eq(0x7c00))
              .reinterpretAsFloats();
      sum0 = w0.fma(FloatVector.fromArray(floats, x, xStart + i), sum0);
      sum1 = w1.fma(FloatVector.fromArray(floats, x, xStart + i + lanes), sum1);
    }
    for (; i <= n - lanes; i += lanes) {
      IntVector h =
          (IntVector)
              ShortVector.fromMemorySegment(shorts, data, offset + 2L * i, LE)
                  .convertShape(VectorOperators.S2I, ints, 0);
      IntVector bits = h.lanewise(VectorOperators.LSHL, 13).and(0x8fff_e000);
      FloatVector w =
          bits.reinterpretAsFloats()
              .mul(TWO_TO_112)
              .reinterpretAsInts()
              .blend(bits.or(0x7f80_0000), h.and(0x7c00).eq(0x7c00))
              .reinterpretAsFloats();
      sum0 = w.fma(FloatVector.fromArray(floats, x, xStart + i), sum0);
    }
    float sum = sum0.add(sum1).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += Float.float16ToFloat(data.get(HALF, offset + 2L * i)) * x[xStart + i];
    }
    return sum;
  }

  /**
   * {@link VectorKernels#readF16}: exactly {@link Float#float16ToFloat} (as on x86: NaNs quiet).
   * Infinities and NaNs are rare in weights, so they are fixed up only in vectors that have one.
   */
  static void readF16(
      VectorWidth width, MemorySegment data, long offset, float[] out, int outStart, int n) {
    VectorSpecies<Short> shorts = width.shorts();
    VectorSpecies<Integer> ints = width.ints();
    int lanes = ints.length();
    int i = 0;
    for (; i <= n - lanes; i += lanes) {
      IntVector h =
          (IntVector)
              ShortVector.fromMemorySegment(shorts, data, offset + 2L * i, LE)
                  .convertShape(VectorOperators.S2I, ints, 0);
      IntVector bits = h.lanewise(VectorOperators.LSHL, 13).and(0x8fff_e000);
      FloatVector value = bits.reinterpretAsFloats().mul(TWO_TO_112);
      VectorMask<Integer> special = h.and(0x7c00).eq(0x7c00);
      if (special.anyTrue()) {
        VectorMask<Integer> nan = h.and(0x7fff).compare(VectorOperators.GT, 0x7c00);
        IntVector specialBits = bits.or(0x7f80_0000).lanewise(VectorOperators.OR, 0x0040_0000, nan);
        value = value.reinterpretAsInts().blend(specialBits, special).reinterpretAsFloats();
      }
      value.intoArray(out, outStart + i);
    }
    for (; i < n; i++) {
      out[outStart + i] = Float.float16ToFloat(data.get(HALF, offset + 2L * i));
    }
  }

  /**
   * {@link VectorKernels#dotBF16}: four accumulators. BF16 is the upper half of a binary32: a
   * shift.
   */
  static float dotBF16(
      VectorWidth width, MemorySegment data, long offset, float[] x, int xStart, int n) {
    VectorSpecies<Float> floats = width.floats();
    VectorSpecies<Short> shorts = width.shorts();
    VectorSpecies<Integer> ints = width.ints();
    int lanes = floats.length();
    long step = 2L * lanes;
    FloatVector sum0 = FloatVector.zero(floats);
    FloatVector sum1 = FloatVector.zero(floats);
    FloatVector sum2 = FloatVector.zero(floats);
    FloatVector sum3 = FloatVector.zero(floats);
    int i = 0;
    for (; i <= n - 4 * lanes; i += 4 * lanes) {
      long at = offset + 2L * i;
      int xi = xStart + i;
      FloatVector w0 =
          ShortVector.fromMemorySegment(shorts, data, at, LE)
              .convertShape(VectorOperators.S2I, ints, 0)
              .lanewise(VectorOperators.LSHL, 16)
              .reinterpretAsFloats();
      FloatVector w1 =
          ShortVector.fromMemorySegment(shorts, data, at + step, LE)
              .convertShape(VectorOperators.S2I, ints, 0)
              .lanewise(VectorOperators.LSHL, 16)
              .reinterpretAsFloats();
      FloatVector w2 =
          ShortVector.fromMemorySegment(shorts, data, at + 2 * step, LE)
              .convertShape(VectorOperators.S2I, ints, 0)
              .lanewise(VectorOperators.LSHL, 16)
              .reinterpretAsFloats();
      FloatVector w3 =
          ShortVector.fromMemorySegment(shorts, data, at + 3 * step, LE)
              .convertShape(VectorOperators.S2I, ints, 0)
              .lanewise(VectorOperators.LSHL, 16)
              .reinterpretAsFloats();
      sum0 = w0.fma(FloatVector.fromArray(floats, x, xi), sum0);
      sum1 = w1.fma(FloatVector.fromArray(floats, x, xi + lanes), sum1);
      sum2 = w2.fma(FloatVector.fromArray(floats, x, xi + 2 * lanes), sum2);
      sum3 = w3.fma(FloatVector.fromArray(floats, x, xi + 3 * lanes), sum3);
    }
    for (; i <= n - lanes; i += lanes) {
      FloatVector w =
          ShortVector.fromMemorySegment(shorts, data, offset + 2L * i, LE)
              .convertShape(VectorOperators.S2I, ints, 0)
              .lanewise(VectorOperators.LSHL, 16)
              .reinterpretAsFloats();
      sum0 = w.fma(FloatVector.fromArray(floats, x, xStart + i), sum0);
    }
    float sum = sum0.add(sum1).add(sum2.add(sum3)).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += ScalarKernels.bf16(data.get(HALF, offset + 2L * i)) * x[xStart + i];
    }
    return sum;
  }

  /** {@link VectorKernels#readBF16}. */
  static void readBF16(
      VectorWidth width, MemorySegment data, long offset, float[] out, int outStart, int n) {
    VectorSpecies<Short> shorts = width.shorts();
    VectorSpecies<Integer> ints = width.ints();
    int lanes = ints.length();
    int i = 0;
    for (; i <= n - lanes; i += lanes) {
      ShortVector.fromMemorySegment(shorts, data, offset + 2L * i, LE)
          .convertShape(VectorOperators.S2I, ints, 0)
          .lanewise(VectorOperators.LSHL, 16)
          .reinterpretAsFloats()
          .intoArray(out, outStart + i);
    }
    for (; i < n; i++) {
      out[outStart + i] = ScalarKernels.bf16(data.get(HALF, offset + 2L * i));
    }
  }
}
