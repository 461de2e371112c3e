package dev.kiln.tokenizer;

import java.util.Optional;

/**
 * What a token is, with the ids GGUF's {@code tokenizer.ggml.token_type} uses (llama.cpp's {@code
 * llama_token_type}; 0, "undefined", is read as {@link #NORMAL}).
 */
public enum TokenType {
  /** Ordinary text. */
  NORMAL(1),
  /** The unknown token, which stands for text no other token covers. */
  UNKNOWN(2),
  /**
   * A control token (BOS, EOS, {@code <|eot_id|>}...): no text of its own; matched in input text
   * only when asked.
   */
  CONTROL(3),
  /** A token added to the vocabulary whose text is always matched as a whole in the input. */
  USER_DEFINED(4),
  /** Never produced by encoding. */
  UNUSED(5),
  /** One raw byte, written {@code <0xNN>} (SentencePiece byte fallback). */
  BYTE(6);

  private final int ggufId;

  TokenType(int ggufId) {
    this.ggufId = ggufId;
  }

  /** The type's id in GGUF's {@code tokenizer.ggml.token_type}. */
  public int ggufId() {
    return ggufId;
  }

  /** The type with GGUF id {@code id} (0, undefined, gives {@link #NORMAL}). */
  public static Optional<TokenType> ofGgufId(long id) {
    if (id == 0) {
      return Optional.of(NORMAL);
    }
    for (TokenType type : values()) {
      if (type.ggufId == id) {
        return Optional.of(type);
      }
    }
    return Optional.empty();
  }
}
