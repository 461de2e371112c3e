package dev.kiln.processor.plan;

import dev.kiln.ir.Value;

/**
 * Where a kernel puts one of its results, as every backend must: the decision follows from the ops
 * fused into the kernel (a cache write, a residual add, the logits), so it is made once, here.
 *
 * @param value the value whose rows receive the result: the result itself, or the stream it is
 *     added into
 */
public record Destination(Kind kind, Value value) {
  public enum Kind {
    /** The row's logits. */
    LOGITS,
    /** The layer's key cache, at the row's position. */
    KEY_CACHE,
    /** The layer's value cache, at the row's position. */
    VALUE_CACHE,
    /** Added into {@link #value()} (a fused residual add). */
    ADD_INTO,
    /** Stored as rows of {@link #value()}. */
    STORE
  }
}
