package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.processor.pass.LayerOps.*;

import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.weights.LayerTensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseSharedInputProjectionsTest {
  private final Pass pass = new FuseSharedInputProjections();

  @Test
  void qkvOfTheNormalizedRowsBecomeOneKernel() {
    List<Kernel> out = pass.apply(singles(INPUT_NORM, Q_PROJ, K_PROJ, V_PROJ, ROPE_Q));

    assertThat(groups(out))
        .containsExactly(List.of(INPUT_NORM), List.of(Q_PROJ, K_PROJ, V_PROJ), List.of(ROPE_Q))
        .inOrder();
  }

  @Test
  void gateAndUpJoinButDownReadsAnotherInput() {
    List<Kernel> out = pass.apply(singles(GATE_PROJ, UP_PROJ, SILU, MULTIPLY, DOWN_PROJ));

    assertThat(groups(out))
        .containsExactly(
            List.of(GATE_PROJ, UP_PROJ), List.of(SILU), List.of(MULTIPLY), List.of(DOWN_PROJ))
        .inOrder();
  }

  @Test
  void projectionsOfDifferentInputsStayApart() {
    List<Kernel> out = pass.apply(singles(O_PROJ, GATE_PROJ));

    assertThat(groups(out)).containsExactly(List.of(O_PROJ), List.of(GATE_PROJ)).inOrder();
  }

  @Test
  void aProjectionThatOverwritesTheSharedInputEndsTheGroup() {
    Op overwrite = new Op.Linear(Value.X, LayerTensor.O_PROJ, null, Value.X);
    Op next = new Op.Linear(Value.X, LayerTensor.GATE_PROJ, null, Value.GATE);

    List<Kernel> out = pass.apply(singles(overwrite, next));

    assertThat(groups(out)).containsExactly(List.of(overwrite), List.of(next)).inOrder();
  }

  @Test
  void aProjectionDoesNotJoinAKernelWithOtherOps() {
    List<Kernel> out = pass.apply(kernels(List.of(INPUT_NORM, Q_PROJ), List.of(K_PROJ)));

    assertThat(groups(out)).containsExactly(List.of(INPUT_NORM, Q_PROJ), List.of(K_PROJ)).inOrder();
  }
}
