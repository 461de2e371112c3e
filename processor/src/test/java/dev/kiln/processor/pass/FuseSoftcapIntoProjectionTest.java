package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.processor.pass.LayerOps.*;

import dev.kiln.processor.plan.Kernel;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseSoftcapIntoProjectionTest {
  private final Pass pass = new FuseSoftcapIntoProjection();

  @Test
  void softcapJoinsTheLmHeadKernel() {
    List<Kernel> out = pass.apply(kernels(List.of(FINAL_NORM, LM_HEAD), List.of(SOFTCAP)));

    assertThat(groups(out)).containsExactly(List.of(FINAL_NORM, LM_HEAD, SOFTCAP));
  }

  @Test
  void notAfterAKernelThatDoesNotWriteTheLogits() {
    List<Kernel> out = pass.apply(singles(DOWN_PROJ, SOFTCAP));

    assertThat(groups(out)).containsExactly(List.of(DOWN_PROJ), List.of(SOFTCAP)).inOrder();
  }

  @Test
  void notAfterAKernelWithoutAProjection() {
    List<Kernel> out = pass.apply(singles(FINAL_NORM, SOFTCAP));

    assertThat(groups(out)).containsExactly(List.of(FINAL_NORM), List.of(SOFTCAP)).inOrder();
  }
}
