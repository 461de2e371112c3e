package dev.kiln.processor.plan;

/**
 * The kernel templates every backend provides; a plan whose kernels fit none of them is a Kiln bug.
 */
public enum KernelShape {
  /** [Embed]: token rows of the embedding table into the stream. */
  EMBEDDING,
  /**
   * [RmsNorm]? Linear+ [HeadRmsNorm | Rope | CacheWrite | Activate | Multiply | Add | Softcap]*:
   * projections of one input, optionally normalized first, with epilogues applied to their outputs.
   */
  PROJECTION,
  /**
   * [AttentionScores, Softmax?, WeightedValues]: one pass over the KV cache per query row and head.
   */
  ATTENTION,
  /**
   * [RmsNorm, Add]: a residual branch's output normalized and added to the stream (Gemma 2's
   * sandwich norms).
   */
  NORM_RESIDUAL_ADD,
  /** [Add]: a residual add that no projection absorbed. */
  RESIDUAL_ADD
}
