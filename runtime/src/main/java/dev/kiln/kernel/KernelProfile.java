package dev.kiln.kernel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Wall time spent in each fused kernel of a generated decoder (Java backend), for finding where a
 * step's time goes: {@code kiln bench --profile} prints it per step.
 *
 * <p>Off until {@link #enable}d, or from the start for every decoder when the system property
 * {@code kiln.profile} is {@code true}. When off, {@link #start} and {@link #lap} only test a flag.
 * When on, each lap costs a {@link System#nanoTime} read and a map lookup (well under a
 * microsecond, against the milliseconds of a kernel).
 *
 * <p>A kernel's time is the wall time of its call, worker threads' share included (the call waits
 * for them). Laps are taken on the thread that calls the decoder; a decoder is used by one thread
 * at a time.
 */
public final class KernelProfile {
  /** One kernel's totals since the last {@link #reset}. */
  public record Entry(String kernel, long calls, long nanos) {}

  /** Per kernel name, in first-lap order: {calls, nanos}. */
  private final Map<String, long[]> totals = new LinkedHashMap<>();

  private boolean enabled;

  /** A profile, on when the system property {@code kiln.profile} is {@code true}. */
  public KernelProfile() {
    this(enabled(System.getProperty("kiln.profile")));
  }

  public KernelProfile(boolean enabled) {
    this.enabled = enabled;
  }

  /**
   * Whether {@code property} (the value of {@code kiln.profile}) turns profiling on: {@code true}
   * does, unset, blank or {@code false} does not.
   *
   * @throws IllegalArgumentException naming the property for any other value
   */
  static boolean enabled(String property) {
    if (property == null || property.isBlank() || property.trim().equals("false")) {
      return false;
    }
    if (property.trim().equals("true")) {
      return true;
    }
    throw new IllegalArgumentException(
        "kiln.profile must be true or false, was \"" + property + "\"");
  }

  /** Turns timing on or off (the totals so far stay). */
  public void enable(boolean on) {
    enabled = on;
  }

  public boolean isEnabled() {
    return enabled;
  }

  /** The time a forward call starts its first lap from (0 when off). */
  public long start() {
    return enabled ? System.nanoTime() : 0L;
  }

  /**
   * Adds the time since {@code since} (a {@link #start} or the previous lap) to {@code kernel} and
   * returns now, the start of the next lap; does nothing and returns 0 when off.
   */
  public long lap(String kernel, long since) {
    if (!enabled) {
      return 0L;
    }
    long now = System.nanoTime();
    accumulate(kernel, 1, now - since);
    return now;
  }

  private void accumulate(String kernel, long calls, long nanos) {
    long[] total = totals.computeIfAbsent(kernel, k -> new long[2]);
    total[0] += calls;
    total[1] += nanos;
  }

  /** Each kernel's calls and time since the last reset, in the order they first ran. */
  public List<Entry> entries() {
    List<Entry> entries = new ArrayList<>();
    totals.forEach((kernel, total) -> entries.add(new Entry(kernel, total[0], total[1])));
    return List.copyOf(entries);
  }

  /** Sum of all kernels' time since the last reset. */
  public long totalNanos() {
    return totals.values().stream().mapToLong(total -> total[1]).sum();
  }

  /** Forgets all laps. */
  public void reset() {
    totals.clear();
  }

  /** Adds {@code entries} (another profile's, say) to these totals, whether timing is on or not. */
  public void add(List<Entry> entries) {
    for (Entry entry : entries) {
      accumulate(entry.kernel(), entry.calls(), entry.nanos());
    }
  }

  /**
   * The totals as text lines, divided by {@code units} (the passes or steps they cover): per kernel
   * its calls, milliseconds and share of the time, then all kernels' milliseconds; one line saying
   * so when there are no laps.
   */
  public List<String> table(long units) {
    return table(units, Map.of());
  }

  /**
   * {@link #table(long)} with a GB/s column where {@code bytesPerCall} names a kernel: the bytes
   * one call of it reads (its weight matrices), times its calls, over its time.
   */
  public List<String> table(long units, Map<String, Long> bytesPerCall) {
    if (units <= 0) {
      throw new IllegalArgumentException("units must be positive, was " + units);
    }
    List<String> lines = new ArrayList<>();
    if (totals.isEmpty()) {
      lines.add("no laps (profiling off, or a backend that does not time its kernels)");
      return lines;
    }
    long all = totalNanos();
    int width =
        Math.max(
            "all kernels".length(),
            totals.keySet().stream().mapToInt(String::length).max().orElse(0));
    totals.forEach(
        (kernel, total) -> {
          String line =
              String.format(
                  Locale.ROOT,
                  "%-" + width + "s %8.1f calls %10.3f ms %5.1f%%",
                  kernel,
                  (double) total[0] / units,
                  total[1] / 1e6 / units,
                  all == 0 ? 0.0 : 100.0 * total[1] / all);
          if (!bytesPerCall.isEmpty()) {
            Long bytes = bytesPerCall.get(kernel);
            line +=
                bytes == null || bytes == 0 || total[1] == 0
                    ? String.format(Locale.ROOT, " %11s", "-")
                    : String.format(
                        Locale.ROOT, " %6.2f GB/s", (double) bytes * total[0] / total[1]);
          }
          lines.add(line);
        });
    lines.add(
        String.format(
            Locale.ROOT,
            "%-" + width + "s %8s       %10.3f ms",
            "all kernels",
            "",
            all / 1e6 / units));
    return lines;
  }
}
