package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.processor.pass.LayerOps.*;

import dev.kiln.processor.plan.Kernel;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseHeadNormIntoProjectionTest {
  private final Pass pass = new FuseHeadNormIntoProjection();

  @Test
  void headNormsJoinTheQkvKernelAndRopeStays() {
    List<Kernel> out =
        pass.apply(
            kernels(
                List.of(INPUT_NORM, Q_PROJ, K_PROJ, V_PROJ),
                List.of(Q_NORM),
                List.of(K_NORM),
                List.of(ROPE_Q),
                List.of(ROPE_K)));

    assertThat(groups(out))
        .containsExactly(
            List.of(INPUT_NORM, Q_PROJ, K_PROJ, V_PROJ, Q_NORM, K_NORM),
            List.of(ROPE_Q),
            List.of(ROPE_K))
        .inOrder();
  }

  @Test
  void aHeadNormAfterAKernelThatDoesNotWriteItsHeadsStays() {
    // q's norm follows v's projection alone; k's norm then follows a kernel without a projection.
    List<Kernel> out = pass.apply(singles(Q_PROJ, K_PROJ, V_PROJ, Q_NORM, K_NORM));

    assertThat(groups(out))
        .containsExactly(
            List.of(Q_PROJ), List.of(K_PROJ), List.of(V_PROJ), List.of(Q_NORM), List.of(K_NORM))
        .inOrder();
  }
}
