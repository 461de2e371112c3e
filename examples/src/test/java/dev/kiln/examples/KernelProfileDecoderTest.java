package dev.kiln.examples;

import static com.google.common.truth.Truth.assertThat;

import dev.kiln.kernel.KernelProfile;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The generated decoder's kernel laps: one per planned kernel call, and no change to the numbers. */
class KernelProfileDecoderTest {
  @Test
  void forwardTakesALapAfterEachPlannedKernelWithoutChangingTheLogits() {
    SeedLlamaDecoder plain = SeedLlamaDecoder.random(7);
    SeedLlamaDecoder profiled = SeedLlamaDecoder.random(7);
    profiled.kernelProfile().enable(true);

    int[][] prompt = {{1, 5, 9}};
    float[][] expected = plain.prefill(prompt);
    float[][] actual = profiled.prefill(prompt);
    assertThat(actual[0]).usingExactEquality().containsExactly(expected[0]).inOrder();
    expected = plain.step(new int[] {4});
    actual = profiled.step(new int[] {4});
    assertThat(actual[0]).usingExactEquality().containsExactly(expected[0]).inOrder();

    assertThat(plain.kernelProfile().entries()).isEmpty();
    List<KernelProfile.Entry> entries = profiled.kernelProfile().entries();
    assertThat(entries.getFirst().kernel()).isEqualTo("ropeAngles");
    List<String> kernels = new ArrayList<>();
    entries.subList(1, entries.size()).forEach(entry -> kernels.add(entry.kernel()));
    assertThat(kernels).containsExactlyElementsIn(SeedLlamaDecoder.PLANNED_KERNELS).inOrder();

    int forwardCalls = 2; // the prefill (3 rows, one chunk) and the step
    int layers = SeedLlamaDecoder.SPEC.numHiddenLayers();
    for (KernelProfile.Entry entry : entries) {
      boolean perLayer = !entry.kernel().equals("ropeAngles") && !entry.kernel().equals("embedTokens")
          && !entry.kernel().equals("fusedRmsNormLmHead");
      assertThat(entry.calls()).isEqualTo((long) forwardCalls * (perLayer ? layers : 1));
      assertThat(entry.nanos()).isAtLeast(0L);
    }
    assertThat(profiled.kernelProfile().totalNanos()).isGreaterThan(0L);
  }
}
