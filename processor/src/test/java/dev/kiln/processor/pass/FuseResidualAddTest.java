package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.processor.pass.LayerOps.*;

import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.plan.Kernel;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseResidualAddTest {
  private final Pass pass = new FuseResidualAdd();

  @Test
  void eachAddJoinsTheProjectionOfItsAddend() {
    List<Kernel> out =
        pass.apply(
            kernels(
                List.of(ATTENTION_SCORES, SOFTMAX, WEIGHTED_VALUES),
                List.of(O_PROJ),
                List.of(ADD_ATTENTION),
                List.of(MLP_NORM, GATE_PROJ, UP_PROJ, SILU, MULTIPLY),
                List.of(DOWN_PROJ),
                List.of(ADD_MLP)));

    assertThat(groups(out))
        .containsExactly(
            List.of(ATTENTION_SCORES, SOFTMAX, WEIGHTED_VALUES),
            List.of(O_PROJ, ADD_ATTENTION),
            List.of(MLP_NORM, GATE_PROJ, UP_PROJ, SILU, MULTIPLY),
            List.of(DOWN_PROJ, ADD_MLP))
        .inOrder();
  }

  @Test
  void anAddAfterTheAttentionKernelStays() {
    // Without an output projection the addend comes from the attention kernel, which has no
    // projection.
    Op add = new Op.Add(Value.X, Value.ATTN, Value.X);

    List<Kernel> out =
        pass.apply(kernels(List.of(ATTENTION_SCORES, SOFTMAX, WEIGHTED_VALUES), List.of(add)));

    assertThat(groups(out))
        .containsExactly(List.of(ATTENTION_SCORES, SOFTMAX, WEIGHTED_VALUES), List.of(add))
        .inOrder();
  }

  @Test
  void anAddAfterAPostNormStays() {
    List<Kernel> out = pass.apply(singles(O_PROJ, POST_ATTENTION_NORM, ADD_ATTENTION));

    assertThat(groups(out))
        .containsExactly(List.of(O_PROJ), List.of(POST_ATTENTION_NORM), List.of(ADD_ATTENTION))
        .inOrder();
  }
}
