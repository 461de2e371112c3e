package dev.kiln.generate;

import java.util.Arrays;

/**
 * The tokens still in the running while a {@link SamplerChain} picks the next one: parallel arrays
 * of token ids and their (processed) logits. A chain fills it from a logits vector, each {@link
 * LogitsProcessor} rescales or removes entries, and the final pick chooses among what is left.
 *
 * <p>Order: entries start in id order. Filters that need the best tokens first ({@link #keepTop},
 * {@link #sortTop}) order a prefix by <em>logit descending, then id ascending</em>, a total order,
 * so every step is deterministic. {@link #isSorted()} says whether the whole set is in that order.
 *
 * <p>Selection is partial (quickselect on packed {@code (logit, id)} keys, then a sort of the
 * selected prefix only), so keeping the top 40 of 128k tokens costs a linear pass, not a full sort.
 * An instance reuses its arrays from call to call; it is not thread-safe.
 */
public final class Candidates {
  private int[] ids = new int[0];
  private float[] logits = new float[0];
  private long[] keys = new long[0];
  private boolean[] marks = new boolean[0];
  private int size;
  private int vocabSize;
  private boolean sorted;

  /** Entry i is token i, for every token of the vocabulary (nothing removed or moved yet). */
  private boolean dense;

  /** Refills from a logits vector: every id whose logit is not NaN, in id order. */
  void reset(float[] source) {
    vocabSize = source.length;
    if (ids.length < source.length) {
      ids = new int[source.length];
      logits = new float[source.length];
    }
    int n = 0;
    for (int id = 0; id < source.length; id++) {
      float logit = source[id];
      if (!Float.isNaN(logit)) {
        ids[n] = id;
        logits[n] = logit;
        n++;
      }
    }
    size = n;
    sorted = n <= 1;
    dense = n == source.length;
  }

  /** Length of the logits vector the candidates came from (ids are in {@code [0, vocabSize)}). */
  public int vocabSize() {
    return vocabSize;
  }

  /** Entries left. */
  public int size() {
    return size;
  }

  /** Token id of entry {@code i}. */
  public int id(int i) {
    check(i);
    return ids[i];
  }

  /** Logit of entry {@code i}. */
  public float logit(int i) {
    check(i);
    return logits[i];
  }

  /**
   * Replaces the logit of entry {@code i} (NaN is not allowed); the set is no longer known to be
   * sorted.
   */
  public void setLogit(int i, float logit) {
    check(i);
    if (Float.isNaN(logit)) {
      throw new IllegalArgumentException("logit of token " + ids[i] + " set to NaN");
    }
    logits[i] = logit;
    sorted = size <= 1;
  }

  /**
   * The entry of token {@code id}, or -1 when it is no longer a candidate. Constant time while no
   * entry was removed or moved, linear after.
   */
  public int indexOf(int id) {
    if (dense) {
      return id >= 0 && id < size ? id : -1;
    }
    for (int i = 0; i < size; i++) {
      if (ids[i] == id) {
        return i;
      }
    }
    return -1;
  }

  /** Whether entry i is token i for every token (so {@link #indexOf} is constant time). */
  public boolean isDense() {
    return dense;
  }

  /**
   * Divides every logit by a positive {@code divisor} (in double, rounded to float). The order is
   * kept up to rounding, which may turn two logits equal, so the set is no longer known to be
   * sorted.
   */
  public void divideLogits(double divisor) {
    if (!(divisor > 0) || Double.isInfinite(divisor)) {
      throw new IllegalArgumentException("cannot divide logits by " + divisor);
    }
    for (int i = 0; i < size; i++) {
      logits[i] = (float) (logits[i] / divisor);
    }
    sorted = size <= 1;
  }

  /** Whether all entries are ordered by logit descending, then id ascending. */
  public boolean isSorted() {
    return sorted;
  }

  /** The largest logit ({@code -Infinity} when empty). */
  public float maxLogit() {
    if (sorted && size > 0) {
      return logits[0];
    }
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < size; i++) {
      max = Math.max(max, logits[i]);
    }
    return max;
  }

  /**
   * Index of the entry with the largest logit, the lowest id among equal ones (as {@link
   * dev.kiln.Greedy#argmax}).
   */
  public int argmax() {
    if (size == 0) {
      throw new IllegalStateException("no candidates left");
    }
    if (sorted) {
      return 0;
    }
    int best = 0;
    for (int i = 1; i < size; i++) {
      if (logits[i] > logits[best] || (logits[i] == logits[best] && ids[i] < ids[best])) {
        best = i;
      }
    }
    return best;
  }

  /** Keeps only entry {@code i}. */
  public void keepOnly(int i) {
    check(i);
    ids[0] = ids[i];
    logits[0] = logits[i];
    size = 1;
    sorted = true;
    dense = false;
  }

  /** Keeps the first {@code count} entries (in their current order). */
  public void keepFirst(int count) {
    if (count < 1 || count > size) {
      throw new IllegalArgumentException(
          "cannot keep the first " + count + " of " + size + " candidates");
    }
    dense = dense && count == size;
    size = count;
    sorted = sorted || size <= 1;
  }

  /**
   * Keeps the entries whose logit is at least {@code threshold}, in their current order (a sorted
   * set stays sorted); keeps the best entry if none reaches it.
   */
  public void keepAtLeast(double threshold) {
    int n = 0;
    for (int i = 0; i < size; i++) {
      if (logits[i] >= threshold) {
        ids[n] = ids[i];
        logits[n] = logits[i];
        n++;
      }
    }
    if (n == 0) {
      keepOnly(argmax());
    } else {
      dense = dense && n == size;
      size = n;
      sorted = sorted || n <= 1;
    }
  }

  /**
   * Keeps the {@code k} best entries (logit descending, id ascending), in that order; nothing
   * changes when {@code k >= size()}.
   */
  public void keepTop(int k) {
    if (k < 1) {
      throw new IllegalArgumentException("cannot keep the top " + k + " candidates");
    }
    if (k >= size) {
      return;
    }
    if (k > size / 16) {
      sortTop(k);
    } else {
      heapTop(k);
    }
    size = k;
    sorted = true;
    dense = false;
  }

  /**
   * Puts the {@code k} best entries, sorted, first (the rest are dropped by the caller): one pass
   * keeping a max-heap of the best keys so far, where most entries are rejected by one float
   * comparison with the worst kept logit.
   */
  private void heapTop(int k) {
    if (keys.length < k) {
      keys = new long[Math.max(k, 64)];
    }
    long[] heap = keys;
    int n = 0;
    float worst = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < size; i++) {
      float logit = logits[i];
      if (n == k && logit < worst) {
        continue;
      }
      long key = key(logit, ids[i]);
      if (n < k) {
        heap[n] = key;
        siftUp(heap, n++);
        if (n == k) {
          worst = logitOf(heap[0]);
        }
      } else if (key < heap[0]) {
        heap[0] = key;
        siftDown(heap, k);
        worst = logitOf(heap[0]);
      }
    }
    Arrays.sort(heap, 0, k);
    for (int i = 0; i < k; i++) {
      ids[i] = (int) heap[i];
      logits[i] = logitOf(heap[i]);
    }
  }

  private static void siftUp(long[] heap, int i) {
    long key = heap[i];
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (heap[parent] >= key) {
        break;
      }
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = key;
  }

  private static void siftDown(long[] heap, int n) {
    long key = heap[0];
    int i = 0;
    while (true) {
      int child = 2 * i + 1;
      if (child >= n) {
        break;
      }
      if (child + 1 < n && heap[child + 1] > heap[child]) {
        child++;
      }
      if (heap[child] <= key) {
        break;
      }
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = key;
  }

  /**
   * Orders the entries so that the first {@code count} are the best ones, sorted (logit descending,
   * id ascending); the rest follow in no particular order. Entries already in place before {@code
   * from} are assumed to be the {@code from} best, sorted, and are left alone.
   */
  public void sortTop(int from, int count) {
    if (from < 0 || from > count || count > size) {
      throw new IllegalArgumentException(
          "cannot sort entries [" + from + ", " + count + ") of " + size);
    }
    if (sorted || from == count) {
      return;
    }
    int n = size - from;
    if (keys.length < n) {
      keys = new long[Math.max(n, keys.length * 2)];
    }
    for (int i = 0; i < n; i++) {
      keys[i] = key(logits[from + i], ids[from + i]);
    }
    int selected = count - from;
    if (selected < n) {
      select(keys, 0, n, selected);
    }
    Arrays.sort(keys, 0, selected);
    for (int i = 0; i < n; i++) {
      ids[from + i] = (int) keys[i];
      logits[from + i] = logitOf(keys[i]);
    }
    dense = false;
    if (count == size) {
      sorted = true;
    }
  }

  /** {@link #sortTop(int, int)} from the start. */
  public void sortTop(int count) {
    sortTop(0, count);
  }

  /** Sorts every entry (logit descending, id ascending). */
  public void sort() {
    sortTop(0, size);
  }

  /**
   * Unnormalized softmax weight of each entry relative to the largest logit: {@code exp(logit -
   * max)} in double.
   */
  double[] weights(double[] into) {
    double[] weights = into != null && into.length >= size ? into : new double[Math.max(size, 16)];
    float max = maxLogit();
    for (int i = 0; i < size; i++) {
      weights[i] = weight(logits[i], max);
    }
    return weights;
  }

  /** {@code exp(logit - max)}; 1 for a logit equal to the max (also when both are infinite). */
  static double weight(float logit, float max) {
    return logit == max ? 1.0 : Math.exp((double) logit - max);
  }

  /** A vocabulary-sized scratch array of marks, all false; give it back cleared. */
  boolean[] marks() {
    if (marks.length < vocabSize) {
      marks = new boolean[vocabSize];
    }
    return marks;
  }

  private void check(int i) {
    if (i < 0 || i >= size) {
      throw new IndexOutOfBoundsException("candidate " + i + " of " + size);
    }
  }

  /**
   * A key whose signed order is (logit descending, id ascending): the upper 32 bits hold the
   * logit's bits mapped to an order-preserving int and inverted, the lower 32 the id. -0 counts as
   * +0.
   */
  static long key(float logit, int id) {
    int bits = Float.floatToRawIntBits(logit + 0.0f);
    int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
    return ((long) ~ordered << 32) | (id & 0xffffffffL);
  }

  static float logitOf(long key) {
    int ordered = ~(int) (key >> 32);
    int bits = ordered ^ ((ordered >> 31) & 0x7fffffff);
    return Float.intBitsToFloat(bits);
  }

  /**
   * Rearranges {@code a[from, to)} (distinct values) so that its {@code k} smallest come first, in
   * no particular order: quickselect with a median-of-three pivot, falling back to a full sort
   * after too many rounds (so the worst case stays O(n log n)).
   */
  static void select(long[] a, int from, int to, int k) {
    int lo = from;
    int hi = to - 1;
    int target = from + k - 1;
    int rounds = 2 * (32 - Integer.numberOfLeadingZeros(to - from)) + 8;
    while (lo < hi) {
      if (rounds-- == 0) {
        Arrays.sort(a, lo, hi + 1);
        return;
      }
      int mid = (lo + hi) >>> 1;
      if (a[mid] < a[lo]) swap(a, mid, lo);
      if (a[hi] < a[lo]) swap(a, hi, lo);
      if (a[hi] < a[mid]) swap(a, hi, mid);
      long pivot = a[mid];
      int i = lo;
      int j = hi;
      while (i <= j) {
        while (a[i] < pivot) i++;
        while (a[j] > pivot) j--;
        if (i <= j) {
          swap(a, i, j);
          i++;
          j--;
        }
      }
      if (target <= j) {
        hi = j;
      } else if (target >= i) {
        lo = i;
      } else {
        return;
      }
    }
  }

  private static void swap(long[] a, int i, int j) {
    long t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
