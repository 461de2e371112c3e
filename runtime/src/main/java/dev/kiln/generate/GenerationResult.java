package dev.kiln.generate;

import java.util.Arrays;

/**
 * The outcome of one sequence's generation.
 *
 * @param tokens the generated tokens (not the prompt), a stop token that ended it included
 * @param text the generated text (whole characters, without stop tokens or a matched stop string
 *     and what followed it), or null when the options had no token text
 * @param stopReason why it ended
 * @param stopToken the stop token id that ended it, or -1
 * @param stopString the stop string that ended it, or null
 * @param promptTokens tokens in the prompt
 * @param promptNanos time of the prefill (for a batch, the whole batch's prefill)
 * @param decodeSteps decoder steps run for this sequence (one per generated token after the first)
 * @param decodeNanos time of those steps (for a batch, the batch's steps while this sequence ran)
 * @param samplingNanos time spent picking this sequence's tokens
 * @param totalNanos wall time from the start to this sequence's end (listeners included)
 */
public record GenerationResult(
    int[] tokens,
    String text,
    StopReason stopReason,
    int stopToken,
    String stopString,
    int promptTokens,
    long promptNanos,
    int decodeSteps,
    long decodeNanos,
    long samplingNanos,
    long totalNanos) {

  public GenerationResult {
    tokens = tokens.clone();
  }

  @Override
  public int[] tokens() {
    return tokens.clone();
  }

  /** Number of generated tokens. */
  public int generatedTokens() {
    return tokens.length;
  }

  /** Prompt tokens per second of prefill (0 when nothing ran). */
  public double promptTokensPerSecond() {
    return promptNanos == 0 ? 0 : promptTokens * 1e9 / promptNanos;
  }

  /** Decoder steps per second (0 when no step ran). */
  public double decodeTokensPerSecond() {
    return decodeNanos == 0 ? 0 : decodeSteps * 1e9 / decodeNanos;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GenerationResult r
        && Arrays.equals(tokens, r.tokens)
        && java.util.Objects.equals(text, r.text)
        && stopReason == r.stopReason
        && stopToken == r.stopToken
        && java.util.Objects.equals(stopString, r.stopString)
        && promptTokens == r.promptTokens
        && promptNanos == r.promptNanos
        && decodeSteps == r.decodeSteps
        && decodeNanos == r.decodeNanos
        && samplingNanos == r.samplingNanos
        && totalNanos == r.totalNanos;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(tokens) * 31 + stopReason.hashCode();
  }

  @Override
  public String toString() {
    return "GenerationResult[tokens="
        + Arrays.toString(tokens)
        + ", text="
        + (text == null ? null : '"' + text + '"')
        + ", stopReason="
        + stopReason
        + (stopToken >= 0 ? ", stopToken=" + stopToken : "")
        + (stopString != null ? ", stopString=\"" + stopString + '"' : "")
        + String.format(
            ", prompt %d tokens %.1f tok/s, decode %d steps %.1f tok/s]",
            promptTokens, promptTokensPerSecond(), decodeSteps, decodeTokensPerSecond());
  }
}
