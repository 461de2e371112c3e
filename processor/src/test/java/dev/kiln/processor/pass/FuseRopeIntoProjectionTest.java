package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.processor.pass.LayerOps.*;

import dev.kiln.processor.plan.Kernel;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseRopeIntoProjectionTest {
  private final Pass pass = new FuseRopeIntoProjection();

  @Test
  void ropeOfQAndKJoinsTheQkvKernelAndTheCacheWriteStays() {
    List<Kernel> out =
        pass.apply(
            kernels(
                List.of(Q_PROJ, K_PROJ, V_PROJ),
                List.of(ROPE_Q),
                List.of(ROPE_K),
                List.of(CACHE_WRITE)));

    assertThat(groups(out))
        .containsExactly(List.of(Q_PROJ, K_PROJ, V_PROJ, ROPE_Q, ROPE_K), List.of(CACHE_WRITE))
        .inOrder();
  }

  @Test
  void ropeJoinsAfterHeadNormsAlreadyInTheKernel() {
    List<Kernel> out =
        pass.apply(
            kernels(
                List.of(Q_PROJ, K_PROJ, V_PROJ, Q_NORM, K_NORM), List.of(ROPE_Q), List.of(ROPE_K)));

    assertThat(groups(out))
        .containsExactly(List.of(Q_PROJ, K_PROJ, V_PROJ, Q_NORM, K_NORM, ROPE_Q, ROPE_K));
  }

  @Test
  void ropeAfterStandaloneHeadNormsStays() {
    List<Kernel> out =
        pass.apply(
            kernels(
                List.of(Q_PROJ, K_PROJ, V_PROJ),
                List.of(Q_NORM),
                List.of(K_NORM),
                List.of(ROPE_Q),
                List.of(ROPE_K)));

    assertThat(groups(out))
        .containsExactly(
            List.of(Q_PROJ, K_PROJ, V_PROJ),
            List.of(Q_NORM),
            List.of(K_NORM),
            List.of(ROPE_Q),
            List.of(ROPE_K))
        .inOrder();
  }
}
