package dev.kiln.processor.pass;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.Activation;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.ScoreNormalization;
import dev.kiln.SlidingWindowLayers;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.processor.plan.KernelPlan;
import dev.kiln.spec.ResolvedSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The order of the passes: {@link Passes#standard()} keeps every constraint of {@link
 * Passes#ORDER}, each constraint matters (running its two passes the other way round fuses less on
 * some architecture), and there are no others (every order that keeps them plans every architecture
 * the same way).
 */
class PassesTest {
  private static final ResolvedSpec LLAMA =
      ResolvedSpec.builder()
          .vocabSize(100)
          .hiddenSize(256)
          .intermediateSize(512)
          .numHiddenLayers(2)
          .numAttentionHeads(4)
          .numKeyValueHeads(2)
          .build();

  /** The architectures the orders are tried on. */
  private static final Map<String, ResolvedSpec> SPECS =
      Map.of(
          "Llama", LLAMA,
          "Qwen2", LLAMA.toBuilder().qkvBias(true).build(),
          "Qwen3", LLAMA.toBuilder().headDim(96).qkNorm(true).build(),
          "Qwen3 head norms without RoPE",
              LLAMA.toBuilder().qkNorm(true).positionEncoding(PositionEncoding.NONE).build(),
          "Gemma 2",
              LLAMA.toBuilder()
                  .tieWordEmbeddings(true)
                  .rmsNormUnitOffset(true)
                  .scaleEmbeddings(true)
                  .sandwichNorms(true)
                  .hiddenAct(Activation.GELU_TANH)
                  .queryPreAttnScalar(32.0)
                  .attnLogitSoftcapping(50.0)
                  .finalLogitSoftcapping(30.0)
                  .slidingWindow(16)
                  .slidingWindowLayers(SlidingWindowLayers.EVEN)
                  .build(),
          "attention-only residual",
              LLAMA.toBuilder()
                  .norm(NormKind.NONE)
                  .mlp(MlpKind.NONE)
                  .intermediateSize(0)
                  .attentionOutputProjection(false)
                  .build(),
          "seed single head",
              ResolvedSpec.builder()
                  .vocabSize(64)
                  .hiddenSize(128)
                  .numHiddenLayers(1)
                  .numAttentionHeads(1)
                  .maxPositionEmbeddings(64)
                  .norm(NormKind.NONE)
                  .mlp(MlpKind.NONE)
                  .positionEncoding(PositionEncoding.NONE)
                  .scoreNormalization(ScoreNormalization.NONE)
                  .causalMask(false)
                  .attentionBias(true)
                  .attentionOutputProjection(false)
                  .residualConnections(false)
                  .lmHeadBias(true)
                  .build());

  private static KernelPlan plan(ResolvedSpec spec, List<Pass> passes) {
    KernelPlan plan = KernelPlan.unfused(GraphBuilder.build(spec));
    for (Pass pass : passes) {
      plan = pass.apply(plan);
    }
    return plan;
  }

  private static int kernelCount(KernelPlan plan) {
    return plan.sections().stream().mapToInt(List::size).sum();
  }

  private static int indexOf(List<Pass> passes, Class<? extends Pass> type) {
    for (int i = 0; i < passes.size(); i++) {
      if (passes.get(i).getClass() == type) {
        return i;
      }
    }
    throw new AssertionError(type.getSimpleName() + " is not a standard pass");
  }

  @Test
  void theStandardOrderKeepsEveryConstraint() {
    List<Pass> passes = Passes.standard();

    for (Passes.Order order : Passes.ORDER) {
      assertWithMessage("%s", order)
          .that(indexOf(passes, order.first()))
          .isLessThan(indexOf(passes, order.then()));
    }
  }

  @Test
  void checkOrderRejectsAPassBeforeOneItMustFollow() {
    List<Pass> reversed = new ArrayList<>(Passes.standard()).reversed();

    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> Passes.checkOrder(reversed));
    assertThat(e).hasMessageThat().contains("must run before");
  }

  @Test
  void everyConstraintMatters() {
    List<Pass> standard = Passes.standard();
    for (Passes.Order order : Passes.ORDER) {
      // The later pass moved to just before the earlier one.
      List<Pass> swapped = new ArrayList<>(standard);
      Pass then = swapped.remove(indexOf(swapped, order.then()));
      swapped.add(indexOf(swapped, order.first()), then);

      List<String> fusesLess = new ArrayList<>();
      SPECS.forEach(
          (name, spec) -> {
            if (kernelCount(plan(spec, swapped)) > kernelCount(plan(spec, standard))) {
              fusesLess.add(name);
            }
          });
      assertWithMessage(
              "architectures that %s before %s plans with more kernels",
              order.then().getSimpleName(), order.first().getSimpleName())
          .that(fusesLess)
          .isNotEmpty();
    }
  }

  @Test
  void everyOrderThatKeepsTheConstraintsPlansTheSame() {
    List<Pass> standard = Passes.standard();
    Map<String, KernelPlan> expected = new java.util.HashMap<>();
    SPECS.forEach((name, spec) -> expected.put(name, plan(spec, standard)));

    Random random = new Random(15);
    Set<List<String>> tried = new HashSet<>();
    for (int attempt = 0; attempt < 200; attempt++) {
      List<Pass> order = randomOrderKeepingConstraints(standard, random);
      if (!tried.add(order.stream().map(Pass::name).toList())) {
        continue;
      }
      SPECS.forEach(
          (name, spec) ->
              assertWithMessage("%s with passes %s", name, order.stream().map(Pass::name).toList())
                  .that(plan(spec, order))
                  .isEqualTo(expected.get(name)));
    }
    assertThat(tried.size()).isGreaterThan(20);
  }

  /** A random topological order of the passes under {@link Passes#ORDER}. */
  private static List<Pass> randomOrderKeepingConstraints(List<Pass> passes, Random random) {
    List<Pass> remaining = new ArrayList<>(passes);
    List<Pass> order = new ArrayList<>();
    while (!remaining.isEmpty()) {
      List<Pass> ready =
          remaining.stream()
              .filter(
                  pass ->
                      Passes.ORDER.stream()
                          .noneMatch(
                              o ->
                                  o.then() == pass.getClass()
                                      && remaining.stream()
                                          .anyMatch(other -> other.getClass() == o.first())))
              .toList();
      Pass next = ready.get(random.nextInt(ready.size()));
      remaining.remove(next);
      order.add(next);
    }
    Passes.checkOrder(order);
    return order;
  }
}
