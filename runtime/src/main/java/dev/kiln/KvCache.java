package dev.kiln;

import dev.kiln.spec.ResolvedSpec;
import java.util.Arrays;

/**
 * Keys and values of every layer for a batch of sequences, preallocated: per layer, keys and values
 * each (batch, positions, kv_dim) float32, so the cache takes {@code 2 x layers x batch x positions
 * x kv_dim x 4} bytes whatever is stored in it.
 */
public final class KvCache {
  private final int layers;
  private final int batchCapacity;
  private final int maxPositions;
  private final int kvDim;

  /** (layer) -> (batch, positions, kv_dim). */
  private final float[][] keys;

  /** (layer) -> (batch, positions, kv_dim). */
  private final float[][] values;

  private final int[] lengths;
  private int batchSize;

  public KvCache(int layers, int batchCapacity, int maxPositions, int kvDim) {
    this(layers, batchCapacity, maxPositions, kvDim, true);
  }

  private KvCache(int layers, int batchCapacity, int maxPositions, int kvDim, boolean storage) {
    long perLayer = (long) batchCapacity * maxPositions * kvDim;
    if (layers <= 0
        || batchCapacity <= 0
        || maxPositions <= 0
        || kvDim <= 0
        || perLayer > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "KV cache of "
              + layers
              + " layers x "
              + batchCapacity
              + " sequences x "
              + maxPositions
              + " positions x "
              + kvDim
              + " does not fit Java arrays");
    }
    this.layers = layers;
    this.batchCapacity = batchCapacity;
    this.maxPositions = maxPositions;
    this.kvDim = kvDim;
    this.keys = storage ? new float[layers][(int) perLayer] : null;
    this.values = storage ? new float[layers][(int) perLayer] : null;
    this.lengths = new int[batchCapacity];
  }

  /** The cache a spec's decoder preallocates: {@code maxBatchSize x maxPositionEmbeddings}. */
  public static KvCache forSpec(ResolvedSpec spec) {
    return new KvCache(
        spec.numHiddenLayers(), spec.maxBatchSize(), spec.maxPositionEmbeddings(), spec.kvDim());
  }

  /**
   * The bookkeeping of a cache whose keys and values live elsewhere (on an accelerator): lengths
   * and {@link #offset}s as {@link #forSpec}, no arrays.
   */
  public static KvCache withoutStorage(ResolvedSpec spec) {
    return new KvCache(
        spec.numHiddenLayers(),
        spec.maxBatchSize(),
        spec.maxPositionEmbeddings(),
        spec.kvDim(),
        false);
  }

  /**
   * Keys of one layer: (batch, positions, kv_dim); the element for (sequence, position, i) is at
   * {@link #offset} + i.
   */
  public float[] keys(int layer) {
    requireStorage();
    return keys[layer];
  }

  /** Values of one layer, laid out as {@link #keys}. */
  public float[] values(int layer) {
    requireStorage();
    return values[layer];
  }

  private void requireStorage() {
    if (keys == null) {
      throw new IllegalStateException(
          "this KV cache keeps lengths only; its keys and values live on a device");
    }
  }

  /** Index of (sequence, position, 0) in a layer's keys or values. */
  public int offset(int sequence, int position) {
    return (sequence * maxPositions + position) * kvDim;
  }

  public int layers() {
    return layers;
  }

  public int batchCapacity() {
    return batchCapacity;
  }

  public int maxPositions() {
    return maxPositions;
  }

  public int kvDim() {
    return kvDim;
  }

  /** Sequences in the current batch (0 when empty). */
  public int batchSize() {
    return batchSize;
  }

  /** Positions stored for one sequence. */
  public int length(int sequence) {
    if (sequence < 0 || sequence >= batchSize) {
      throw new IndexOutOfBoundsException("sequence " + sequence + " of a batch of " + batchSize);
    }
    return lengths[sequence];
  }

  /** Bytes held: {@code 2 x layers x batchCapacity x maxPositions x kv_dim x 4}. */
  public long bytes() {
    return 2L * layers * batchCapacity * maxPositions * kvDim * Float.BYTES;
  }

  /** Empties the cache and starts a batch of {@code batchSize} empty sequences. */
  public void reset(int batchSize) {
    if (batchSize < 0 || batchSize > batchCapacity) {
      throw new IllegalArgumentException(
          "batch of " + batchSize + " in a cache for " + batchCapacity);
    }
    Arrays.fill(lengths, 0);
    this.batchSize = batchSize;
  }

  /**
   * Records that {@code count} more positions of a sequence are stored; nothing changes if they do
   * not fit.
   */
  /** Sets a sequence's cached length back to {@code length} (at most its current length). */
  public void truncate(int sequence, int length) {
    DecoderInputs.checkTruncate(batchSize(), sequence, length, this::length);
    lengths[sequence] = length;
  }

  public void advance(int sequence, int count) {
    if (count < 0) {
      throw new IllegalArgumentException(
          "cannot advance sequence " + sequence + " by " + count + " positions");
    }
    long length = (long) length(sequence) + count;
    if (length > maxPositions) {
      throw new ContextOverflowException(
          "sequence "
              + sequence
              + " would hold "
              + length
              + " positions; the cache holds "
              + maxPositions);
    }
    lengths[sequence] = (int) length;
  }
}
