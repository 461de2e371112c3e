package dev.kiln.generate;

/** Why a generation ended. */
public enum StopReason {
  /** The model produced one of the stop token ids (end of sequence, end of turn, ...). */
  EOS,
  /** The text reached one of the stop strings. */
  STOP_STRING,
  /** {@link GenerationOptions#maxTokens()} tokens were generated. */
  MAX_TOKENS,
  /**
   * The sequence (prompt and generated tokens) fills the model's context ({@code
   * maxPositionEmbeddings}).
   */
  CONTEXT_FULL
}
