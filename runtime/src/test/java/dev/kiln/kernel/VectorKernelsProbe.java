package dev.kiln.kernel;

import java.lang.foreign.MemorySegment;

/**
 * Run in a fresh JVM by {@link VectorKernelsTest}: prints which path and width were chosen, one F32
 * dot product, one Q8_0 dot product and one F16 row read.
 */
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
    System.out.println("bits=" + VectorKernels.VECTOR_BITS);
    System.out.println("dot=" + VectorKernels.dot(MemorySegment.ofArray(weights), 0, vector, 0, n));
    System.out.println("arrays=" + VectorKernels.dot(weights, 0, vector, 0, n));
    // Two Q8_0 blocks, d = 0.5 (F16 0x3800), q = 1..32 and -1..-32; x = ones: 0.5 * (528 - 528) =
    // 0,
    // and x = 1 on the first block only: 0.5 * 528 = 264.
    byte[] q8 = new byte[68];
    for (int b = 0; b < 2; b++) {
      q8[34 * b] = 0x00;
      q8[34 * b + 1] = 0x38;
      for (int j = 0; j < 32; j++) {
        q8[34 * b + 2 + j] = (byte) (b == 0 ? j + 1 : -(j + 1));
      }
    }
    float[] x = new float[64];
    java.util.Arrays.fill(x, 0, 32, 1f);
    System.out.println("q8_0=" + VectorKernels.dotQ8_0(MemorySegment.ofArray(q8), 0, 2, x, 0));
    // F16 row: 1.0, smallest subnormal, -infinity, 65504.
    byte[] f16 = {0x00, 0x3c, 0x01, 0x00, 0x00, (byte) 0xfc, (byte) 0xff, 0x7b};
    float[] out = new float[4];
    VectorKernels.readF16(MemorySegment.ofArray(f16), 0, out, 0, 4);
    System.out.println("f16=" + java.util.Arrays.toString(out));
  }
}
