package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.processor.pass.LayerOps.*;

import dev.kiln.processor.plan.Kernel;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseCacheWriteIntoProjectionTest {
  private final Pass pass = new FuseCacheWriteIntoProjection();

  @Test
  void cacheWriteJoinsTheKernelThatWritesKAndV() {
    List<Kernel> out =
        pass.apply(
            kernels(
                List.of(Q_PROJ, K_PROJ, V_PROJ, ROPE_Q, ROPE_K),
                List.of(CACHE_WRITE),
                List.of(ATTENTION_SCORES)));

    assertThat(groups(out))
        .containsExactly(
            List.of(Q_PROJ, K_PROJ, V_PROJ, ROPE_Q, ROPE_K, CACHE_WRITE), List.of(ATTENTION_SCORES))
        .inOrder();
  }

  @Test
  void notIntoAKernelThatWritesOnlyV() {
    List<Kernel> out =
        pass.apply(kernels(List.of(Q_PROJ, K_PROJ), List.of(V_PROJ), List.of(CACHE_WRITE)));

    assertThat(groups(out))
        .containsExactly(List.of(Q_PROJ, K_PROJ), List.of(V_PROJ), List.of(CACHE_WRITE))
        .inOrder();
  }

  @Test
  void notAfterAStandaloneRope() {
    List<Kernel> out =
        pass.apply(
            kernels(
                List.of(Q_PROJ, K_PROJ, V_PROJ),
                List.of(ROPE_Q),
                List.of(ROPE_K),
                List.of(CACHE_WRITE)));

    assertThat(groups(out))
        .containsExactly(
            List.of(Q_PROJ, K_PROJ, V_PROJ), List.of(ROPE_Q), List.of(ROPE_K), List.of(CACHE_WRITE))
        .inOrder();
  }
}
