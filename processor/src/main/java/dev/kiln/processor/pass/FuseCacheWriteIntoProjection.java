package dev.kiln.processor.pass;

import dev.kiln.ir.Op;
import dev.kiln.processor.plan.Kernel;
import java.util.List;

/**
 * The KV-cache write joins the kernel that produces k and v: the projections write keys and values
 * straight into the cache at each row's position (RoPE rotating the keys there), with no k/v
 * buffers.
 */
final class FuseCacheWriteIntoProjection implements Pass {
  @Override
  public String name() {
    return "fuse-cache-write-into-projection";
  }

  @Override
  public List<Kernel> apply(List<Kernel> kernels) {
    return Absorb.intoPreviousProducer(
        kernels,
        op -> op instanceof Op.CacheWrite,
        (previous, op, all, index) ->
            previous.writes(((Op.CacheWrite) op).keys())
                && previous.writes(((Op.CacheWrite) op).values()));
  }
}
