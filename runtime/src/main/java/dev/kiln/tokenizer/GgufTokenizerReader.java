package dev.kiln.tokenizer;

import dev.kiln.weights.GgufFile;
import dev.kiln.weights.GgufMetadata;
import dev.kiln.weights.GgufValueType;
import dev.kiln.weights.WeightLoadException;
import java.util.List;
import java.util.OptionalLong;

/**
 * Reads the tokenizer of a GGUF file from its {@code tokenizer.ggml.*} metadata, as llama.cpp does:
 * {@code model} ({@code "llama"}: SentencePiece-style, {@code "gpt2"}: byte-level BPE), {@code
 * tokens}, {@code scores} (llama; zeros if absent), {@code token_type} (inferred if absent), {@code
 * merges} (gpt2), {@code pre} (gpt2's pre-tokenizer), {@code add_space_prefix} (llama; true if
 * absent), {@code bos_token_id}, {@code eos_token_id}, {@code unknown_token_id}, {@code
 * eot_token_id}, {@code add_bos_token}, and {@code tokenizer.chat_template}.
 */
final class GgufTokenizerReader {
  private static final String P = "tokenizer.ggml.";

  private final GgufFile file;
  private final GgufMetadata metadata;
  private final String source;

  private GgufTokenizerReader(GgufFile file) {
    this.file = file;
    this.metadata = file.metadata();
    this.source = file.path().toString();
  }

  static Tokenizer read(GgufFile file) {
    try {
      return new GgufTokenizerReader(file).read();
    } catch (WeightLoadException e) {
      // A value of the wrong type; the message names the file, offset and key.
      throw new TokenizerException(e.getMessage(), e);
    }
  }

  private TokenizerException error(String key, String message) {
    return new TokenizerException(
        source + " (GGUF, offset " + metadata.offset(key) + "): metadata " + key + ": " + message);
  }

  private Tokenizer read() {
    String modelKey = P + "model";
    String model =
        metadata
            .getString(modelKey)
            .orElseThrow(
                () ->
                    new TokenizerException(
                        source
                            + ": GGUF file has no "
                            + modelKey
                            + " metadata, so it carries no tokenizer"));
    boolean spm =
        switch (model) {
          case "llama" -> true;
          case "gpt2" -> false;
          case "none", "no_vocab" ->
              throw error(modelKey, "\"" + model + "\": the file carries no vocabulary");
          default ->
              throw error(
                  modelKey,
                  "\""
                      + model
                      + "\" is not a tokenizer Kiln reads; Kiln reads \"llama\" "
                      + "(SentencePiece-style BPE) and \"gpt2\" (byte-level BPE)");
        };
    String[] texts = tokens();
    int n = texts.length;
    int bos = specialId("bos_token_id", n, spm ? 1 : -1);
    int eos = specialId("eos_token_id", n, spm ? 2 : -1);
    int unk = specialId("unknown_token_id", n, spm ? 0 : -1);
    TokenType[] types = types(texts, spm, bos, eos, unk);
    int eot = specialId("eot_token_id", n, -1);
    if (eot < 0) {
      eot = Tokenizers.guessEot(texts);
    }
    String chatTemplate = metadata.getString("tokenizer.chat_template").orElse(null);
    boolean addBos = metadata.getBool(P + "add_bos_token").orElse(spm);
    Vocabulary vocab = new Vocabulary(texts, types, bos, eos, eot, unk);
    if (spm) {
      float[] scores = scores(n);
      boolean addSpacePrefix = metadata.getBool(P + "add_space_prefix").orElse(true);
      return new SentencePieceTokenizer(
          source,
          vocab,
          SentencePieceTokenizer.Options.llamaCpp(addSpacePrefix),
          scores,
          null,
          null,
          addBos,
          chatTemplate);
    }
    String preKey = P + "pre";
    String pre = metadata.getString(preKey).orElse("default");
    PreTokenizer preTokenizer;
    boolean ignoreMerges;
    switch (pre) {
      case "llama-bpe", "llama3", "smaug-bpe" -> {
        preTokenizer = PreTokenizer.of(PreTokenizer.LLAMA3);
        ignoreMerges = true;
      }
      case "gpt2", "default" -> {
        preTokenizer = PreTokenizer.of(PreTokenizer.GPT2);
        ignoreMerges = false;
      }
      default ->
          throw error(
              preKey,
              "pre-tokenizer \""
                  + pre
                  + "\" is not one Kiln knows; Kiln knows \"llama-bpe\", "
                  + "\"llama3\" and \"smaug-bpe\" (Llama 3's split pattern) and \"gpt2\" and \"default\" (GPT-2's)");
    }
    return new ByteLevelBpeTokenizer(
        source, vocab, merges(vocab), preTokenizer, ignoreMerges, addBos, chatTemplate);
  }

  /**
   * An array value whose elements are of one of {@code types}; {@code size}: the length it must
   * have, or -1.
   */
  private List<Object> array(String key, int size, String expected, GgufValueType... types) {
    List<Object> values = metadata.getArray(key).orElseThrow();
    GgufValueType elementType = metadata.elementType(key).orElseThrow();
    if (!List.of(types).contains(elementType)) {
      throw error(key, "expected an array of " + expected + ", found an array of " + elementType);
    }
    if (size >= 0 && values.size() != size) {
      throw error(
          key,
          "has "
              + values.size()
              + " entries but tokenizer.ggml.tokens has "
              + size
              + " (one entry per token is needed)");
    }
    return values;
  }

  private String[] tokens() {
    String key = P + "tokens";
    if (!metadata.contains(key)) {
      throw new TokenizerException(
          source + ": GGUF file has no " + key + " metadata (the vocabulary)");
    }
    List<Object> values = array(key, -1, "strings", GgufValueType.STRING);
    if (values.isEmpty()) {
      throw error(key, "the vocabulary is empty");
    }
    String[] texts = new String[values.size()];
    int i = 0;
    for (Object value : values) {
      texts[i++] = (String) value;
    }
    return texts;
  }

  private float[] scores(int n) {
    String key = P + "scores";
    float[] scores = new float[n];
    if (!metadata.contains(key)) {
      return scores;
    }
    int i = 0;
    for (Object value :
        array(key, n, "float32 scores", GgufValueType.FLOAT32, GgufValueType.FLOAT64)) {
      float score = ((Number) value).floatValue();
      if (Float.isNaN(score)) {
        throw error(key, "score of token " + i + " is NaN");
      }
      scores[i++] = score;
    }
    return scores;
  }

  private TokenType[] types(String[] texts, boolean spm, int bos, int eos, int unk) {
    String key = P + "token_type";
    int n = texts.length;
    TokenType[] types = new TokenType[n];
    if (!metadata.contains(key)) {
      for (int id = 0; id < n; id++) {
        types[id] =
            id == unk
                ? TokenType.UNKNOWN
                : id == bos || id == eos
                    ? TokenType.CONTROL
                    : spm && Vocabulary.isByteText(texts[id]) ? TokenType.BYTE : TokenType.NORMAL;
      }
      return types;
    }
    int id = 0;
    for (Object value :
        array(
            key,
            n,
            "integer token types",
            GgufValueType.INT32,
            GgufValueType.UINT32,
            GgufValueType.INT8,
            GgufValueType.UINT8,
            GgufValueType.INT16,
            GgufValueType.UINT16,
            GgufValueType.INT64,
            GgufValueType.UINT64)) {
      long code = ((Number) value).longValue();
      int token = id;
      types[id] =
          TokenType.ofGgufId(code)
              .orElseThrow(
                  () ->
                      error(
                          key,
                          "token "
                              + token
                              + " (\""
                              + texts[token]
                              + "\") has type "
                              + code
                              + "; GGUF token types are 0 to 6"));
      if (spm && types[id] == TokenType.BYTE && !Vocabulary.isByteText(texts[id])) {
        throw error(
            key,
            "token " + id + " is a byte token but its text \"" + texts[id] + "\" is not <0xNN>");
      }
      id++;
    }
    return types;
  }

  /**
   * A special token's id, or {@code fallback} (checked against the vocabulary) when the key is
   * absent; -1 for none.
   */
  private int specialId(String name, int n, int fallback) {
    String key = P + name;
    OptionalLong value = metadata.getInteger(key);
    if (value.isEmpty()) {
      return fallback < n ? fallback : -1;
    }
    long id = value.getAsLong();
    if (id == -1
        || (metadata.type(key).orElseThrow() == GgufValueType.UINT32 && id == 0xFFFFFFFFL)) {
      return -1; // written as "none"
    }
    if (id < 0 || id >= n) {
      throw error(key, "token id " + id + " is outside the vocabulary of " + n + " tokens");
    }
    return (int) id;
  }

  private MergeRanks merges(Vocabulary vocab) {
    String key = P + "merges";
    if (!metadata.contains(key)) {
      throw new TokenizerException(
          source + ": GGUF file has no " + key + " metadata, which a \"gpt2\" tokenizer needs");
    }
    List<Object> values = array(key, -1, "strings", GgufValueType.STRING);
    MergeRanks ranks = new MergeRanks(values.size());
    int rank = 0;
    for (Object value : values) {
      String merge = (String) value;
      int space = merge.indexOf(' ', 1);
      if (space < 0 || space == merge.length() - 1) {
        throw error(
            key, "entry " + rank + " \"" + merge + "\" is not two tokens separated by a space");
      }
      String problem =
          Tokenizers.addMerge(
              ranks, vocab, rank, merge.substring(0, space), merge.substring(space + 1));
      if (problem != null) {
        throw error(key, "entry " + rank + " \"" + merge + "\": " + problem);
      }
      rank++;
    }
    return ranks;
  }
}
