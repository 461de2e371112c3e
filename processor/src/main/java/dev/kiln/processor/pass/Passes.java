package dev.kiln.processor.pass;

import java.util.List;

/** The fusion passes, in the order the pipeline runs them. */
public final class Passes {
  private Passes() {}

  public static List<Pass> standard() {
    return List.of(
        new FuseSharedInputProjections(),
        new FuseRmsNormIntoProjections(),
        new FuseHeadNormIntoProjection(),
        new FuseRopeIntoProjection(),
        new FuseCacheWriteIntoProjection(),
        new FuseAttention(),
        new FuseSiluMultiply(),
        new FuseResidualAdd(),
        new FuseSoftcapIntoProjection(),
        new FusePostNormIntoResidualAdd());
  }
}
