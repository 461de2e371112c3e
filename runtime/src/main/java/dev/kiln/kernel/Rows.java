package dev.kiln.kernel;

/**
 * The positions a generated decoder computes in one call of its {@code forward}: each row is one
 * token of one sequence at one position. Rows of a sequence come in position order. The caller has
 * already reserved cache room for them; a row's keys and values go to {@link #cacheOffset}.
 */
public final class Rows {
  private final int count;
  private final int[] tokens;
  private final int[] positions;
  private final int[] cacheOffsets;
  private final int[] sequenceStarts;
  private final int[] attendEnds;
  private final float[][] logits;

  Rows(
      int count,
      int[] tokens,
      int[] positions,
      int[] cacheOffsets,
      int[] sequenceStarts,
      int[] attendEnds,
      float[][] logits) {
    this.count = count;
    this.tokens = tokens;
    this.positions = positions;
    this.cacheOffsets = cacheOffsets;
    this.sequenceStarts = sequenceStarts;
    this.attendEnds = attendEnds;
    this.logits = logits;
  }

  /** Number of rows. */
  public int count() {
    return count;
  }

  /** The token fed at row r. */
  public int token(int r) {
    return tokens[r];
  }

  /** The position of row r in its sequence (what RoPE rotates by). */
  public int position(int r) {
    return positions[r];
  }

  /** Index of row r's keys/values in a layer's cache arrays. */
  public int cacheOffset(int r) {
    return cacheOffsets[r];
  }

  /** Index of position 0 of row r's sequence in a layer's cache arrays. */
  public int sequenceStart(int r) {
    return sequenceStarts[r];
  }

  /**
   * Row r attends to positions [0, attendEnd): its own position + 1 with a causal mask, else the
   * whole sequence.
   */
  public int attendEnd(int r) {
    return attendEnds[r];
  }

  /** Whether logits are wanted for row r. */
  public boolean wantsLogits(int r) {
    return logits[r] != null;
  }

  /**
   * Whether logits are wanted for every row (a decode step), not only some (a prefill's last rows).
   */
  public boolean allWantLogits() {
    for (int r = 0; r < count; r++) {
      if (logits[r] == null) {
        return false;
      }
    }
    return true;
  }

  /** Where row r's logits go (length vocab); null when not wanted. */
  public float[] logits(int r) {
    return logits[r];
  }
}
