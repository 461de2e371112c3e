package dev.kiln.server;

import dev.kiln.Decoder;
import dev.kiln.KilnException;
import dev.kiln.generate.SamplerChain;
import dev.kiln.generate.TokenText;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The server's continuous batching as a library, for batch jobs: many threads submit prompts, one
 * scheduler thread runs them on a batched decoder (its {@code maxBatchSize} slots, a slot refilled
 * as soon as its sequence finishes; see {@link Scheduler}), and each caller waits for its own
 * {@link Completion}. A sequence's output does not depend on what runs beside it, so greedy and
 * seeded generations equal their solo runs.
 *
 * <pre>{@code
 * KilnModel model = KilnModel.open(path, KilnModel.options().batchSize(4));
 * try (BatchGenerator batch = new BatchGenerator(model.decoder())) {
 *   List<BatchGenerator.Pending> pending = prompts.stream()
 *       .map(p -> batch.submit(model.encode(p), SamplerChain.greedy(), 64, model.stopTokens(false), List.of(),
 *           model.tokenizer()::tokenBytes))
 *       .toList();
 *   for (BatchGenerator.Pending p : pending) System.out.println(p.await().text());
 * }
 * }</pre>
 *
 * <p>Thread-safe. The decoder belongs to the batch generator until {@link #close()}.
 */
public final class BatchGenerator implements AutoCloseable {
  /** Prompt tokens a slot reads per step unless said otherwise (the server's default). */
  public static final int DEFAULT_PREFILL_CHUNK = 256;

  /**
   * One finished generation: the text (stop strings cut), the generated token ids (a stop token
   * included), {@code finishReason} {@code stop} or {@code length}, or {@code error} with {@code
   * error} saying why.
   */
  public record Completion(
      String text,
      int[] tokens,
      String finishReason,
      int promptTokens,
      int completionTokens,
      String error) {}

  /** A submitted prompt; {@link #await()} gives its completion. For one thread at a time. */
  public static final class Pending {
    private final Job job;
    private final StringBuilder text = new StringBuilder();
    private Completion completion;

    private Pending(Job job) {
      this.job = job;
    }

    /** Waits until the generation ends. */
    public Completion await() throws InterruptedException {
      while (completion == null) {
        take(job.events.take());
      }
      return completion;
    }

    /** Waits up to {@code timeoutMillis} for the generation to end; null if it has not. */
    public Completion await(long timeoutMillis) throws InterruptedException {
      long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
      while (completion == null) {
        long left = deadline - System.nanoTime();
        Job.Event event =
            job.events.poll(Math.max(0, left), java.util.concurrent.TimeUnit.NANOSECONDS);
        if (event == null) {
          return null;
        }
        take(event);
      }
      return completion;
    }

    /** Whether the generation has ended (never waits). */
    public boolean isDone() {
      Job.Event event;
      while (completion == null && (event = job.events.poll()) != null) {
        take(event);
      }
      return completion != null;
    }

    private void take(Job.Event event) {
      switch (event) {
        case Job.Text piece -> text.append(piece.text());
        case Job.Done done -> {
          int[] tokens =
              done.error() == null
                  ? Arrays.copyOfRange(job.history, job.prompt.length, job.length)
                  : new int[0];
          completion =
              new Completion(
                  done.error() == null ? text.toString() : null,
                  tokens,
                  done.finishReason(),
                  done.promptTokens(),
                  done.completionTokens(),
                  done.error());
        }
      }
    }

    /** Gives the slot up at the next step (the completion then ends with an error). */
    public void cancel() {
      job.cancel();
    }
  }

  private final Scheduler scheduler;
  private final Metrics metrics = new Metrics();
  private final int vocabSize;

  /**
   * Continuous batching over {@code decoder}'s slots, prompts read {@value #DEFAULT_PREFILL_CHUNK}
   * tokens a step.
   */
  public BatchGenerator(Decoder decoder) {
    this(decoder, DEFAULT_PREFILL_CHUNK, message -> System.err.println(message));
  }

  /**
   * Continuous batching over {@code decoder}'s {@code maxBatchSize} slots; a slot reads up to
   * {@code prefillChunk} prompt tokens a step; {@code log} hears of a scheduler failure.
   */
  public BatchGenerator(Decoder decoder, int prefillChunk, Consumer<String> log) {
    if (prefillChunk < 1) {
      throw new KilnException("the prefill chunk must be at least 1, was " + prefillChunk);
    }
    this.vocabSize = decoder.spec().vocabSize();
    this.scheduler =
        new Scheduler(decoder, metrics, 1024, prefillChunk, Objects.requireNonNull(log));
    scheduler.start();
  }

  /** Sequences decoded together. */
  public int slots() {
    return scheduler.slots();
  }

  /** Positions a sequence may hold, prompt and generated tokens together. */
  public int contextLength() {
    return scheduler.contextLength();
  }

  /** Decoder steps run so far (each one {@code append} call for every busy slot). */
  public long steps() {
    return metrics.steps.get();
  }

  /** Tokens generated so far, by every sequence. */
  public long generatedTokens() {
    return metrics.completionTokens.get();
  }

  /**
   * Queues a prompt (waiting while a thousand others wait). It generates up to {@code maxTokens}
   * tokens and no further than the context; a token of {@code stopTokens} or the text of {@code
   * stopStrings} ends it. A prompt that is empty or leaves no room in the context is refused here,
   * as is a token id outside the vocabulary, with a {@link KilnException}.
   */
  public Pending submit(
      int[] prompt,
      SamplerChain sampler,
      int maxTokens,
      int[] stopTokens,
      List<String> stopStrings,
      TokenText tokenText)
      throws InterruptedException {
    if (prompt.length == 0) {
      throw new KilnException("the prompt is empty");
    }
    if (prompt.length >= contextLength()) {
      throw new KilnException(
          "the prompt has "
              + prompt.length
              + " tokens but the context holds "
              + contextLength()
              + " positions, which leaves no room to generate");
    }
    for (int id : prompt) {
      if (id < 0 || id >= vocabSize) {
        throw new KilnException(
            "token id " + id + " is outside the vocabulary (0 to " + (vocabSize - 1) + ")");
      }
    }
    if (maxTokens < 1) {
      throw new KilnException("maxTokens must be at least 1, was " + maxTokens);
    }
    Job job =
        new Job(
            prompt.clone(),
            sampler,
            maxTokens,
            stopTokens.clone(),
            List.copyOf(stopStrings),
            tokenText);
    if (scheduler.submitWaiting(job) != Scheduler.Admission.ACCEPTED) {
      throw new KilnException("the batch generator is closed");
    }
    return new Pending(job);
  }

  /** Stops: running generations end with an error, the scheduler thread ends. */
  @Override
  public void close() {
    try {
      scheduler.shutdown(0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
