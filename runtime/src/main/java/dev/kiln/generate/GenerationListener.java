package dev.kiln.generate;

import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Hears a generation as it happens. For each generated token, {@link #onToken} comes first, then
 * {@link #onText} for whatever text that token completes (possibly none: a character split across
 * tokens, or text that might start a stop string, waits). The text pieces are whole characters,
 * never contain (part of) a matched stop string, and concatenated equal the result's text.
 */
public interface GenerationListener {
  /** A token the sampler picked (a stop token included). */
  default void onToken(int id) {}

  /** The next piece of text (only when the options have {@link GenerationOptions#tokenText()}). */
  default void onText(String text) {}

  /** Hears nothing. */
  GenerationListener NONE = new GenerationListener() {};

  /** A listener for tokens only. */
  static GenerationListener tokens(IntConsumer onToken) {
    return new GenerationListener() {
      @Override
      public void onToken(int id) {
        onToken.accept(id);
      }
    };
  }

  /** A listener for text only. */
  static GenerationListener text(Consumer<String> onText) {
    return new GenerationListener() {
      @Override
      public void onText(String text) {
        onText.accept(text);
      }
    };
  }
}
