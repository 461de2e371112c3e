package dev.kiln.weights;

import java.util.Arrays;

/**
 * One tensor's entry in a GGUF file, as stored: its GGUF name, its dimensions in GGML order ({@code
 * dims[0]} is the row length, the reverse of the Hugging Face shape), its GGML type, and where its
 * bytes are.
 *
 * @param name the tensor's name in the file (e.g. {@code blk.0.attn_q.weight})
 * @param dims dimensions, innermost first
 * @param dtype the element type ({@link Dtype#ggmlType()} is the id in the file)
 * @param offset where the bytes start, relative to the data section
 * @param byteSize how many bytes the tensor takes
 * @param infoOffset file offset of this entry in the tensor infos (for messages)
 */
public record GgufTensorInfo(
    String name, long[] dims, Dtype dtype, long offset, long byteSize, long infoOffset) {
  public GgufTensorInfo {
    dims = dims.clone();
  }

  @Override
  public long[] dims() {
    return dims.clone();
  }

  /** The shape in Hugging Face (row-major) order: the dims reversed. */
  public long[] shape() {
    long[] shape = new long[dims.length];
    for (int i = 0; i < dims.length; i++) {
      shape[i] = dims[dims.length - 1 - i];
    }
    return shape;
  }

  public long elementCount() {
    return Arrays.stream(dims).reduce(1L, Math::multiplyExact);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GgufTensorInfo t
        && t.name.equals(name)
        && Arrays.equals(t.dims, dims)
        && t.dtype == dtype
        && t.offset == offset
        && t.byteSize == byteSize
        && t.infoOffset == infoOffset;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Long.hashCode(offset);
  }

  @Override
  public String toString() {
    return name + " " + dtype + " dims " + Arrays.toString(dims) + " at data offset " + offset;
  }
}
