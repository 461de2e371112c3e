package dev.kiln.ir;

import dev.kiln.weights.Dim;

/**
 * A per-row activation of the op graph, e.g. {@code q} of shape (rows, Q_DIM).
 *
 * @param width the per-row width, or null for a value that cannot be stored as rows (attention
 *     scores, whose width is the number of attended positions); such a value must never cross a
 *     kernel boundary
 */
public record Value(String name, Dim width) {
  /** The residual stream. */
  public static final Value X = new Value("x", Dim.HIDDEN);

  /** A normalized copy of the stream, input of the projections after a norm. */
  public static final Value NORMED = new Value("normed", Dim.HIDDEN);

  public static final Value Q = new Value("q", Dim.Q_DIM);
  public static final Value K = new Value("k", Dim.KV_DIM);
  public static final Value V = new Value("v", Dim.KV_DIM);

  /** q . k / sqrt(HEAD_DIM) for every head and attended position. */
  public static final Value SCORES = new Value("scores", null);

  /** The heads' weighted sums of values, concatenated. */
  public static final Value ATTN = new Value("attn", Dim.Q_DIM);

  /** Output of the attention's o_proj. */
  public static final Value ATTN_OUT = new Value("attnOut", Dim.HIDDEN);

  public static final Value GATE = new Value("gate", Dim.INTERMEDIATE);
  public static final Value UP = new Value("up", Dim.INTERMEDIATE);

  /** silu(gate). */
  public static final Value GATE_ACT = new Value("gateAct", Dim.INTERMEDIATE);

  /** silu(gate) * up, input of down_proj. */
  public static final Value ACT = new Value("act", Dim.INTERMEDIATE);

  public static final Value MLP_OUT = new Value("mlpOut", Dim.HIDDEN);
  public static final Value LOGITS = new Value("logits", Dim.VOCAB);

  @Override
  public String toString() {
    return name;
  }
}
