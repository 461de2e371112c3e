package dev.kiln.examples;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.bench.BenchOptions;
import dev.kiln.bench.BenchRunner;
import dev.kiln.weights.Dtype;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.WeightTensor;
import dev.kiln.weights.Weights;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The whole-model benchmark's measuring code runs on toy models and reports sane numbers (no timing
 * assertions).
 */
class BenchTest {
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  private static BenchRunner.Report run(String... args) {
    List<String> all =
        new java.util.ArrayList<>(
            List.of(
                "--prompt=4",
                "--decode=2",
                "--warmup=1",
                "--interpreter-steps=1",
                "--bandwidth-mib=8",
                "--bandwidth-passes=2"));
    all.addAll(List.of(args));
    return Bench.run(all.toArray(String[]::new), QUIET);
  }

  private static void assertPositive(double value) {
    assertThat(Double.isFinite(value)).isTrue();
    assertThat(value).isGreaterThan(0.0);
  }

  @Test
  void seedLlamaNumbersArePositiveAndFinite() {
    BenchRunner.Report report = run("--model=seedllama", "--types=F32,Q8_0");
    assertThat(report.batches()).containsExactly(1); // SeedLlama decodes one sequence at a time
    assertThat(report.results()).hasSize(2);
    for (BenchRunner.TypeResult result : report.results()) {
      assertThat(result.weightBytesPerStep()).isGreaterThan(0L);
      assertPositive(result.prefillTokensPerSecond());
      assertPositive(result.prefillFirstTokensPerSecond());
      assertThat(result.prefillFirstTokensPerSecond())
          .isAtMost(result.prefillTokensPerSecond()); // the best pass counts
      assertPositive(result.interpreterTokensPerSecond());
      assertPositive(result.speedup());
      BenchRunner.DecodeResult decode = result.batch(1);
      assertPositive(decode.tokensPerSecond());
      assertPositive(decode.firstTokensPerSecond());
      assertThat(decode.firstTokensPerSecond()).isAtMost(decode.tokensPerSecond());
      assertPositive(decode.gbps());
      assertPositive(decode.ofBandwidth());
      assertThat(decode.kvBytesPerToken()).isGreaterThan(0L);
    }
    // Q8_0 stores 34 bytes per 32 weights
    assertThat(report.results().get(1).weightBytesPerStep() * 32 / 34 * 4)
        .isEqualTo(report.results().get(0).weightBytesPerStep());
    assertThat(report.text()).contains("Q8_0");
    assertThat(report.text()).contains("prefill first");
    assertThat(report.text()).contains("b1 first");
    assertThat(report.markdown()).contains("| F32 |");
    assertThat(report.markdown()).contains("| Q8_0 |");
  }

  @Test
  void seedSingleHeadMeasuresBatchesOfOneAndFour() {
    BenchRunner.Report report =
        run("--model=seedsinglehead", "--types=Q4_0", "--interpreter-steps=0");
    assertThat(report.batches()).containsExactly(1, 4).inOrder();
    BenchRunner.TypeResult result = report.results().getFirst();
    assertPositive(result.batch(1).tokensPerSecond());
    assertPositive(result.batch(4).tokensPerSecond());
    // batch 4 shares the weights among 4 sequences; each still reads its own KV cache
    assertThat(result.batch(4).bytesPerToken())
        .isWithin(1e-6)
        .of(result.weightBytesPerStep() / 4.0 + result.batch(4).kvBytesPerToken());
    assertThat(Double.isNaN(result.speedup())).isTrue();
    assertThat(report.text()).contains("decode b4 tok/s");
    assertThat(report.text()).doesNotContain("Kernel profile");
    assertThat(result.profile()).isEmpty();
  }

  @Test
  void profileTimesEachPlannedKernelPerPrefillAndPerStep() {
    BenchRunner.Report report =
        run("--model=seedsinglehead", "--types=F32", "--interpreter-steps=0", "--profile=true");
    List<String> profile = report.results().getFirst().profile();
    assertThat(profile).contains("F32 prefill of 4 tokens, ms per prefill:");
    assertThat(profile).contains("F32 decode batch 1, ms per step:");
    assertThat(profile).contains("F32 decode batch 4, ms per step:");
    for (String kernel : SeedSingleHeadDecoder.PLANNED_KERNELS) {
      // once per prefill and per step table
      assertThat(profile.stream().filter(line -> line.trim().startsWith(kernel + " ")).count())
          .isEqualTo(3);
    }
    assertThat(profile.stream().filter(line -> line.trim().startsWith("all kernels")).count())
        .isEqualTo(3);
    // a projection kernel's weights over its time; attention reads no weight matrix
    assertThat(
            profile.stream()
                .filter(line -> line.trim().startsWith("lmHead "))
                .allMatch(line -> line.endsWith(" GB/s")))
        .isTrue();
    assertThat(
            profile.stream()
                .filter(line -> line.trim().startsWith("fusedAttention "))
                .allMatch(line -> line.endsWith(" -")))
        .isTrue();
    assertThat(report.text()).contains("Kernel profile");
    assertThat(report.markdown()).contains("    F32 decode batch 4, ms per step:");
    assertThat(BenchOptions.parse("--profile=true").profile).isTrue();
    assertThat(BenchOptions.parse().profile).isFalse();
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("--profile=yes"));
    assertThat(e).hasMessageThat().contains("--profile");
  }

  @Test
  void weightBytesCountTheLmHeadButNotTheEmbeddingTable() {
    Weights weights = Weights.random(SeedLlamaDecoder.SPEC, 1).withMatrices(Dtype.F16);
    long matrices =
        weights.tensors().values().stream()
            .filter(t -> t.shape().length == 2)
            .mapToLong(t -> t.data().byteSize())
            .sum();
    WeightTensor embedding = weights.get(GlobalTensor.EMBED_TOKENS);
    assertThat(BenchRunner.weightBytesPerStep(weights))
        .isEqualTo(matrices - embedding.data().byteSize());
  }

  @Test
  void optionsParseKeyValuesAndRejectTheRest() {
    BenchOptions options =
        BenchOptions.parse("--model=LLAMA1B", "--types=q8_0, f16", "--threads=3", "--batches=4,1");
    assertThat(options.model).isEqualTo("llama1b");
    assertThat(options.types).containsExactly("Q8_0", "F16").inOrder();
    assertThat(options.threads).isEqualTo(3);
    assertThat(options.batches).containsExactly(4, 1).inOrder();
    assertThat(options.prompt).isEqualTo(128);
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("--frobnicate=1"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("--decode=0"));
    assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse("stories110m"));
    assertThrows(
        IllegalArgumentException.class,
        () -> Bench.run(new String[] {"--model=seedllama", "--batches=4"}, QUIET));
    assertThrows(
        IllegalArgumentException.class,
        () -> Bench.run(new String[] {"--model=seedllama", "--types=Q5_1"}, QUIET));
  }
}
