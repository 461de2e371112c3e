package dev.kiln.processor.plan;

/** The kernel templates every backend provides; a plan whose kernels fit none of them is a Kiln bug. */
public enum KernelShape {
  /** [Embed]: token rows of the embedding table into the stream. */
  EMBEDDING,
  /**
   * [RmsNorm]? Linear+ [Rope | CacheWrite | Silu | Multiply | Add]*: projections of one input,
   * optionally normalized first, with epilogues applied to their outputs.
   */
  PROJECTION,
  /** [AttentionScores, Softmax?, WeightedValues]: one pass over the KV cache per query row and head. */
  ATTENTION,
  /** [Add]: a residual add that no projection absorbed. */
  RESIDUAL_ADD
}
