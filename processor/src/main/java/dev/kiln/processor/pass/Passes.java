package dev.kiln.processor.pass;

import java.util.ArrayList;
import java.util.List;

/**
 * The fusion passes, in the order the pipeline runs them, and the constraints on that order.
 *
 * <p>Every pass only merges neighbouring kernels, so any order keeps the graph's ops in order and
 * computes the same thing; the order decides how much gets fused. The passes that move an op into
 * the kernel before it ({@link Absorb}) need that kernel to produce the op's input, and a kernel
 * only does once the ops between them have been fused into it. {@link #ORDER} lists each such
 * dependency; {@link #standard()} is checked against it, and the tests show that each constraint
 * matters (reversing it fuses less) and that they are all there are (any order that keeps them
 * gives the same plan). {@link FuseAttention}, {@link FuseResidualAdd}, {@link
 * FuseSoftcapIntoProjection} and {@link FusePostNormIntoResidualAdd} are free to run anywhere.
 */
public final class Passes {
  private Passes() {}

  /** Pass {@code first} must run before pass {@code then}, because {@code why}. */
  public record Order(Class<? extends Pass> first, Class<? extends Pass> then, String why) {}

  /** The ordering constraints between the passes of {@link #standard()}. */
  public static final List<Order> ORDER =
      List.of(
          new Order(
              FuseSharedInputProjections.class,
              FuseRmsNormIntoProjections.class,
              "a norm joins the projection kernel after it only when no later kernel reads the normalized rows: k and v"
                  + " must already share q's kernel (and a kernel that starts with the norm takes no more projections)"),
          new Order(
              FuseSharedInputProjections.class,
              FuseHeadNormIntoProjection.class,
              "q's head norm follows v's projection; it joins the kernel before it only if that kernel writes q,"
                  + " i.e. once q, k and v share one"),
          new Order(
              FuseSharedInputProjections.class,
              FuseRopeIntoProjection.class,
              "RoPE of q follows v's projection (without head norms); it joins only a kernel that writes q"),
          new Order(
              FuseSharedInputProjections.class,
              FuseCacheWriteIntoProjection.class,
              "the cache write joins only a kernel that writes both k and v"),
          new Order(
              FuseSharedInputProjections.class,
              FuseSiluMultiply.class,
              "the activation of gate follows up's projection; it joins only a kernel that writes gate"),
          new Order(
              FuseHeadNormIntoProjection.class,
              FuseRopeIntoProjection.class,
              "RoPE of q follows k's head norm; it joins the projection kernel only once the head norms are in it"),
          new Order(
              FuseHeadNormIntoProjection.class,
              FuseCacheWriteIntoProjection.class,
              "without RoPE the cache write follows k's head norm; it joins the projection kernel only once the head"
                  + " norms are in it"),
          new Order(
              FuseRopeIntoProjection.class,
              FuseCacheWriteIntoProjection.class,
              "the cache write follows RoPE of k; it joins the projection kernel only once RoPE is in it"));

  public static List<Pass> standard() {
    List<Pass> passes =
        List.of(
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
    checkOrder(passes);
    return passes;
  }

  /**
   * Throws {@link IllegalStateException} if {@code passes} run a pass of {@link #ORDER} before one
   * it must follow.
   */
  static void checkOrder(List<Pass> passes) {
    List<Class<?>> types = new ArrayList<>();
    for (Pass pass : passes) {
      types.add(pass.getClass());
    }
    for (Order order : ORDER) {
      int first = types.indexOf(order.first());
      int then = types.indexOf(order.then());
      if (first >= 0 && then >= 0 && first > then) {
        throw new IllegalStateException(
            "[Kiln/Internal] pass "
                + order.first().getSimpleName()
                + " must run before "
                + order.then().getSimpleName()
                + ": "
                + order.why());
      }
    }
  }
}
