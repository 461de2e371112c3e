package dev.kiln.server;

import java.util.ArrayDeque;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.IntSupplier;

/** The server's counters, gauges and histograms, written in Prometheus' text format. */
final class Metrics {
  /** A histogram of seconds with fixed buckets. */
  static final class Histogram {
    private static final double[] BOUNDS = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
    };
    private final AtomicLongArray counts = new AtomicLongArray(BOUNDS.length + 1);
    private final AtomicLong sumNanos = new AtomicLong();

    void observeNanos(long nanos) {
      double seconds = nanos / 1e9;
      int i = 0;
      while (i < BOUNDS.length && seconds > BOUNDS[i]) {
        i++;
      }
      counts.incrementAndGet(i);
      sumNanos.addAndGet(nanos);
    }

    long count() {
      long n = 0;
      for (int i = 0; i < counts.length(); i++) {
        n += counts.get(i);
      }
      return n;
    }

    void write(StringBuilder out, String name, String help) {
      out.append("# HELP ").append(name).append(' ').append(help).append('\n');
      out.append("# TYPE ").append(name).append(" histogram\n");
      long cumulative = 0;
      for (int i = 0; i < BOUNDS.length; i++) {
        cumulative += counts.get(i);
        out.append(name)
            .append("_bucket{le=\"")
            .append(BOUNDS[i])
            .append("\"} ")
            .append(cumulative)
            .append('\n');
      }
      cumulative += counts.get(BOUNDS.length);
      out.append(name).append("_bucket{le=\"+Inf\"} ").append(cumulative).append('\n');
      out.append(name)
          .append("_sum ")
          .append(String.format(Locale.ROOT, "%.6f", sumNanos.get() / 1e9))
          .append('\n');
      out.append(name).append("_count ").append(cumulative).append('\n');
    }
  }

  private final Map<String, AtomicLong> requests = new TreeMap<>();
  final AtomicLong promptTokens = new AtomicLong();
  final AtomicLong cachedPromptTokens = new AtomicLong();
  final AtomicLong completionTokens = new AtomicLong();
  final AtomicLong rejected = new AtomicLong();
  final AtomicLong cancelled = new AtomicLong();
  final AtomicLong steps = new AtomicLong();
  final Histogram timeToFirstToken = new Histogram();
  final Histogram interTokenLatency = new Histogram();
  final Histogram requestDuration = new Histogram();

  /** (nanoTime, tokens) of recent decode steps, for the tokens/s gauge. */
  private final ArrayDeque<long[]> recent = new ArrayDeque<>();

  private static final long WINDOW_NANOS = 10_000_000_000L;

  /** Counts a finished HTTP request. */
  void request(String endpoint, int status) {
    String key = "endpoint=\"" + endpoint + "\",status=\"" + status + "\"";
    synchronized (requests) {
      requests.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
    }
  }

  /** Generated tokens of one scheduler step. */
  synchronized void generatedTokens(int tokens) {
    long now = System.nanoTime();
    recent.addLast(new long[] {now, tokens});
    while (!recent.isEmpty() && now - recent.peekFirst()[0] > WINDOW_NANOS) {
      recent.removeFirst();
    }
  }

  /** Tokens generated per second over the last ten seconds (0 when idle). */
  synchronized double tokensPerSecond() {
    long now = System.nanoTime();
    while (!recent.isEmpty() && now - recent.peekFirst()[0] > WINDOW_NANOS) {
      recent.removeFirst();
    }
    if (recent.isEmpty()) {
      return 0;
    }
    long tokens = 0;
    for (long[] entry : recent) {
      tokens += entry[1];
    }
    double seconds = Math.max((now - recent.peekFirst()[0]) / 1e9, 1e-3);
    return tokens / seconds;
  }

  String render(IntSupplier queueDepth, IntSupplier activeSlots, int slots, boolean ready) {
    StringBuilder out = new StringBuilder();
    out.append("# HELP kiln_requests_total HTTP requests answered, by endpoint and status.\n");
    out.append("# TYPE kiln_requests_total counter\n");
    synchronized (requests) {
      requests.forEach(
          (key, count) ->
              out.append("kiln_requests_total{")
                  .append(key)
                  .append("} ")
                  .append(count.get())
                  .append('\n'));
    }
    counter(
        out, "kiln_prompt_tokens_total", "Prompt tokens of admitted requests.", promptTokens.get());
    counter(
        out,
        "kiln_prompt_tokens_cached_total",
        "Prompt tokens found in a slot's KV cache (not recomputed).",
        cachedPromptTokens.get());
    counter(out, "kiln_completion_tokens_total", "Tokens generated.", completionTokens.get());
    counter(
        out,
        "kiln_requests_rejected_total",
        "Requests refused because the queue was full (429).",
        rejected.get());
    counter(
        out,
        "kiln_requests_cancelled_total",
        "Generations ended because the client went away.",
        cancelled.get());
    counter(out, "kiln_scheduler_steps_total", "Decoder calls made by the scheduler.", steps.get());
    gauge(out, "kiln_queue_depth", "Requests waiting for a slot.", queueDepth.getAsInt());
    gauge(out, "kiln_active_slots", "Slots generating now.", activeSlots.getAsInt());
    gauge(out, "kiln_slots", "Slots (sequences decoded together, --parallel).", slots);
    gauge(
        out, "kiln_ready", "1 when the model is loaded and requests are admitted.", ready ? 1 : 0);
    out.append("# HELP kiln_tokens_per_second Tokens generated per second over the last 10 s.\n");
    out.append("# TYPE kiln_tokens_per_second gauge\n");
    out.append(String.format(Locale.ROOT, "kiln_tokens_per_second %.3f%n", tokensPerSecond()));
    timeToFirstToken.write(
        out, "kiln_time_to_first_token_seconds", "From arrival to the first generated token.");
    interTokenLatency.write(
        out, "kiln_inter_token_latency_seconds", "Between consecutive tokens of one request.");
    requestDuration.write(out, "kiln_request_duration_seconds", "From arrival to the last token.");
    return out.toString();
  }

  private static void counter(StringBuilder out, String name, String help, long value) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(" counter\n");
    out.append(name).append(' ').append(value).append('\n');
  }

  private static void gauge(StringBuilder out, String name, String help, long value) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(" gauge\n");
    out.append(name).append(' ').append(value).append('\n');
  }
}
