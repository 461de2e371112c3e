package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.processor.pass.LayerOps.*;

import dev.kiln.processor.plan.Kernel;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseRmsNormIntoProjectionsTest {
  private final Pass pass = new FuseRmsNormIntoProjections();

  @Test
  void inputNormJoinsTheQkvKernel() {
    List<Kernel> out =
        pass.apply(kernels(List.of(INPUT_NORM), List.of(Q_PROJ, K_PROJ, V_PROJ), List.of(ROPE_Q)));

    assertThat(groups(out))
        .containsExactly(List.of(INPUT_NORM, Q_PROJ, K_PROJ, V_PROJ), List.of(ROPE_Q))
        .inOrder();
  }

  @Test
  void finalNormJoinsTheLmHead() {
    List<Kernel> out = pass.apply(singles(FINAL_NORM, LM_HEAD, SOFTCAP));

    assertThat(groups(out))
        .containsExactly(List.of(FINAL_NORM, LM_HEAD), List.of(SOFTCAP))
        .inOrder();
  }

  @Test
  void aNormWhoseRowsALaterKernelReadsStays() {
    // k and v still read the normalized rows after q's kernel, which therefore cannot keep them to
    // itself.
    List<Kernel> out = pass.apply(singles(INPUT_NORM, Q_PROJ, K_PROJ, V_PROJ));

    assertThat(groups(out))
        .containsExactly(List.of(INPUT_NORM), List.of(Q_PROJ), List.of(K_PROJ), List.of(V_PROJ))
        .inOrder();
  }

  @Test
  void aNormNotFollowedByAProjectionOfItsOutputStays() {
    // Gemma's post norm is followed by the residual add; a pre-MLP norm followed by another value's
    // projection.
    List<Kernel> out =
        pass.apply(singles(O_PROJ, POST_ATTENTION_NORM, ADD_ATTENTION, MLP_NORM, DOWN_PROJ));

    assertThat(groups(out))
        .containsExactly(
            List.of(O_PROJ),
            List.of(POST_ATTENTION_NORM),
            List.of(ADD_ATTENTION),
            List.of(MLP_NORM),
            List.of(DOWN_PROJ))
        .inOrder();
  }
}
