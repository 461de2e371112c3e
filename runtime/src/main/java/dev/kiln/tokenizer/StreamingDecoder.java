package dev.kiln.tokenizer;

import java.util.OptionalInt;

/**
 * Decodes ids one at a time, as they are generated, giving back only complete text: the bytes of a
 * character split over several tokens (byte-fallback tokens, byte-level BPE tokens) are held until
 * the character is complete.
 *
 * <p>Bytes that cannot become valid UTF-8 give U+FFFD as soon as that is certain: one U+FFFD for
 * each maximal invalid part (a byte that cannot start a character; a start byte and the
 * continuation bytes that fit it, when the next byte does not), as Unicode recommends (and Python
 * does; Java's own decoder differs in corners, e.g. one U+FFFD for {@code ED B0} at the end). An
 * incomplete character still held at {@link #finish} gives one U+FFFD.
 *
 * <p>The space prefix of SentencePiece-style tokenizers is removed as {@link Tokenizer#decode}
 * does: from the first text after each BOS token and, when the decoder was made with {@code
 * startsText}, from the first text of all (unless that text is a byte token's). Feeding a whole
 * sequence and then calling {@link #finish} gives exactly {@link Tokenizer#decode} of it. Not
 * thread-safe.
 */
public final class StreamingDecoder {
  private static final char REPLACEMENT = '\uFFFD';

  private final Tokenizer tokenizer;
  private final boolean renderSpecial;
  private final boolean stripPrefix;
  private final int bos;
  private final boolean startsText;

  /** The next text's leading space is the prefix. */
  private boolean atTextStart;

  /** The start byte and continuation bytes of an incomplete character. */
  private final byte[] pending = new byte[4];

  private int pendingCount;

  /** Bytes the pending character needs in all (2 to 4); 0 when nothing is pending. */
  private int pendingNeed;

  /**
   * A decoder for ids of {@code tokenizer}. {@code startsText}: the ids begin a text, so the first
   * text's leading space is the space prefix (true when decoding a whole sequence or a prompt;
   * false when feeding tokens generated after a prompt, whose leading space is real).
   */
  public StreamingDecoder(Tokenizer tokenizer, boolean startsText) {
    this(tokenizer, startsText, false);
  }

  /**
   * As {@link #StreamingDecoder(Tokenizer, boolean)}; with {@code renderSpecial}, control and
   * unknown tokens give their text.
   */
  public StreamingDecoder(Tokenizer tokenizer, boolean startsText, boolean renderSpecial) {
    this.tokenizer = tokenizer;
    this.renderSpecial = renderSpecial;
    this.stripPrefix = tokenizer.addsSpacePrefix();
    OptionalInt bosId = tokenizer.bos();
    this.bos = bosId.isPresent() ? bosId.getAsInt() : -1;
    this.startsText = startsText;
    this.atTextStart = startsText;
  }

  /**
   * The text that token {@code id} completes (often empty or one token's text; may hold text held
   * back before).
   */
  public String accept(int id) {
    byte[] bytes = tokenizer.tokenBytes(id, renderSpecial);
    StringBuilder out = new StringBuilder();
    int from = 0;
    if (id == bos) {
      // A BOS token starts a new text; its own rendered text (if any) is not stripped.
      append(out, bytes, 0);
      atTextStart = true;
      return out.toString();
    }
    if (tokenizer.isSpecial(id)) {
      // Control and unknown tokens, rendered or not, leave the text start where it is.
      append(out, bytes, 0);
      return out.toString();
    }
    if (bytes.length > 0 && atTextStart) {
      // The prefix is a piece's leading "▁", never a byte token's 0x20.
      if (stripPrefix && bytes[0] == ' ' && tokenizer.tokenType(id) != TokenType.BYTE) {
        from = 1;
      }
      atTextStart = false;
    }
    append(out, bytes, from);
    return out.toString();
  }

  /** Feeds several ids; the text they complete. */
  public String accept(int... ids) {
    StringBuilder out = new StringBuilder();
    for (int id : ids) {
      out.append(accept(id));
    }
    return out.toString();
  }

  /**
   * Ends the stream: U+FFFD for an incomplete character still held, or empty. The decoder is then
   * as new (at the start of a text if it was made with {@code startsText}).
   */
  public String finish() {
    String rest = pendingCount > 0 ? String.valueOf(REPLACEMENT) : "";
    pendingCount = 0;
    pendingNeed = 0;
    atTextStart = startsText;
    return rest;
  }

  /** Whether bytes of an incomplete character are held. */
  public boolean hasPending() {
    return pendingCount > 0;
  }

  private void append(StringBuilder out, byte[] bytes, int from) {
    for (int i = from; i < bytes.length; i++) {
      accept(out, bytes[i] & 0xff);
    }
  }

  private void accept(StringBuilder out, int b) {
    if (pendingCount > 0) {
      if (fitsAsNext(b)) {
        pending[pendingCount++] = (byte) b;
        if (pendingCount == pendingNeed) {
          out.appendCodePoint(codePoint());
          pendingCount = 0;
          pendingNeed = 0;
        }
        return;
      }
      // The held bytes are a maximal invalid part; b starts afresh.
      out.append(REPLACEMENT);
      pendingCount = 0;
      pendingNeed = 0;
    }
    if (b < 0x80) {
      out.append((char) b);
    } else if (b >= 0xC2 && b <= 0xF4) {
      pending[0] = (byte) b;
      pendingCount = 1;
      pendingNeed = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    } else {
      // A continuation byte with no start byte, or a byte that never occurs in UTF-8.
      out.append(REPLACEMENT);
    }
  }

  /**
   * Whether {@code b} can follow the held bytes (Unicode's table of well-formed UTF-8 byte
   * sequences).
   */
  private boolean fitsAsNext(int b) {
    int low = 0x80;
    int high = 0xBF;
    if (pendingCount == 1) {
      switch (pending[0] & 0xff) {
        case 0xE0 -> low = 0xA0; // no overlong three-byte forms
        case 0xED -> high = 0x9F; // no surrogates
        case 0xF0 -> low = 0x90; // no overlong four-byte forms
        case 0xF4 -> high = 0x8F; // nothing above U+10FFFF
        default -> {}
      }
    }
    return b >= low && b <= high;
  }

  private int codePoint() {
    int lead = pending[0] & 0xff;
    int cp =
        switch (pendingNeed) {
          case 2 -> lead & 0x1F;
          case 3 -> lead & 0x0F;
          default -> lead & 0x07;
        };
    for (int i = 1; i < pendingNeed; i++) {
      cp = (cp << 6) | (pending[i] & 0x3F);
    }
    return cp;
  }
}
