package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.processor.pass.LayerOps.*;

import dev.kiln.Activation;
import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.weights.LayerTensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseSiluMultiplyTest {
  private final Pass pass = new FuseSiluMultiply();

  @Test
  void activationAndMultiplyJoinTheGateUpKernel() {
    List<Kernel> out =
        pass.apply(
            kernels(
                List.of(MLP_NORM, GATE_PROJ, UP_PROJ),
                List.of(SILU),
                List.of(MULTIPLY),
                List.of(DOWN_PROJ)));

    assertThat(groups(out))
        .containsExactly(List.of(MLP_NORM, GATE_PROJ, UP_PROJ, SILU, MULTIPLY), List.of(DOWN_PROJ))
        .inOrder();
  }

  @Test
  void geluToo() {
    Op gelu = new Op.Activate(Value.GATE, Value.GATE_ACT, Activation.GELU_TANH);

    List<Kernel> out =
        pass.apply(kernels(List.of(GATE_PROJ, UP_PROJ), List.of(gelu), List.of(MULTIPLY)));

    assertThat(groups(out)).containsExactly(List.of(GATE_PROJ, UP_PROJ, gelu, MULTIPLY));
  }

  @Test
  void notAfterAKernelThatDoesNotWriteGate() {
    List<Kernel> out = pass.apply(singles(GATE_PROJ, UP_PROJ, SILU, MULTIPLY));

    assertThat(groups(out))
        .containsExactly(List.of(GATE_PROJ), List.of(UP_PROJ), List.of(SILU), List.of(MULTIPLY))
        .inOrder();
  }

  @Test
  void notWhenALaterKernelReadsTheValueItConsumes() {
    // Fused, gate would never be stored; a later kernel that reads it keeps the activation apart.
    Op readsGate = new Op.Linear(Value.GATE, LayerTensor.DOWN_PROJ, null, Value.MLP_OUT);

    List<Kernel> out =
        pass.apply(
            kernels(
                List.of(GATE_PROJ, UP_PROJ), List.of(SILU), List.of(MULTIPLY), List.of(readsGate)));

    assertThat(groups(out))
        .containsExactly(
            List.of(GATE_PROJ, UP_PROJ), List.of(SILU), List.of(MULTIPLY), List.of(readsGate))
        .inOrder();
  }
}
