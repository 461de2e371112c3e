package dev.kiln.tokenizer;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * Turns text into token ids and back. Made by {@link Tokenizers} from a GGUF file, a Hugging Face
 * folder or a llama2.c {@code tokenizer.bin}. Tokenizers are immutable and safe to share between
 * threads.
 *
 * <p><b>Special tokens in the input.</b> Control tokens (BOS, EOS, {@code <|eot_id|>}, ...) are
 * matched in the text only when {@code parseSpecial} is asked for: text a chat template rendered
 * (which writes {@code <|start_header_id|>} and the like on purpose) should be encoded with {@code
 * parseSpecial = true}; text a user typed, with {@code false}, so that typing {@code "</s>"} does
 * not end the turn. {@link #encode(String)} and {@link #encode(String, boolean)} do not parse them.
 * User-defined tokens ({@link TokenType#USER_DEFINED}, Hugging Face's added tokens that are not
 * special) are always matched as a whole, as llama.cpp and Hugging Face do.
 *
 * <p><b>The space prefix.</b> SentencePiece-style tokenizers ({@link #addsSpacePrefix()}) put a
 * space before the text at its start and after each special token matched in it ("dummy prefix";
 * {@code "Hi"} is encoded as {@code "▁Hi"}). Decoding removes one leading space from the first text
 * of the sequence and from the first text after each BOS token, so {@code decode(encode(s)) == s}
 * and {@code decode(encode(s, true)) == s} (the package comment lists the exceptions); {@link
 * StreamingDecoder} does the same. {@link #tokenBytes} never removes it: it gives a token's bytes
 * out of context.
 */
public interface Tokenizer {
  /**
   * The ids of {@code text}, without BOS; special tokens in the text are not parsed (they are plain
   * text).
   */
  default int[] encode(String text) {
    return encode(text, false, false);
  }

  /**
   * The ids of {@code text}, after the BOS token when {@code addBos}; special tokens in the text
   * are not parsed.
   */
  default int[] encode(String text, boolean addBos) {
    return encode(text, addBos, false);
  }

  /**
   * The ids of {@code text}, after the BOS token when {@code addBos} (a {@link TokenizerException}
   * if there is none). With {@code parseSpecial}, the texts of control tokens (and of the unknown
   * token) in {@code text} become those tokens; the leftmost, then longest, match wins. Unpaired
   * surrogates in {@code text} are encoded as U+FFFD.
   */
  int[] encode(String text, boolean addBos, boolean parseSpecial);

  /**
   * {@link #encode(String, boolean, boolean)} where the text of a control or unknown token becomes
   * that token only if it starts at a char index {@code parseSpecialAt} accepts; elsewhere it is
   * plain text. This is how a chat prompt keeps its template's special tokens while the messages'
   * contents cannot inject any ({@link dev.kiln.generate.ChatTemplate#encode}).
   */
  default int[] encode(
      String text, boolean addBos, java.util.function.IntPredicate parseSpecialAt) {
    throw new UnsupportedOperationException(
        getClass().getName() + " cannot restrict where special tokens are parsed");
  }

  /**
   * The text of {@code ids}; control and unknown tokens add nothing (see the class comment for the
   * space prefix).
   */
  default String decode(int[] ids) {
    return decode(ids, false);
  }

  /**
   * The text of {@code ids}; with {@code renderSpecial}, control and unknown tokens add their text
   * (e.g. {@code "<|eot_id|>"}), else nothing. Byte sequences that are not valid UTF-8 become
   * U+FFFD, one for each maximal invalid part, as {@link StreamingDecoder} does. An id outside the
   * vocabulary is an {@link dev.kiln.InvalidInputException}.
   */
  String decode(int[] ids, boolean renderSpecial);

  /**
   * The bytes token {@code id} stands for, out of context: a byte token's byte, a SentencePiece
   * piece with "▁" as spaces, a byte-level BPE token's bytes; nothing for control and unknown
   * tokens. Bytes of one character may be split over several tokens.
   */
  default byte[] tokenBytes(int id) {
    return tokenBytes(id, false);
  }

  /**
   * {@link #tokenBytes(int)}, with the UTF-8 text of control and unknown tokens when {@code
   * renderSpecial}.
   */
  byte[] tokenBytes(int id, boolean renderSpecial);

  /**
   * The token's entry in the vocabulary as stored (e.g. {@code "▁Hello"}, {@code "ĠHello"}, {@code
   * "<0x0A>"}).
   */
  String tokenText(int id);

  TokenType tokenType(int id);

  /** The number of tokens; ids run from 0 to {@code vocabSize() - 1}. */
  int vocabSize();

  /** The beginning-of-sequence token. */
  OptionalInt bos();

  /** The end-of-sequence token. */
  OptionalInt eos();

  /**
   * The end-of-turn token of chat models (e.g. Llama 3's {@code <|eot_id|>}), if the tokenizer
   * names one or has a known one.
   */
  OptionalInt eot();

  /** The unknown token. */
  OptionalInt unk();

  /**
   * Whether {@code id} is a control or unknown token (one that decodes to nothing unless rendered).
   */
  boolean isSpecial(int id);

  /**
   * The id of the control, unknown or user-defined token whose text is exactly {@code
   * specialTokenText} (e.g. {@code "<|eot_id|>"}, {@code "</s>"}); empty when no such token exists.
   */
  OptionalInt id(String specialTokenText);

  /**
   * Whether encoding puts a space before the text (SentencePiece's dummy prefix), which decoding
   * removes.
   */
  boolean addsSpacePrefix();

  /** Whether the model's files say a BOS token should start every encoded sequence. */
  boolean addBosByDefault();

  /** The chat template (Jinja) the model's files carry, if any. */
  Optional<String> chatTemplate();
}
