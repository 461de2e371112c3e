package dev.kiln.kernel;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class KernelProfileTest {
  @Test
  void lapsAddUpPerKernelInFirstRunOrder() throws InterruptedException {
    KernelProfile profile = new KernelProfile(true);
    long time = profile.start();
    assertThat(time).isGreaterThan(0L);
    Thread.sleep(2);
    time = profile.lap("b", time);
    time = profile.lap("a", time);
    Thread.sleep(2);
    profile.lap("b", time);

    assertThat(profile.entries().stream().map(KernelProfile.Entry::kernel).toList())
        .containsExactly("b", "a")
        .inOrder();
    KernelProfile.Entry b = profile.entries().getFirst();
    assertThat(b.calls()).isEqualTo(2);
    assertThat(b.nanos()).isAtLeast(4_000_000L); // two laps, each after a 2 ms sleep
    assertThat(profile.totalNanos()).isEqualTo(b.nanos() + profile.entries().get(1).nanos());

    profile.reset();
    assertThat(profile.entries()).isEmpty();
    assertThat(profile.totalNanos()).isEqualTo(0L);
  }

  @Test
  void offRecordsNothingUntilEnabled() {
    KernelProfile profile = new KernelProfile(false);
    assertThat(profile.start()).isEqualTo(0L);
    assertThat(profile.lap("a", 0L)).isEqualTo(0L);
    assertThat(profile.entries()).isEmpty();

    profile.enable(true);
    assertThat(profile.isEnabled()).isTrue();
    profile.lap("a", profile.start());
    assertThat(profile.entries()).hasSize(1);
    profile.enable(false);
    profile.lap("a", 0L);
    assertThat(profile.entries().getFirst().calls()).isEqualTo(1);
  }

  @Test
  void propertyIsTrueOrFalse() {
    assertThat(KernelProfile.enabled(null)).isFalse();
    assertThat(KernelProfile.enabled(" ")).isFalse();
    assertThat(KernelProfile.enabled("false")).isFalse();
    assertThat(KernelProfile.enabled("true")).isTrue();
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> KernelProfile.enabled("yes"));
    assertThat(e).hasMessageThat().contains("kiln.profile");
    assertThat(e).hasMessageThat().contains("yes");
  }

  @Test
  void addedTotalsFormatAsATablePerUnit() {
    KernelProfile totals = new KernelProfile(false);
    assertThat(totals.table(1))
        .containsExactly("no laps (profiling off, or a backend that does not time its kernels)");
    totals.add(
        java.util.List.of(
            new KernelProfile.Entry("attend", 4, 3_000_000),
            new KernelProfile.Entry("mlp", 2, 1_000_000)));
    totals.add(java.util.List.of(new KernelProfile.Entry("attend", 4, 1_000_000)));
    assertThat(totals.entries())
        .containsExactly(
            new KernelProfile.Entry("attend", 8, 4_000_000),
            new KernelProfile.Entry("mlp", 2, 1_000_000))
        .inOrder();
    java.util.List<String> table = totals.table(2);
    assertThat(table).hasSize(3);
    assertThat(table.get(0)).containsMatch("^attend +4\\.0 calls +2\\.000 ms +80\\.0%$");
    assertThat(table.get(1)).containsMatch("^mlp +1\\.0 calls +0\\.500 ms +20\\.0%$");
    assertThat(table.get(2)).containsMatch("^all kernels +2\\.500 ms$");
    assertThrows(IllegalArgumentException.class, () -> totals.table(0));

    // with bytes per call: attend reads 1 MB per call, 8 calls in 4 ms = 2 GB/s; mlp's bytes are
    // unknown
    java.util.List<String> withBytes = totals.table(2, java.util.Map.of("attend", 1_000_000L));
    assertThat(withBytes.get(0)).endsWith(" 2.00 GB/s");
    assertThat(withBytes.get(1)).endsWith(" -");
  }
}
