package dev.kiln.tokenizer;

import dev.kiln.weights.GgufFile;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads tokenizers from model files. Every problem with a file is a {@link TokenizerException}
 * naming the file and the key, field or offset.
 */
public final class Tokenizers {
  /** Texts of end-of-turn tokens, looked for when the files name none. */
  static final List<String> EOT_TEXTS =
      List.of(
          "<|eot_id|>",
          "<|im_end|>",
          "<|end|>",
          "<end_of_turn>",
          "<|end_of_turn|>",
          "<EOT>",
          "<|eot|>");

  private Tokenizers() {}

  /**
   * The tokenizer in a GGUF file's {@code tokenizer.ggml.*} metadata: SentencePiece-style ({@code
   * tokenizer.ggml.model = "llama"}) or byte-level BPE ({@code "gpt2"}, with the Llama 3 or GPT-2
   * pre-tokenizer as {@code tokenizer.ggml.pre} says).
   */
  public static Tokenizer fromGguf(GgufFile file) {
    return GgufTokenizerReader.read(file);
  }

  /** {@link #fromGguf(GgufFile)} of the file at {@code path}. */
  public static Tokenizer fromGguf(Path path) {
    try {
      return fromGguf(GgufFile.open(path));
    } catch (dev.kiln.weights.WeightLoadException e) {
      throw new TokenizerException(e.getMessage(), e);
    }
  }

  /**
   * The tokenizer of a Hugging Face model folder: {@code tokenizer.json} (BPE, byte-level or
   * SentencePiece-style), with {@code tokenizer_config.json} and {@code chat_template.jinja} when
   * present.
   */
  public static Tokenizer fromHfFolder(Path directory) {
    return HfTokenizerReader.read(directory);
  }

  /** A llama2.c {@code tokenizer.bin}, all of its tokens. */
  public static Tokenizer fromLlama2c(Path tokenizerBin) {
    return Llama2cTokenizerReader.read(tokenizerBin, -1);
  }

  /**
   * A llama2.c {@code tokenizer.bin} that must hold exactly {@code vocabSize} tokens (the
   * checkpoint's vocabulary).
   */
  public static Tokenizer fromLlama2c(Path tokenizerBin, int vocabSize) {
    if (vocabSize <= 0) {
      throw new IllegalArgumentException("vocabSize " + vocabSize);
    }
    return Llama2cTokenizerReader.read(tokenizerBin, vocabSize);
  }

  /** The id of the first token whose text is a known end-of-turn text, or -1. */
  static int guessEot(String[] texts) {
    int best = -1;
    int bestRank = EOT_TEXTS.size();
    for (int id = 0; id < texts.length; id++) {
      int rank = EOT_TEXTS.indexOf(texts[id]);
      if (rank >= 0 && rank < bestRank) {
        best = id;
        bestRank = rank;
      }
    }
    return best;
  }

  /** Adds merge {@code left right} at {@code rank}; returns null, or what is wrong with it. */
  static String addMerge(MergeRanks ranks, Vocabulary vocab, int rank, String left, String right) {
    int a = vocab.id(left);
    int b = vocab.id(right);
    int merged = vocab.id(left + right);
    if (a < 0 || b < 0 || merged < 0) {
      String missing = a < 0 ? left : b < 0 ? right : left + right;
      return "token \"" + missing + "\" is not in the vocabulary";
    }
    ranks.add(a, b, rank, merged);
    return null;
  }
}
