package dev.kiln.weights;

import java.util.Optional;

/**
 * Element types Kiln reads from weight files. Plain types store one element in {@link
 * #blockBytes()} bytes; block-quantized types (GGML's {@code Q8_0}, {@code Q4_0}, {@code Q4_K},
 * {@code Q6_K}) store {@link #blockSize()} elements together with their scales in one block (each
 * type's tensor class, such as {@link Q8_0Tensor#BLOCK}, states its block's size). Matrices stay in
 * their stored type in memory; the kernels of {@link WeightTensor} dequantize on the fly.
 */
public enum Dtype {
  /** IEEE binary32. */
  F32(1, 4, 0),
  /** IEEE binary16. */
  F16(1, 2, 1),
  /** bfloat16: the upper half of a binary32. */
  BF16(1, 2, 30),
  /** 32 elements: an F16 scale d, then 32 signed bytes q; x = d * q. */
  Q8_0(Q8_0Tensor.BLOCK, Q8_0Tensor.BLOCK_BYTES, 8),
  /**
   * 32 elements: an F16 scale d, then 16 bytes of 4-bit q (element i in the low nibble of byte i, i
   * + 16 in the high one); x = d * (q - 8).
   */
  Q4_0(Q4_0Tensor.BLOCK, Q4_0Tensor.BLOCK_BYTES, 2),
  /**
   * 256 elements in 8 sub-blocks of 32: F16 d and dmin, 12 bytes of 6-bit sub-block scales and
   * mins, 128 bytes of 4-bit q.
   */
  Q4_K(Q4_KTensor.BLOCK, Q4_KTensor.BLOCK_BYTES, 12),
  /**
   * 256 elements in 16 sub-blocks of 16: 128 bytes of low 4 bits, 64 bytes of high 2 bits, 16
   * signed 8-bit scales, F16 d.
   */
  Q6_K(Q6_KTensor.BLOCK, Q6_KTensor.BLOCK_BYTES, 14);

  private final int blockSize;
  private final int blockBytes;
  private final int ggmlType;

  Dtype(int blockSize, int blockBytes, int ggmlType) {
    this.blockSize = blockSize;
    this.blockBytes = blockBytes;
    this.ggmlType = ggmlType;
  }

  /** Elements per block (1 for plain types). */
  public int blockSize() {
    return blockSize;
  }

  /** Bytes per block (the element size for plain types). */
  public int blockBytes() {
    return blockBytes;
  }

  /** Whether elements are stored in blocks with shared scales. */
  public boolean quantized() {
    return blockSize > 1;
  }

  /** GGML's {@code ggml_type} id of this type, as GGUF files store it. */
  public int ggmlType() {
    return ggmlType;
  }

  /** The type with GGML id {@code id}, if Kiln reads it. */
  public static Optional<Dtype> ofGgmlType(long id) {
    for (Dtype dtype : values()) {
      if (dtype.ggmlType == id) {
        return Optional.of(dtype);
      }
    }
    return Optional.empty();
  }

  /**
   * Bytes that {@code elements} elements take, or -1 when they do not fill whole blocks or the size
   * overflows a long.
   */
  public long byteSize(long elements) {
    if (elements < 0 || elements % blockSize != 0) {
      return -1;
    }
    try {
      return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    } catch (ArithmeticException e) {
      return -1;
    }
  }

  /** IEEE binary16 to float32, exact for every value including subnormals, infinities and NaN. */
  public static float f16ToFloat(short bits) {
    return Float.float16ToFloat(bits);
  }

  /** bfloat16 to float32 (bfloat16 is the upper half of a float32), exact for every value. */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }
}
