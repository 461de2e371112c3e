package dev.kiln.generate;

import java.util.NoSuchElementException;
import java.util.PrimitiveIterator;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.IntStream;
import java.util.stream.StreamSupport;

/**
 * One generation, pulled a token at a time: each {@link #nextInt()} runs one decoder call (the
 * first, the prefill) and returns the token it produced; {@link #hasNext()} is false once the
 * generation has stopped (the token that stopped it, such as EOS, is still returned). The listener
 * given to {@link Generator#start} hears the same tokens and text as they are pulled.
 *
 * <pre>{@code
 * Generation g = generator.start(prompt, options);
 * while (g.hasNext()) {
 *   int token = g.nextInt();
 *   ...
 * }
 * GenerationResult result = g.result();
 * }</pre>
 */
public final class Generation implements PrimitiveIterator.OfInt {
  private final Run run;

  Generation(Run run) {
    this.run = run;
  }

  @Override
  public boolean hasNext() {
    return run.stopReason(0) == null;
  }

  @Override
  public int nextInt() {
    if (!hasNext()) {
      throw new NoSuchElementException("the generation has stopped: " + run.stopReason(0));
    }
    run.advance();
    return run.lastToken(0);
  }

  /** The tokens still to come, as a sequential stream (consuming it runs the generation). */
  public IntStream stream() {
    return StreamSupport.intStream(
        Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL),
        false);
  }

  /** Why it stopped, or null while it runs. */
  public StopReason stopReason() {
    return run.stopReason(0);
  }

  /** The tokens generated so far. */
  public int[] tokens() {
    return run.tokens(0);
  }

  /** The text released so far (null without token text). */
  public String text() {
    return run.text(0);
  }

  /** Runs the generation to its end (if it has not ended) and returns its result. */
  public GenerationResult result() {
    run.runToEnd();
    return run.result(0);
  }
}
