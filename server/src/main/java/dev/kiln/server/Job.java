package dev.kiln.server;

import dev.kiln.generate.SamplerChain;
import dev.kiln.generate.TextStream;
import dev.kiln.generate.TokenText;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One request's generation, from the HTTP handler that made it to the scheduler that runs it and
 * back: the scheduler puts {@link Event}s (text pieces, then one {@link Done}) on {@link #events},
 * the handler takes them. The handler sets {@link #cancel()} when its client goes away.
 */
final class Job {
  /** What the scheduler tells the handler. */
  sealed interface Event permits Text, Done {}

  /** A piece of the answer (whole UTF-8 characters, never part of a stop string). */
  record Text(String text) implements Event {}

  /**
   * The end: {@code finishReason} {@code stop} or {@code length}, or {@code error} with {@code
   * error} saying why (the server shut down, the request was cancelled).
   */
  record Done(
      String finishReason, int promptTokens, int cachedTokens, int completionTokens, String error)
      implements Event {}

  final int[] prompt;
  final SamplerChain sampler;
  final int maxTokens;
  final int[] stopTokens;
  final long submittedNanos = System.nanoTime();
  final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
  private final TextStream text;
  private volatile boolean cancelled;

  // Scheduler state (touched by the scheduler thread only).
  int[] history;
  int length;
  int generated;
  int fed; // prompt tokens in the slot's cache so far
  int cached; // prompt tokens found in the slot's cache when admitted
  long firstTokenNanos;
  long lastTokenNanos;

  Job(
      int[] prompt,
      SamplerChain sampler,
      int maxTokens,
      int[] stopTokens,
      List<String> stopStrings,
      TokenText tokenText) {
    this.prompt = prompt;
    this.sampler = sampler;
    this.maxTokens = maxTokens;
    this.stopTokens = stopTokens;
    this.history =
        java.util.Arrays.copyOf(prompt, prompt.length + Math.max(16, Math.min(maxTokens, 4096)));
    this.length = prompt.length;
    this.text = new TextStream(tokenText, stopStrings, piece -> events.add(new Text(piece)));
  }

  void cancel() {
    cancelled = true;
  }

  boolean cancelled() {
    return cancelled;
  }

  /**
   * Takes a sampled token, as {@link dev.kiln.generate.Generator} does: a stop token ends the
   * answer (not shown), else its text is shown and may complete a stop string, then the token limit
   * and the context are checked. Returns the finish reason, or null to go on.
   */
  String accept(int token, int maxPositions) {
    if (length == history.length) {
      history = java.util.Arrays.copyOf(history, Math.max(history.length * 2, 16));
    }
    history[length++] = token;
    generated++;
    for (int stop : stopTokens) {
      if (stop == token) {
        return "stop";
      }
    }
    if (text.accept(token)) {
      return "stop";
    }
    if (generated >= maxTokens || length >= maxPositions) {
      return "length";
    }
    return null;
  }

  /** The last token, which the next decode step feeds. */
  int last() {
    return history[length - 1];
  }

  /** Ends the job: flushes held text and tells the handler. */
  void finish(String reason, String error) {
    text.finish();
    events.add(new Done(reason, prompt.length, cached, generated, error));
  }
}
