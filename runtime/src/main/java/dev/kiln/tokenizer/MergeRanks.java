package dev.kiln.tokenizer;

import java.util.Arrays;

/**
 * BPE merges by the ids of the pair: each merge's rank (0 merges first) and the id of the token it
 * makes. An open-addressing table of longs, small for the few hundred thousand merges of a large
 * vocabulary.
 */
final class MergeRanks {
  private static final long EMPTY = -1;

  private long[] keys;
  private long[] values;
  private int size;

  MergeRanks(int expected) {
    int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
    keys = new long[capacity];
    values = new long[capacity];
    Arrays.fill(keys, EMPTY);
  }

  private static long key(int left, int right) {
    return ((long) left << 32) | (right & 0xffffffffL);
  }

  private int slot(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    int mask = keys.length - 1;
    int i = (int) (h >>> 32) & mask;
    while (keys[i] != EMPTY && keys[i] != key) {
      i = (i + 1) & mask;
    }
    return i;
  }

  /**
   * Adds a merge unless the pair already has one (the lower rank stays); returns whether it was
   * added.
   */
  boolean add(int left, int right, int rank, int merged) {
    if ((size + 1) * 2 > keys.length) {
      grow();
    }
    long key = key(left, right);
    int i = slot(key);
    if (keys[i] != EMPTY) {
      return false;
    }
    keys[i] = key;
    values[i] = ((long) rank << 32) | (merged & 0xffffffffL);
    size++;
    return true;
  }

  /**
   * The merge of {@code left} and {@code right}: rank in the high 32 bits, merged id in the low; -1
   * if none.
   */
  long find(int left, int right) {
    if (left < 0 || right < 0) {
      return -1;
    }
    long key = key(left, right);
    int i = slot(key);
    return keys[i] == EMPTY ? -1 : values[i];
  }

  int size() {
    return size;
  }

  private void grow() {
    long[] oldKeys = keys;
    long[] oldValues = values;
    keys = new long[oldKeys.length * 2];
    values = new long[oldKeys.length * 2];
    Arrays.fill(keys, EMPTY);
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != EMPTY) {
        int j = slot(oldKeys[i]);
        keys[j] = oldKeys[i];
        values[j] = oldValues[i];
      }
    }
  }

  /** The PairMerger rule of these merges: priority minus the rank. */
  PairMerger.Rule rule() {
    return (leftId, leftText, rightId, rightText) -> {
      long found = find(leftId, rightId);
      return found < 0 ? null : new PairMerger.Merge((int) found, -(double) (found >>> 32));
    };
  }
}
