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

    assertThat(profile.entries().stream().map(KernelProfile.Entry::kernel).toList()).containsExactly("b", "a").inOrder();
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
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KernelProfile.enabled("yes"));
    assertThat(e).hasMessageThat().contains("kiln.profile");
    assertThat(e).hasMessageThat().contains("yes");
  }
}
