package dev.kiln.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * SentencePiece-style BPE, as Llama 1 and 2 use it: spaces are written as a space symbol ("▁"), a
 * space is put before the text (the dummy prefix), the text is split into characters, and adjacent
 * symbols are merged pair by pair. Characters no token covers become byte tokens ({@code <0xNN>},
 * "byte fallback"), else the unknown token.
 *
 * <p>Two ways of choosing the next pair: by score ({@link Merging#SCORES}: the pair whose merged
 * text is a token with the highest score, leftmost on a tie, as SentencePiece, llama.cpp and
 * llama2.c's {@code run.c} do; only normal and user-defined tokens count), or by rank ({@link
 * Merging#RANKS}: Hugging Face's {@code tokenizer.json} BPE with byte fallback, whose merges list
 * states the order; unknown characters become byte tokens before merging).
 */
final class SentencePieceTokenizer extends BaseTokenizer {
  /** Where the dummy prefix goes. */
  enum Prefix {
    /** Nowhere. */
    NONE,
    /**
     * Before the text, only at the start of the input (Hugging Face's Metaspace {@code
     * prepend_scheme: "first"}).
     */
    FIRST,
    /**
     * Before the text at the start of the input and after each special token in it (llama.cpp,
     * run.c).
     */
    ALWAYS
  }

  enum Merging {
    SCORES,
    RANKS
  }

  /**
   * How a SentencePiece-style tokenizer treats spaces and unknown characters. {@code
   * userDefinedSpaces}: user-defined tokens decode with the space symbol as a space (Hugging Face's
   * decoder also applies to added tokens, so Gemma's {@code "▁▁"} decodes as two spaces); else they
   * decode as stored (llama.cpp; its GGUF converter already writes their "▁" as spaces).
   */
  record Options(
      String space,
      Prefix prefix,
      boolean prefixUnlessPresent,
      boolean splitWords,
      boolean byteFallback,
      boolean fuseUnk,
      boolean userDefinedSpaces) {
    /**
     * llama.cpp's SentencePiece tokenizer: "▁", prefix as {@code addSpacePrefix} says, byte
     * fallback.
     */
    static Options llamaCpp(boolean addSpacePrefix) {
      return new Options(
          "▁", addSpacePrefix ? Prefix.ALWAYS : Prefix.NONE, false, false, true, false, false);
    }
  }

  private final Options options;
  private final Merging merging;
  private final float[] scores;
  private final MergeRanks ranks;

  /** Normal and user-defined tokens by text (the lowest id if a text occurs twice). */
  private final Map<String, Integer> pieces;

  /** The id of the byte token of each byte, or -1. */
  private final int[] byteTokens = new int[256];

  /**
   * A tokenizer merging by {@code scores} (one per token) or, when {@code scores} is null, by
   * {@code ranks}. {@code rawBytes}, if not null, gives the bytes of normal and unused tokens
   * (llama2.c files may hold tokens that are not UTF-8); else they come from their texts.
   */
  SentencePieceTokenizer(
      String source,
      Vocabulary vocab,
      Options options,
      float[] scores,
      MergeRanks ranks,
      byte[][] rawBytes,
      boolean addBosByDefault,
      String chatTemplate) {
    super(source, vocab, tokenBytes(vocab, options, rawBytes), addBosByDefault, chatTemplate);
    if ((scores == null) == (ranks == null)) {
      throw new IllegalArgumentException("give scores or ranks");
    }
    if (scores != null && scores.length != vocab.size()) {
      throw new IllegalArgumentException(scores.length + " scores for " + vocab.size() + " tokens");
    }
    this.options = options;
    this.merging = scores != null ? Merging.SCORES : Merging.RANKS;
    this.scores = scores;
    this.ranks = ranks;
    this.pieces = HashMap.newHashMap(vocab.size());
    Arrays.fill(byteTokens, -1);
    for (int id = 0; id < vocab.size(); id++) {
      TokenType type = vocab.type(id);
      if (type == TokenType.NORMAL || type == TokenType.USER_DEFINED) {
        pieces.putIfAbsent(vocab.text(id), id);
      } else if (type == TokenType.BYTE) {
        int b = Vocabulary.byteOf(vocab.text(id));
        if (b >= 0 && byteTokens[b] < 0) {
          byteTokens[b] = id;
        }
      }
    }
  }

  private static byte[][] tokenBytes(Vocabulary vocab, Options options, byte[][] rawBytes) {
    String space = options.space();
    byte[][] bytes = new byte[vocab.size()][];
    for (int id = 0; id < vocab.size(); id++) {
      String text = vocab.text(id);
      bytes[id] =
          switch (vocab.type(id)) {
            case CONTROL, UNKNOWN -> new byte[0];
            case BYTE -> {
              int b = Vocabulary.byteOf(text);
              yield b >= 0 ? new byte[] {(byte) b} : utf8(text);
            }
            case USER_DEFINED ->
                utf8(
                    options.userDefinedSpaces() && space != null ? text.replace(space, " ") : text);
            case NORMAL, UNUSED ->
                rawBytes != null
                    ? rawBytes[id].clone()
                    : utf8(space == null ? text : text.replace(space, " "));
          };
    }
    return bytes;
  }

  Merging merging() {
    return merging;
  }

  @Override
  public boolean addsSpacePrefix() {
    return options.prefix() != Prefix.NONE;
  }

  @Override
  void encodeText(String text, boolean startsText, boolean atStart, IntList out) {
    boolean prefix =
        switch (options.prefix()) {
          case NONE -> false;
          case FIRST -> atStart;
          case ALWAYS -> startsText;
        };
    String space = options.space() == null ? " " : options.space();
    String s = options.space() == null ? text : text.replace(" ", space);
    if (prefix && !(options.prefixUnlessPresent() && s.startsWith(space))) {
      s = space + s;
    }
    if (!options.splitWords()) {
      encodeWord(s, out);
      return;
    }
    // Hugging Face's Metaspace split: each word starts at a space symbol.
    int start = 0;
    for (int at = s.indexOf(space, 1); at >= 0; at = s.indexOf(space, at + space.length())) {
      if (at > start) {
        encodeWord(s.substring(start, at), out);
        start = at;
      }
    }
    if (start < s.length()) {
      encodeWord(s.substring(start), out);
    }
  }

  private void encodeWord(String word, IntList out) {
    if (word.isEmpty()) {
      return;
    }
    List<String> symbols = new ArrayList<>();
    IntList ids = new IntList();
    for (int i = 0; i < word.length(); ) {
      int end = i + Character.charCount(word.codePointAt(i));
      String c = word.substring(i, end);
      Integer id = pieces.get(c);
      if (id != null || merging == Merging.SCORES) {
        symbols.add(c);
        ids.add(id == null ? -1 : id);
      } else {
        fallBack(c, symbols, ids);
      }
      i = end;
    }
    PairMerger.Rule rule =
        merging == Merging.RANKS
            ? ranks.rule()
            : (leftId, leftText, rightId, rightText) -> {
              Integer merged = pieces.get(leftText + rightText);
              return merged == null ? null : new PairMerger.Merge(merged, scores[merged]);
            };
    PairMerger.Symbols merged = PairMerger.merge(symbols, ids.toArray(), rule);
    for (int i = 0; i < merged.ids().length; i++) {
      int id = merged.ids()[i];
      if (id >= 0) {
        out.add(id);
      } else {
        emitFallback(merged.texts()[i], out);
      }
    }
  }

  /**
   * Rank merging: an unknown character becomes byte-token symbols before merging, else the unknown
   * token.
   */
  private void fallBack(String c, List<String> symbols, IntList ids) {
    byte[] bytes = utf8(c);
    if (options.byteFallback() && hasAllBytes(bytes)) {
      for (byte b : bytes) {
        int id = byteTokens[b & 0xff];
        symbols.add(vocab.text(id));
        ids.add(id);
      }
      return;
    }
    int unk = unkFor(c);
    if (options.fuseUnk() && ids.size() > 0 && ids.get(ids.size() - 1) == unk) {
      return;
    }
    symbols.add(vocab.text(unk));
    ids.add(unk);
  }

  /**
   * Score merging: a symbol no token covers (one character) becomes its byte tokens, else the
   * unknown token.
   */
  private void emitFallback(String c, IntList out) {
    byte[] bytes = utf8(c);
    if (options.byteFallback() && hasAllBytes(bytes)) {
      for (byte b : bytes) {
        out.add(byteTokens[b & 0xff]);
      }
    } else {
      int unk = unkFor(c);
      if (!(options.fuseUnk() && out.size() > 0 && out.get(out.size() - 1) == unk)) {
        out.add(unk);
      }
    }
  }

  private boolean hasAllBytes(byte[] bytes) {
    for (byte b : bytes) {
      if (byteTokens[b & 0xff] < 0) {
        return false;
      }
    }
    return true;
  }

  private int unkFor(String c) {
    if (vocab.unk < 0) {
      throw new TokenizerException(
          source()
              + ": cannot encode "
              + describe(c)
              + ": no token covers it, the vocabulary has no byte token for it and no unknown token");
    }
    return vocab.unk;
  }

  private static String describe(String c) {
    StringBuilder out = new StringBuilder("\"").append(c).append("\" (");
    c.codePoints().forEach(cp -> out.append(String.format("U+%04X", cp)));
    return out.append(")").toString();
  }
}
