package dev.kiln.server;

import dev.kiln.Decoder;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Continuous batching: the one thread that owns the decoder. Each of its {@code maxBatchSize} slots
 * holds a sequence in the KV cache; every step is one {@link Decoder#append} call in which each
 * generating slot feeds its last token and each slot still reading its prompt feeds its next chunk
 * of up to {@code chunk} tokens, so running streams go on while a new prompt is read. Requests are
 * admitted at step boundaries, leave as soon as they finish (or their client goes away), and each
 * samples with its own {@link dev.kiln.generate.SamplerChain}. A sequence's chunking does not
 * depend on the other slots, so its logits, and with the same seed its tokens, are those it gets
 * alone.
 *
 * <p>Prompt cache: a slot keeps its tokens in the KV cache after its request; a new request goes to
 * the free slot whose cached tokens share the longest prefix with its prompt, and only the rest of
 * the prompt is fed.
 */
final class Scheduler {
  enum Admission {
    ACCEPTED,
    QUEUE_FULL,
    CLOSED
  }

  private static final int[] EMPTY = new int[0];

  private final Decoder decoder;
  private final Metrics metrics;
  private final Consumer<String> log;
  private final int slots;
  private final int maxPositions;
  private final int chunk;
  private final ArrayBlockingQueue<Job> queue;
  private final Job[] running;
  private final int[][] cachedTokens;
  private final int[] cachedLength;
  private final long[] lastUsed;
  private final Thread thread;
  private volatile boolean admitting = true;
  private volatile long cutAtNanos = Long.MAX_VALUE;
  private volatile int active;
  private long clock;

  /**
   * Tests only: when set, each step waits for a permit, so a test decides when the decoder runs.
   */
  volatile java.util.concurrent.Semaphore gate;

  Scheduler(Decoder decoder, Metrics metrics, int queueCapacity, int chunk, Consumer<String> log) {
    this.decoder = decoder;
    this.metrics = metrics;
    this.log = log;
    this.slots = decoder.spec().maxBatchSize();
    this.maxPositions = decoder.spec().maxPositionEmbeddings();
    this.chunk = chunk;
    this.queue = new ArrayBlockingQueue<>(queueCapacity);
    this.running = new Job[slots];
    this.cachedTokens = new int[slots][maxPositions];
    this.cachedLength = new int[slots];
    this.lastUsed = new long[slots];
    decoder.reset();
    this.thread = Thread.ofPlatform().name("kiln-scheduler").daemon(true).unstarted(this::loop);
  }

  void start() {
    thread.start();
  }

  int slots() {
    return slots;
  }

  int contextLength() {
    return maxPositions;
  }

  int queueDepth() {
    return queue.size();
  }

  int activeSlots() {
    return active;
  }

  /**
   * Queues {@code job} for the next free slot, unless the queue is full or the server is stopping.
   */
  Admission submit(Job job) {
    if (!admitting) {
      return Admission.CLOSED;
    }
    if (!queue.offer(job)) {
      return Admission.QUEUE_FULL;
    }
    if (!admitting && queue.remove(job)) {
      return Admission.CLOSED;
    }
    return Admission.ACCEPTED;
  }

  /**
   * Queues {@code job}, waiting while the queue is full (batch callers, which bound what they have
   * in flight themselves); {@link Admission#CLOSED} once the scheduler stops.
   */
  Admission submitWaiting(Job job) throws InterruptedException {
    while (admitting) {
      if (queue.offer(job, 50, TimeUnit.MILLISECONDS)) {
        if (!admitting && queue.remove(job)) {
          return Admission.CLOSED;
        }
        return Admission.ACCEPTED;
      }
    }
    return Admission.CLOSED;
  }

  /**
   * Stops admitting; running generations may finish within {@code graceNanos}, then they are cut
   * (ended with an error event). Returns when the scheduler has stopped.
   */
  void shutdown(long graceNanos) throws InterruptedException {
    admitting = false;
    cutAtNanos = System.nanoTime() + graceNanos;
    thread.join();
  }

  private void loop() {
    try {
      while (true) {
        leave();
        admit();
        if (active == 0) {
          if (!admitting) {
            break;
          }
          Job job = queue.poll(50, TimeUnit.MILLISECONDS);
          if (job != null) {
            if (job.cancelled()) {
              job.finish("error", "cancelled");
            } else {
              assign(job);
            }
          }
          continue;
        }
        java.util.concurrent.Semaphore g = gate;
        if (g != null && !g.tryAcquire(10, TimeUnit.MILLISECONDS)) {
          continue;
        }
        step();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable e) {
      log.accept("kiln serve: the scheduler failed: " + e);
      for (int s = 0; s < slots; s++) {
        if (running[s] != null) {
          running[s].finish("error", "internal error: " + e.getMessage());
          running[s] = null;
        }
      }
      admitting = false;
    } finally {
      Job job;
      while ((job = queue.poll()) != null) {
        job.finish("error", "the server is shutting down");
      }
      active = 0;
    }
  }

  /**
   * Ends the generations whose client went away, or all of them once a shutdown's grace is over.
   */
  private void leave() {
    boolean cut = System.nanoTime() >= cutAtNanos;
    for (int s = 0; s < slots; s++) {
      Job job = running[s];
      if (job != null && (job.cancelled() || cut)) {
        if (job.cancelled()) {
          metrics.cancelled.incrementAndGet();
        }
        job.finish("error", job.cancelled() ? "cancelled" : "the server is shutting down");
        running[s] = null;
      }
    }
    count();
  }

  private void admit() {
    if (!admitting) {
      Job job;
      while ((job = queue.poll()) != null) {
        job.finish("error", "the server is shutting down");
      }
      return;
    }
    while (active < slots) {
      Job job = queue.poll();
      if (job == null) {
        return;
      }
      if (job.cancelled()) {
        job.finish("error", "cancelled");
        continue;
      }
      assign(job);
    }
  }

  /** Puts {@code job} in the free slot whose cache shares the longest prefix with its prompt. */
  private void assign(Job job) {
    int best = -1;
    int bestReuse = -1;
    for (int s = 0; s < slots; s++) {
      if (running[s] != null) {
        continue;
      }
      int reuse = 0;
      int limit = Math.min(cachedLength[s], job.prompt.length - 1);
      while (reuse < limit && cachedTokens[s][reuse] == job.prompt[reuse]) {
        reuse++;
      }
      if (reuse > bestReuse || (reuse == bestReuse && lastUsed[s] < lastUsed[best])) {
        best = s;
        bestReuse = reuse;
      }
    }
    if (decoder.batchSize() > 0 && decoder.length(best) > bestReuse) {
      decoder.truncate(best, bestReuse);
    }
    cachedLength[best] = bestReuse;
    lastUsed[best] = ++clock;
    job.fed = bestReuse;
    job.cached = bestReuse;
    running[best] = job;
    metrics.promptTokens.addAndGet(job.prompt.length);
    metrics.cachedPromptTokens.addAndGet(bestReuse);
    count();
  }

  /** One decoder call for every slot: prompt chunks and decode tokens together. */
  private void step() {
    int[][] chunks = new int[slots][];
    for (int s = 0; s < slots; s++) {
      Job job = running[s];
      if (job == null) {
        chunks[s] = EMPTY;
      } else if (job.fed < job.prompt.length) {
        chunks[s] =
            Arrays.copyOfRange(job.prompt, job.fed, Math.min(job.prompt.length, job.fed + chunk));
      } else {
        chunks[s] = new int[] {job.last()};
      }
    }
    float[][][] logits = decoder.append(chunks);
    metrics.steps.incrementAndGet();
    long now = System.nanoTime();
    int generated = 0;
    for (int s = 0; s < slots; s++) {
      Job job = running[s];
      if (job == null) {
        continue;
      }
      int[] fed = chunks[s];
      System.arraycopy(fed, 0, cachedTokens[s], cachedLength[s], fed.length);
      cachedLength[s] += fed.length;
      boolean prefilling = job.fed < job.prompt.length;
      if (prefilling) {
        job.fed += fed.length;
        if (job.fed < job.prompt.length) {
          continue;
        }
      }
      float[] row = logits[s][fed.length - 1];
      int token = job.sampler.next(row, job.history, job.length);
      String reason = job.accept(token, maxPositions);
      generated++;
      if (job.generated == 1) {
        job.firstTokenNanos = now;
        metrics.timeToFirstToken.observeNanos(now - job.submittedNanos);
      } else {
        metrics.interTokenLatency.observeNanos(now - job.lastTokenNanos);
      }
      job.lastTokenNanos = now;
      metrics.completionTokens.incrementAndGet();
      if (reason != null) {
        metrics.requestDuration.observeNanos(now - job.submittedNanos);
        job.finish(reason, null);
        running[s] = null;
      }
    }
    metrics.generatedTokens(generated);
    count();
  }

  private void count() {
    int n = 0;
    for (Job job : running) {
      n += job == null ? 0 : 1;
    }
    active = n;
  }
}
