package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.processor.pass.LayerOps.*;

import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.weights.LayerTensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class FusePostNormIntoResidualAddTest {
  private final Pass pass = new FusePostNormIntoResidualAdd();

  @Test
  void eachPostNormJoinsTheAddAfterIt() {
    List<Kernel> out =
        pass.apply(
            singles(
                O_PROJ,
                POST_ATTENTION_NORM,
                ADD_ATTENTION,
                DOWN_PROJ,
                POST_FEEDFORWARD_NORM,
                ADD_MLP));

    assertThat(groups(out))
        .containsExactly(
            List.of(O_PROJ),
            List.of(POST_ATTENTION_NORM, ADD_ATTENTION),
            List.of(DOWN_PROJ),
            List.of(POST_FEEDFORWARD_NORM, ADD_MLP))
        .inOrder();
  }

  @Test
  void aPreNormBeforeProjectionsStays() {
    List<Kernel> out = pass.apply(kernels(List.of(MLP_NORM), List.of(GATE_PROJ, UP_PROJ)));

    assertThat(groups(out))
        .containsExactly(List.of(MLP_NORM), List.of(GATE_PROJ, UP_PROJ))
        .inOrder();
  }

  @Test
  void notWhenTheAddendIsAnotherValue() {
    Op norm = new Op.RmsNorm(Value.X, LayerTensor.POST_ATTENTION_LAYERNORM, Value.NORMED);

    List<Kernel> out = pass.apply(singles(norm, ADD_ATTENTION));

    assertThat(groups(out)).containsExactly(List.of(norm), List.of(ADD_ATTENTION)).inOrder();
  }

  @Test
  void notWhenTheAddDoesNotAddIntoItsFirstOperand() {
    Op add = new Op.Add(Value.X, Value.ATTN_OUT, Value.MLP_OUT);

    List<Kernel> out = pass.apply(singles(POST_ATTENTION_NORM, add));

    assertThat(groups(out)).containsExactly(List.of(POST_ATTENTION_NORM), List.of(add)).inOrder();
  }

  @Test
  void notWhenALaterKernelReadsTheNormalizedRows() {
    Op readsNormed = new Op.Linear(Value.ATTN_OUT, LayerTensor.GATE_PROJ, null, Value.GATE);

    List<Kernel> out = pass.apply(singles(POST_ATTENTION_NORM, ADD_ATTENTION, readsNormed));

    assertThat(groups(out))
        .containsExactly(List.of(POST_ATTENTION_NORM), List.of(ADD_ATTENTION), List.of(readsNormed))
        .inOrder();
  }
}
