package dev.kiln.kernel;

import java.lang.foreign.MemorySegment;

/** Run in a fresh JVM by {@link VectorKernelsTest}: prints which path was chosen and one dot product. */
public final class VectorKernelsProbe {
  private VectorKernelsProbe() {}

  public static void main(String[] args) {
    int n = 37;
    float[] weights = new float[n];
    float[] vector = new float[n];
    for (int i = 0; i < n; i++) {
      weights[i] = i + 1;
      vector[i] = i + 1;
    }
    // sum of i^2 for i = 1..37 = 37 x 38 x 75 / 6 = 17575, exact in float.
    System.out.println("vectorized=" + VectorKernels.VECTORIZED);
    System.out.println("dot=" + VectorKernels.dot(MemorySegment.ofArray(weights), 0, vector, 0, n));
  }
}
