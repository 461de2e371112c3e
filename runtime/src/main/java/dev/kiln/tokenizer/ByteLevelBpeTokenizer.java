package dev.kiln.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Byte-level BPE (GPT-2, Llama 3): the text is split into words by the pre-tokenizer, each word's
 * UTF-8 bytes are written with {@link ByteLevel}'s characters, and each word's symbols (one per
 * byte) are merged by the ranks of the merges list, lowest rank first, leftmost on a tie. With
 * {@code ignoreMerges} (Llama 3), a word that is itself a token is that token without merging, as
 * llama.cpp and Hugging Face's {@code ignore_merges} do. A symbol left with no token (a vocabulary
 * without all 256 byte characters) becomes the unknown token, or is dropped when there is none, as
 * llama.cpp does.
 */
final class ByteLevelBpeTokenizer extends BaseTokenizer {
  private final MergeRanks ranks;
  private final PreTokenizer preTokenizer;
  private final boolean ignoreMerges;

  ByteLevelBpeTokenizer(
      String source,
      Vocabulary vocab,
      MergeRanks ranks,
      PreTokenizer preTokenizer,
      boolean ignoreMerges,
      boolean addBosByDefault,
      String chatTemplate) {
    super(source, vocab, tokenBytes(vocab), addBosByDefault, chatTemplate);
    this.ranks = ranks;
    this.preTokenizer = preTokenizer;
    this.ignoreMerges = ignoreMerges;
  }

  private static byte[][] tokenBytes(Vocabulary vocab) {
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
            case USER_DEFINED -> utf8(text);
            case NORMAL, UNUSED -> {
              byte[] decoded = ByteLevel.decode(text);
              yield decoded != null ? decoded : utf8(text);
            }
          };
    }
    return bytes;
  }

  @Override
  public boolean addsSpacePrefix() {
    return false;
  }

  @Override
  void encodeText(String text, boolean startsText, boolean atStart, IntList out) {
    for (String word : preTokenizer.split(text)) {
      encodeWord(ByteLevel.encode(utf8(word)), out);
    }
  }

  private void encodeWord(String word, IntList out) {
    if (ignoreMerges) {
      int whole = vocab.id(word);
      if (whole >= 0 && vocab.type(whole) == TokenType.NORMAL) {
        out.add(whole);
        return;
      }
    }
    List<String> symbols = new ArrayList<>(word.length());
    int[] ids = new int[word.length()];
    for (int i = 0; i < word.length(); i++) {
      String c = word.substring(i, i + 1);
      symbols.add(c);
      ids[i] = vocab.id(c);
    }
    PairMerger.Symbols merged = PairMerger.merge(symbols, ids, ranks.rule());
    for (int id : merged.ids()) {
      if (id >= 0) {
        out.add(id);
      } else if (vocab.unk >= 0) {
        out.add(vocab.unk);
      }
    }
  }
}
