package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.processor.pass.LayerOps.*;

import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.plan.Kernel;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseAttentionTest {
  private final Pass pass = new FuseAttention();

  @Test
  void scoresSoftmaxAndWeightedValuesBecomeOneKernel() {
    List<Kernel> out =
        pass.apply(singles(CACHE_WRITE, ATTENTION_SCORES, SOFTMAX, WEIGHTED_VALUES, O_PROJ));

    assertThat(groups(out))
        .containsExactly(
            List.of(CACHE_WRITE),
            List.of(ATTENTION_SCORES, SOFTMAX, WEIGHTED_VALUES),
            List.of(O_PROJ))
        .inOrder();
  }

  @Test
  void rawScoresWithoutSoftmax() {
    Op weightedIntoStream = new Op.WeightedValues(Value.SCORES, Value.X);

    List<Kernel> out = pass.apply(singles(ATTENTION_SCORES, weightedIntoStream));

    assertThat(groups(out)).containsExactly(List.of(ATTENTION_SCORES, weightedIntoStream));
  }

  @Test
  void aCompleteAttentionTakesNoMore() {
    Op unmasked = new Op.AttentionScores(Value.Q, Value.SCORES, false);

    List<Kernel> out =
        pass.apply(singles(ATTENTION_SCORES, WEIGHTED_VALUES, unmasked, SOFTMAX, WEIGHTED_VALUES));

    assertThat(groups(out))
        .containsExactly(
            List.of(ATTENTION_SCORES, WEIGHTED_VALUES), List.of(unmasked, SOFTMAX, WEIGHTED_VALUES))
        .inOrder();
  }

  @Test
  void softmaxWithoutScoresBeforeItStays() {
    List<Kernel> out = pass.apply(singles(O_PROJ, SOFTMAX, WEIGHTED_VALUES));

    assertThat(groups(out))
        .containsExactly(List.of(O_PROJ), List.of(SOFTMAX), List.of(WEIGHTED_VALUES))
        .inOrder();
  }
}
