package dev.kiln.tokenizer;

import dev.kiln.InvalidInputException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What SentencePiece-style and byte-level tokenizers share: the vocabulary, the splitting of input
 * at special tokens, the special ids and decoding through {@link StreamingDecoder}.
 */
abstract sealed class BaseTokenizer implements Tokenizer
    permits SentencePieceTokenizer, ByteLevelBpeTokenizer {
  private static final byte[] NONE = new byte[0];

  final Vocabulary vocab;
  private final String source;

  /** The bytes of every token that is not control or unknown (those have {@link #NONE}). */
  private final byte[][] bytes;

  private final boolean addBosByDefault;
  private final String chatTemplate;

  BaseTokenizer(
      String source,
      Vocabulary vocab,
      byte[][] bytes,
      boolean addBosByDefault,
      String chatTemplate) {
    this.source = source;
    this.vocab = vocab;
    this.bytes = bytes;
    this.addBosByDefault = addBosByDefault;
    this.chatTemplate = chatTemplate;
  }

  /** The UTF-8 bytes of {@code text}. */
  static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** Whether a token of this type decodes to nothing unless rendered. */
  static boolean rendersEmpty(TokenType type) {
    return type == TokenType.CONTROL || type == TokenType.UNKNOWN;
  }

  /**
   * Encodes one piece of text between special tokens. {@code startsText}: it is at the start of the
   * input or right after a special or user-defined token; {@code atStart}: it is at the start.
   */
  abstract void encodeText(String text, boolean startsText, boolean atStart, IntList out);

  @Override
  public int[] encode(String text, boolean addBos, boolean parseSpecial) {
    return encode(text, addBos, parseSpecial ? i -> true : i -> false);
  }

  @Override
  public int[] encode(String text, boolean addBos, java.util.function.IntPredicate parseSpecialAt) {
    IntList out = new IntList();
    if (addBos) {
      if (vocab.bos < 0) {
        throw new TokenizerException(
            source + ": the tokenizer has no BOS token, so none can be added");
      }
      out.add(vocab.bos);
    }
    String clean = wellFormed(text);
    boolean startsText = true;
    for (Vocabulary.Fragment fragment : vocab.partition(clean, parseSpecialAt)) {
      if (fragment.isToken()) {
        out.add(fragment.id());
        startsText = true;
      } else {
        encodeText(
            clean.substring(fragment.start(), fragment.end()),
            startsText,
            fragment.start() == 0,
            out);
        startsText = false;
      }
    }
    return out.toArray();
  }

  /** {@code text} with each unpaired surrogate replaced by U+FFFD. */
  private static String wellFormed(String text) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean unpaired;
      if (Character.isHighSurrogate(c)) {
        unpaired = i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1));
      } else {
        unpaired =
            Character.isLowSurrogate(c)
                && (i == 0 || !Character.isHighSurrogate(text.charAt(i - 1)));
      }
      if (unpaired && out == null) {
        out = new StringBuilder(text.length());
        out.append(text, 0, i);
      }
      if (out != null) {
        out.append(unpaired ? '\uFFFD' : c);
      }
    }
    return out == null ? text : out.toString();
  }

  @Override
  public String decode(int[] ids, boolean renderSpecial) {
    StreamingDecoder decoder = new StreamingDecoder(this, true, renderSpecial);
    StringBuilder out = new StringBuilder();
    for (int id : ids) {
      out.append(decoder.accept(id));
    }
    return out.append(decoder.finish()).toString();
  }

  @Override
  public byte[] tokenBytes(int id, boolean renderSpecial) {
    check(id);
    if (renderSpecial && rendersEmpty(vocab.type(id))) {
      return utf8(vocab.text(id));
    }
    return bytes[id].clone();
  }

  @Override
  public String tokenText(int id) {
    check(id);
    return vocab.text(id);
  }

  @Override
  public TokenType tokenType(int id) {
    check(id);
    return vocab.type(id);
  }

  private void check(int id) {
    if (id < 0 || id >= vocab.size()) {
      throw new InvalidInputException(
          "token id " + id + " is outside the vocabulary (0 to " + (vocab.size() - 1) + ")");
    }
  }

  @Override
  public int vocabSize() {
    return vocab.size();
  }

  private static OptionalInt optional(int id) {
    return id < 0 ? OptionalInt.empty() : OptionalInt.of(id);
  }

  @Override
  public OptionalInt bos() {
    return optional(vocab.bos);
  }

  @Override
  public OptionalInt eos() {
    return optional(vocab.eos);
  }

  @Override
  public OptionalInt eot() {
    return optional(vocab.eot);
  }

  @Override
  public OptionalInt unk() {
    return optional(vocab.unk);
  }

  @Override
  public boolean isSpecial(int id) {
    return rendersEmpty(tokenType(id));
  }

  @Override
  public OptionalInt id(String specialTokenText) {
    return optional(vocab.specialId(specialTokenText));
  }

  @Override
  public boolean addBosByDefault() {
    return addBosByDefault;
  }

  @Override
  public Optional<String> chatTemplate() {
    return Optional.ofNullable(chatTemplate);
  }

  /** Where the tokenizer was read from. */
  String source() {
    return source;
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "(" + source + ", " + vocab.size() + " tokens)";
  }
}
