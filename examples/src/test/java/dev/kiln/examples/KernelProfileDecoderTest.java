package dev.kiln.examples;

import static com.google.common.truth.Truth.assertThat;

import dev.kiln.bench.BenchRunner;
import dev.kiln.kernel.KernelProfile;
import dev.kiln.weights.Dtype;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The generated decoder's kernel laps: one per planned kernel call, and no change to the numbers.
 */
class KernelProfileDecoderTest {
  @Test
  void forwardTakesALapAfterEachPlannedKernelWithoutChangingTheLogits() {
    SeedLlamaDecoder plain = SeedLlamaDecoder.random(7);
    SeedLlamaDecoder profiled = SeedLlamaDecoder.random(7);
    profiled.kernelProfile().enable(true);

    int[][] prompt = {{1, 5, 9}};
    // Not bit for bit: the JIT may compile a vector kernel between the two calls, and the compiled
    // kernel adds lanes in another order than the interpreted one.
    Logits.assertClose("prefill", profiled.prefill(prompt)[0], plain.prefill(prompt)[0]);
    Logits.assertClose("step", profiled.step(new int[] {4})[0], plain.step(new int[] {4})[0]);

    assertThat(plain.kernelProfile().entries()).isEmpty();
    List<KernelProfile.Entry> entries = profiled.kernelProfile().entries();
    assertThat(entries.getFirst().kernel()).isEqualTo("ropeAngles");
    List<String> kernels = new ArrayList<>();
    entries.subList(1, entries.size()).forEach(entry -> kernels.add(entry.kernel()));
    assertThat(kernels).containsExactlyElementsIn(SeedLlamaDecoder.PLANNED_KERNELS).inOrder();

    int forwardCalls = 2; // the prefill (3 rows, one chunk) and the step
    int layers = SeedLlamaDecoder.SPEC.numHiddenLayers();
    for (KernelProfile.Entry entry : entries) {
      boolean perLayer =
          !entry.kernel().equals("ropeAngles")
              && !entry.kernel().equals("embedTokens")
              && !entry.kernel().equals("fusedRmsNormLmHead");
      assertThat(entry.calls()).isEqualTo((long) forwardCalls * (perLayer ? layers : 1));
      assertThat(entry.nanos()).isAtLeast(0L);
    }
    assertThat(profiled.kernelProfile().totalNanos()).isGreaterThan(0L);
  }

  @Test
  void eachKernelNamesTheMatricesItMultipliesBy() {
    assertThat(SeedLlamaDecoder.KERNEL_MATRICES.keySet())
        .containsExactlyElementsIn(SeedLlamaDecoder.PLANNED_KERNELS);
    assertThat(SeedLlamaDecoder.KERNEL_MATRICES.get("fusedRmsNormQkvRopeCacheWrite"))
        .containsExactly(LayerTensor.Q_PROJ, LayerTensor.K_PROJ, LayerTensor.V_PROJ)
        .inOrder();
    assertThat(SeedLlamaDecoder.KERNEL_MATRICES.get("fusedAttention")).isEmpty();
    assertThat(SeedLlamaDecoder.KERNEL_MATRICES.get("fusedRmsNormGateUpSilu"))
        .containsExactly(LayerTensor.GATE_PROJ, LayerTensor.UP_PROJ)
        .inOrder();
    assertThat(SeedLlamaDecoder.KERNEL_MATRICES.get("fusedRmsNormLmHead"))
        .containsExactly(GlobalTensor.LM_HEAD);
    assertThat(SeedLlamaDecoder.random(1).kernelMatrices())
        .isSameInstanceAs(SeedLlamaDecoder.KERNEL_MATRICES);

    // every matrix a step reads belongs to exactly one kernel
    Weights weights = Weights.random(SeedLlamaDecoder.SPEC, 1).withMatrices(Dtype.Q8_0);
    Map<String, Long> bytes = BenchRunner.kernelBytes(SeedLlamaDecoder.KERNEL_MATRICES, weights);
    int layers = SeedLlamaDecoder.SPEC.numHiddenLayers();
    long perStep = bytes.get("fusedRmsNormLmHead");
    for (String kernel : SeedLlamaDecoder.PLANNED_KERNELS) {
      if (!kernel.equals("fusedRmsNormLmHead")) {
        perStep += layers * bytes.get(kernel);
      }
    }
    assertThat(perStep).isEqualTo(BenchRunner.weightBytesPerStep(weights));
    assertThat(bytes.get("fusedOutputProjectionResidual"))
        .isEqualTo(weights.get(LayerTensor.O_PROJ, 0).data().byteSize());
  }
}
