package dev.kiln.kernel;

import dev.kiln.weights.FloatTensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The Vector API path of {@link VectorKernels#dot}; only loaded when the module is present. */
final class VectorDot {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  private VectorDot() {}

  /** Vector body with two accumulators, scalar tail. */
  static float dot(MemorySegment weight, long rowStart, float[] vector, int vectorStart, int length) {
    int lanes = SPECIES.length();
    int bound = SPECIES.loopBound(length);
    FloatVector sum0 = FloatVector.zero(SPECIES);
    FloatVector sum1 = FloatVector.zero(SPECIES);
    long byteStart = rowStart * Float.BYTES;
    int i = 0;
    for (; i + lanes < bound; i += 2 * lanes) {
      var w0 = FloatVector.fromMemorySegment(SPECIES, weight, byteStart + (long) i * Float.BYTES, ByteOrder.LITTLE_ENDIAN);
      var w1 = FloatVector.fromMemorySegment(
          SPECIES, weight, byteStart + (long) (i + lanes) * Float.BYTES, ByteOrder.LITTLE_ENDIAN);
      sum0 = w0.fma(FloatVector.fromArray(SPECIES, vector, vectorStart + i), sum0);
      sum1 = w1.fma(FloatVector.fromArray(SPECIES, vector, vectorStart + i + lanes), sum1);
    }
    for (; i < bound; i += lanes) {
      var w = FloatVector.fromMemorySegment(SPECIES, weight, byteStart + (long) i * Float.BYTES, ByteOrder.LITTLE_ENDIAN);
      sum0 = w.fma(FloatVector.fromArray(SPECIES, vector, vectorStart + i), sum0);
    }
    float sum = sum0.add(sum1).reduceLanes(VectorOperators.ADD);
    for (; i < length; i++) {
      sum += weight.getAtIndex(FloatTensor.LAYOUT, rowStart + i) * vector[vectorStart + i];
    }
    return sum;
  }

  /** Arrays: vector body with two accumulators, scalar tail. */
  static float dot(float[] a, int aStart, float[] b, int bStart, int length) {
    int lanes = SPECIES.length();
    int bound = SPECIES.loopBound(length);
    FloatVector sum0 = FloatVector.zero(SPECIES);
    FloatVector sum1 = FloatVector.zero(SPECIES);
    int i = 0;
    for (; i + lanes < bound; i += 2 * lanes) {
      sum0 = FloatVector.fromArray(SPECIES, a, aStart + i).fma(FloatVector.fromArray(SPECIES, b, bStart + i), sum0);
      sum1 = FloatVector.fromArray(SPECIES, a, aStart + i + lanes)
          .fma(FloatVector.fromArray(SPECIES, b, bStart + i + lanes), sum1);
    }
    for (; i < bound; i += lanes) {
      sum0 = FloatVector.fromArray(SPECIES, a, aStart + i).fma(FloatVector.fromArray(SPECIES, b, bStart + i), sum0);
    }
    float sum = sum0.add(sum1).reduceLanes(VectorOperators.ADD);
    for (; i < length; i++) {
      sum += a[aStart + i] * b[bStart + i];
    }
    return sum;
  }
}
