package dev.kiln.generate;

/**
 * The bytes a token id stands for (UTF-8 pieces of text; a piece may end or start in the middle of
 * a character). Any tokenizer adapts to it, e.g. {@code tokenizer::tokenBytes}. Special tokens that
 * should not show in the text return an empty array.
 */
@FunctionalInterface
public interface TokenText {
  byte[] tokenBytes(int id);
}
