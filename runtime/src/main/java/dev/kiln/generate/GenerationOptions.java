package dev.kiln.generate;

import dev.kiln.InvalidInputException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What ends a generation and how its text is made.
 *
 * <ul>
 *   <li>{@code maxTokens}: at most this many generated tokens ({@code >= 0}; default: no limit but
 *       the context);
 *   <li>{@code stopTokens}: ids that end it (EOS, EOT, ...); the stop token is in the result's
 *       tokens but not in its text;
 *   <li>{@code stopStrings}: texts that end it, matched on the decoded text (needs {@code
 *       tokenText}); the text ends just before the match;
 *   <li>{@code tokenText}: the bytes of each token, to build and stream text (without it there is
 *       no text);
 *   <li>{@code stopAtContextFull}: when the sequence fills {@code maxPositionEmbeddings}, end with
 *       {@link StopReason#CONTEXT_FULL} (default) or throw {@link
 *       dev.kiln.ContextOverflowException}.
 * </ul>
 */
public final class GenerationOptions {
  private final int maxTokens;
  private final int[] stopTokens;
  private final List<String> stopStrings;
  private final TokenText tokenText;
  private final boolean stopAtContextFull;

  private GenerationOptions(Builder b) {
    this.maxTokens = b.maxTokens;
    this.stopTokens = b.stopTokens.clone();
    this.stopStrings = List.copyOf(b.stopStrings);
    this.tokenText = b.tokenText;
    this.stopAtContextFull = b.stopAtContextFull;
    if (!stopStrings.isEmpty() && tokenText == null) {
      throw new InvalidInputException(
          "stop strings "
              + stopStrings
              + " need tokenText (the bytes of each token) to match on the text");
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Defaults: no token limit, no stops, no text, stop when the context is full. */
  public static GenerationOptions defaults() {
    return builder().build();
  }

  public int maxTokens() {
    return maxTokens;
  }

  public int[] stopTokens() {
    return stopTokens.clone();
  }

  public List<String> stopStrings() {
    return stopStrings;
  }

  /** The token bytes, or null (no text). */
  public TokenText tokenText() {
    return tokenText;
  }

  public boolean stopAtContextFull() {
    return stopAtContextFull;
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxTokens = maxTokens;
    b.stopTokens = stopTokens.clone();
    b.stopStrings.addAll(stopStrings);
    b.tokenText = tokenText;
    b.stopAtContextFull = stopAtContextFull;
    return b;
  }

  @Override
  public String toString() {
    return "GenerationOptions[maxTokens="
        + maxTokens
        + ", stopTokens="
        + Arrays.toString(stopTokens)
        + ", stopStrings="
        + stopStrings
        + ", text="
        + (tokenText != null)
        + ", stopAtContextFull="
        + stopAtContextFull
        + "]";
  }

  public static final class Builder {
    private int maxTokens = Integer.MAX_VALUE;
    private int[] stopTokens = new int[0];
    private final List<String> stopStrings = new ArrayList<>();
    private TokenText tokenText;
    private boolean stopAtContextFull = true;

    private Builder() {}

    public Builder maxTokens(int maxTokens) {
      if (maxTokens < 0) {
        throw new InvalidInputException("maxTokens must be >= 0, got " + maxTokens);
      }
      this.maxTokens = maxTokens;
      return this;
    }

    /** Replaces the stop token ids. */
    public Builder stopTokens(int... ids) {
      for (int id : ids) {
        if (id < 0) {
          throw new InvalidInputException("stop token ids must be >= 0, got " + id);
        }
      }
      this.stopTokens = ids.clone();
      return this;
    }

    /** Replaces the stop strings (each non-empty). */
    public Builder stopStrings(String... stops) {
      return stopStrings(Arrays.asList(stops));
    }

    /** Replaces the stop strings (each non-empty). */
    public Builder stopStrings(List<String> stops) {
      for (String stop : stops) {
        if (stop == null || stop.isEmpty()) {
          throw new InvalidInputException(
              "stop strings must be non-empty, got " + (stop == null ? "null" : "\"\""));
        }
      }
      stopStrings.clear();
      stopStrings.addAll(stops);
      return this;
    }

    public Builder tokenText(TokenText tokenText) {
      this.tokenText = tokenText;
      return this;
    }

    public Builder stopAtContextFull(boolean stop) {
      this.stopAtContextFull = stop;
      return this;
    }

    public GenerationOptions build() {
      return new GenerationOptions(this);
    }
  }

  static boolean contains(int[] ids, int id) {
    for (int stop : ids) {
      if (stop == id) {
        return true;
      }
    }
    return false;
  }
}
