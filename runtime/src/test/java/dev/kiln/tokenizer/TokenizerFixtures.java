package dev.kiln.tokenizer;

import dev.kiln.weights.GgufValueType;
import dev.kiln.weights.GgufWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Small vocabularies written as GGUF metadata or llama2.c bytes, for tokenizer tests. */
final class TokenizerFixtures {
  static final int UNKNOWN = TokenType.UNKNOWN.ggufId();
  static final int NORMAL = TokenType.NORMAL.ggufId();
  static final int CONTROL = TokenType.CONTROL.ggufId();
  static final int USER_DEFINED = TokenType.USER_DEFINED.ggufId();
  static final int BYTE = TokenType.BYTE.ggufId();

  /** Texts for test round trips: scripts, emoji sequences, white space of every kind. */
  static final List<String> SAMPLES =
      List.of(
          "",
          "Hello, world!",
          "日本語のテキストと中文文本，한국어 텍스트",
          "مرحبا بالعالم، كيف حالك؟",
          "नमस्ते दुनिया, क्षत्रिय",
          "👩‍👩‍👧‍👦 family 👍🏽 🇯🇵 🏳️‍🌈 ❤️",
          "naïve café — “quotes” … ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ﬁ",
          "it's I'M we'll 12345 3.14159 1,000,000",
          " leading space",
          "   three leading spaces",
          "trailing spaces   ",
          "\t\ttabs\tand\nnew\nlines\n\n",
          "   ",
          " ",
          "\n",
          "a\r\nb\u00A0c\u3000d\u2003e",
          "code:\n    if (x) {\n        return y;\n    }\n",
          "<s> not special </s> <|eot_id|>");

  private TokenizerFixtures() {}

  /** A vocabulary in order, with a score and GGUF type per token. */
  static final class Vocab {
    final List<String> tokens = new ArrayList<>();
    final List<Float> scores = new ArrayList<>();
    final List<Integer> types = new ArrayList<>();

    /** Adds a token; returns its id. */
    int add(String text, float score, int type) {
      tokens.add(text);
      scores.add(score);
      types.add(type);
      return tokens.size() - 1;
    }

    int add(String text, float score) {
      return add(text, score, NORMAL);
    }

    /** Adds the 256 byte tokens {@code <0x00>..<0xFF>}; returns the id of {@code <0x00>}. */
    int addByteTokens() {
      int first = tokens.size();
      for (int b = 0; b < 256; b++) {
        add(String.format("<0x%02X>", b), 0, BYTE);
      }
      return first;
    }

    int id(String text) {
      int id = tokens.indexOf(text);
      if (id < 0) {
        throw new IllegalArgumentException(text);
      }
      return id;
    }

    GgufWriter gguf(String model) {
      return new GgufWriter()
          .putString("general.architecture", "llama")
          .putString("tokenizer.ggml.model", model)
          .put(
              "tokenizer.ggml.tokens",
              GgufValueType.ARRAY,
              new GgufWriter.Arr(GgufValueType.STRING, tokens))
          .put(
              "tokenizer.ggml.scores",
              GgufValueType.ARRAY,
              new GgufWriter.Arr(GgufValueType.FLOAT32, scores))
          .put(
              "tokenizer.ggml.token_type",
              GgufValueType.ARRAY,
              new GgufWriter.Arr(GgufValueType.INT32, types));
    }

    /** A SentencePiece-style GGUF tokenizer with unk 0, bos 1, eos 2. */
    GgufWriter spmGguf() {
      return gguf("llama")
          .putU32("tokenizer.ggml.unknown_token_id", 0)
          .putU32("tokenizer.ggml.bos_token_id", 1)
          .putU32("tokenizer.ggml.eos_token_id", 2);
    }

    Tokenizer spm() {
      return Tokenizers.fromGguf(spmGguf().parse());
    }

    /** The llama2.c {@code tokenizer.bin} of these tokens and scores. */
    byte[] llama2c() {
      int max = 0;
      for (String token : tokens) {
        max = Math.max(max, token.getBytes(StandardCharsets.UTF_8).length);
      }
      ByteBuffer out = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
      out.putInt(max);
      for (int i = 0; i < tokens.size(); i++) {
        byte[] bytes = tokens.get(i).getBytes(StandardCharsets.UTF_8);
        out.putFloat(scores.get(i)).putInt(bytes.length).put(bytes);
      }
      byte[] result = new byte[out.position()];
      out.flip().get(result);
      return result;
    }
  }

  /**
   * A byte-level vocabulary whose first 256 tokens are the bytes 0..255, written as GPT-2
   * characters.
   */
  static Vocab byteLevel() {
    Vocab vocab = new Vocab();
    for (int b = 0; b < 256; b++) {
      vocab.add(String.valueOf(ByteLevel.charOf(b)), 0);
    }
    return vocab;
  }

  /** Adds merge {@code a b} and the token it makes (if new); returns the merged token's id. */
  static int merge(Vocab vocab, List<String> merges, String a, String b) {
    merges.add(a + " " + b);
    int id = vocab.tokens.indexOf(a + b);
    return id >= 0 ? id : vocab.add(a + b, 0);
  }

  /** A byte-level GGUF tokenizer with pre-tokenizer {@code pre}. */
  static GgufWriter bpeGguf(Vocab vocab, List<String> merges, String pre) {
    GgufWriter writer =
        vocab
            .gguf("gpt2")
            .put(
                "tokenizer.ggml.merges",
                GgufValueType.ARRAY,
                new GgufWriter.Arr(GgufValueType.STRING, merges));
    return pre == null ? writer : writer.putString("tokenizer.ggml.pre", pre);
  }

  /** The ids of {@code text}'s bytes in a {@link #byteLevel()} vocabulary. */
  static int[] byteIds(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int[] ids = new int[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      ids[i] = bytes[i] & 0xff;
    }
    return ids;
  }

  /** Concatenates id arrays. */
  static int[] ids(int[]... parts) {
    int n = 0;
    for (int[] part : parts) {
      n += part.length;
    }
    int[] all = new int[n];
    int at = 0;
    for (int[] part : parts) {
      System.arraycopy(part, 0, all, at, part.length);
      at += part.length;
    }
    return all;
  }
}
