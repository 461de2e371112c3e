package dev.kiln.tokenizer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static dev.kiln.tokenizer.TokenizerFixtures.CONTROL;
import static dev.kiln.tokenizer.TokenizerFixtures.SAMPLES;
import static dev.kiln.tokenizer.TokenizerFixtures.UNKNOWN;
import static dev.kiln.tokenizer.TokenizerFixtures.USER_DEFINED;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.InvalidInputException;
import dev.kiln.tokenizer.TokenizerFixtures.Vocab;
import dev.kiln.weights.GgufValueType;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * SentencePiece-style BPE from GGUF metadata, on vocabularies small enough to work out the ids by
 * hand.
 */
class SentencePieceTokenizerTest {
  /**
   * 0 {@code <unk>}, 1 {@code <s>}, 2 {@code </s>}, 3..258 the byte tokens, then pieces whose
   * scores set the merge order: "bc" (-1) before "abc" (-2) before "▁a" (-3) before "aa" (-4)
   * before "ab" (-5).
   */
  private static Vocab vocab(float spaceAScore) {
    Vocab v = new Vocab();
    v.add("<unk>", 0, UNKNOWN);
    v.add("<s>", 0, CONTROL);
    v.add("</s>", 0, CONTROL);
    v.addByteTokens();
    v.add("▁", -1);
    v.add("a", -2);
    v.add("b", -2);
    v.add("c", -2);
    v.add("ab", -5);
    v.add("bc", -1);
    v.add("▁a", spaceAScore);
    v.add("abc", -2);
    v.add("aa", -4);
    return v;
  }

  private static final Vocab V = vocab(-3);
  private static final Tokenizer T = V.spm();
  private static final int BYTE0 = 3;
  private static final int SPACE = V.id("▁");
  private static final int A = V.id("a");
  private static final int B = V.id("b");
  private static final int AA = V.id("aa");
  private static final int BC = V.id("bc");
  private static final int ABC = V.id("abc");
  private static final int SPACE_A = V.id("▁a");

  @Test
  void vocabularyAndSpecials() {
    assertThat(T.vocabSize()).isEqualTo(V.tokens.size());
    assertThat(T.bos()).isEqualTo(OptionalInt.of(1));
    assertThat(T.eos()).isEqualTo(OptionalInt.of(2));
    assertThat(T.unk()).isEqualTo(OptionalInt.of(0));
    assertThat(T.eot()).isEqualTo(OptionalInt.empty());
    assertThat(T.isSpecial(1)).isTrue();
    assertThat(T.isSpecial(0)).isTrue();
    assertThat(T.isSpecial(SPACE_A)).isFalse();
    assertThat(T.id("</s>")).isEqualTo(OptionalInt.of(2));
    assertThat(T.id("abc")).isEqualTo(OptionalInt.empty());
    assertThat(T.tokenType(BYTE0 + 10)).isEqualTo(TokenType.BYTE);
    assertThat(T.tokenText(SPACE_A)).isEqualTo("▁a");
    assertThat(T.tokenBytes(SPACE_A)).isEqualTo(new byte[] {' ', 'a'});
    assertThat(T.tokenBytes(BYTE0 + 0xE2)).isEqualTo(new byte[] {(byte) 0xE2});
    assertThat(T.tokenBytes(1)).isEmpty();
    assertThat(T.tokenBytes(1, true)).isEqualTo("<s>".getBytes());
    assertThat(T.addsSpacePrefix()).isTrue();
    assertThat(T.addBosByDefault()).isTrue();
    assertThat(T.chatTemplate()).isEmpty();
    assertThrows(InvalidInputException.class, () -> T.tokenBytes(V.tokens.size()));
    assertThrows(InvalidInputException.class, () -> T.decode(new int[] {-1}));
  }

  @Test
  void highestScoreMergesFirst() {
    // "▁abc": pairs ▁a (-3), ab (-5), bc (-1). bc merges first; then a+bc = "abc" (-2) beats ▁a
    // (-3);
    // "▁abc" is no token, so: ▁, abc. (Merging left to right would give ▁a, bc.)
    assertThat(T.encode("abc")).isEqualTo(new int[] {SPACE, ABC});
    // With "▁a" at -0.5 it merges first; "▁ab" is no token; then b+c.
    Vocab other = vocab(-0.5f);
    assertThat(other.spm().encode("abc")).isEqualTo(new int[] {other.id("▁a"), other.id("bc")});
  }

  @Test
  void tiesGoToTheLeftmostPair() {
    // "▁baaa": only the two "aa" pairs (-4 each) merge; the left one goes first, and "aaa" is no
    // token.
    assertThat(T.encode("baaa")).isEqualTo(new int[] {SPACE, B, AA, A});
  }

  @Test
  void spacesBecomeTheSpaceSymbol() {
    // "▁a▁▁a": ▁a twice, with a lone ▁ between.
    assertThat(T.encode("a  a")).isEqualTo(new int[] {SPACE_A, SPACE, SPACE_A});
    assertThat(T.encode(" a")).isEqualTo(new int[] {SPACE, SPACE_A});
    assertThat(T.decode(T.encode(" a"))).isEqualTo(" a");
  }

  @Test
  void charactersWithoutTokensFallBackToBytes() {
    // "▁a€": ▁a merges; € (E2 82 AC) has no token.
    assertThat(T.encode("a€"))
        .isEqualTo(new int[] {SPACE_A, BYTE0 + 0xE2, BYTE0 + 0x82, BYTE0 + 0xAC});
    assertThat(T.decode(T.encode("a€"))).isEqualTo("a€");
    // A character of two UTF-16 units (U+1F600, F0 9F 98 80).
    assertThat(T.encode("😀"))
        .isEqualTo(new int[] {SPACE, BYTE0 + 0xF0, BYTE0 + 0x9F, BYTE0 + 0x98, BYTE0 + 0x80});
  }

  @Test
  void withoutByteTokensTheUnknownToken() {
    Vocab v = new Vocab();
    v.add("<unk>", 0, UNKNOWN);
    v.add("<s>", 0, CONTROL);
    v.add("</s>", 0, CONTROL);
    int space = v.add("▁", -1);
    int a = v.add("a", -1);
    Tokenizer t = v.spm();
    assertThat(t.encode("a€a")).isEqualTo(new int[] {space, a, 0, a});
    assertThat(t.decode(new int[] {space, a, 0, a})).isEqualTo("aa");
    assertThat(t.decode(new int[] {space, a, 0, a}, true)).isEqualTo("a<unk>a");
  }

  @Test
  void withoutByteTokensOrUnknownTokenEncodingFails() {
    Vocab v = new Vocab();
    v.add("▁", 0);
    v.add("a", 0);
    v.add("b", 0);
    Tokenizer t = Tokenizers.fromGguf(v.gguf("llama").parse());
    // With no bos/eos/unk keys, llama.cpp's defaults 1, 2 and 0 apply.
    assertThat(t.unk()).isEqualTo(OptionalInt.of(0));
    Vocab none = new Vocab();
    none.add("▁", 0);
    none.add("a", 0);
    // 0xFFFFFFFF (-1) says "none".
    Tokenizer noUnk =
        Tokenizers.fromGguf(
            none.gguf("llama")
                .putU32("tokenizer.ggml.unknown_token_id", 0xFFFFFFFFL)
                .putU32("tokenizer.ggml.bos_token_id", 0xFFFFFFFFL)
                .putU32("tokenizer.ggml.eos_token_id", 0xFFFFFFFFL)
                .parse());
    assertThat(noUnk.bos()).isEqualTo(OptionalInt.empty());
    assertThat(noUnk.unk()).isEqualTo(OptionalInt.empty());
    TokenizerException e = assertThrows(TokenizerException.class, () -> noUnk.encode("a€"));
    assertThat(e).hasMessageThat().contains("U+20AC");
  }

  @Test
  void specialTokensAreParsedOnlyWhenAsked() {
    // <s> and </s> split the text; the text after <s> gets the space prefix: "▁ab" -> ▁a, b.
    assertThat(T.encode("<s>ab</s>", false, true)).isEqualTo(new int[] {1, SPACE_A, B, 2});
    assertThat(T.encode("<s>ab</s>", true, true)).isEqualTo(new int[] {1, 1, SPACE_A, B, 2});
    // Not parsed: '<', 's', '>' and '/' are bytes; only "ab" merges.
    int lt = BYTE0 + '<';
    int s = BYTE0 + 's';
    int gt = BYTE0 + '>';
    int slash = BYTE0 + '/';
    assertThat(T.encode("<s>ab</s>"))
        .isEqualTo(new int[] {SPACE, lt, s, gt, V.id("ab"), lt, slash, s, gt});
    assertThat(T.decode(T.encode("<s>ab</s>"))).isEqualTo("<s>ab</s>");
    assertThat(T.decode(new int[] {1, SPACE_A, B, 2})).isEqualTo("ab");
    assertThat(T.decode(new int[] {1, SPACE_A, B, 2}, true)).isEqualTo("<s>ab</s>");
  }

  @Test
  void userDefinedTokensAreAlwaysWhole() {
    Vocab v = vocab(-3);
    int tag = v.add("<tag>", 0, USER_DEFINED);
    Tokenizer t = v.spm();
    // "a", <tag>, "b": each text after a matched token gets the prefix, as llama.cpp does.
    assertThat(t.encode("a<tag>b")).isEqualTo(new int[] {v.id("▁a"), tag, v.id("▁"), v.id("b")});
    assertThat(t.isSpecial(tag)).isFalse();
    assertThat(t.id("<tag>")).isEqualTo(OptionalInt.of(tag));
    // Decoding removes the prefix only at the start and after BOS, so this one stays.
    assertThat(t.decode(t.encode("a<tag>b"))).isEqualTo("a<tag> b");
  }

  @Test
  void decodingDropsThePrefixAtTheStartAndAfterBos() {
    assertThat(T.decode(new int[] {SPACE, ABC})).isEqualTo("abc");
    assertThat(T.decode(new int[] {1, SPACE, ABC})).isEqualTo("abc");
    assertThat(T.decode(new int[] {1, SPACE, ABC}, true)).isEqualTo("<s>abc");
    assertThat(T.decode(new int[] {1, SPACE_A, 2, 1, SPACE_A})).isEqualTo("aa");
    assertThat(T.decode(new int[] {SPACE_A, SPACE_A})).isEqualTo("a a");
    assertThat(T.decode(new int[] {SPACE})).isEmpty();
    assertThat(T.decode(new int[] {SPACE, SPACE})).isEqualTo(" ");
    // A decoder fed tokens generated after a prompt keeps their leading space.
    StreamingDecoder continuing = new StreamingDecoder(T, false);
    assertThat(continuing.accept(SPACE_A)).isEqualTo(" a");
    assertThat(continuing.accept(BC)).isEqualTo("bc");
  }

  @Test
  void spacePrefixCanBeTurnedOff() {
    Tokenizer t =
        Tokenizers.fromGguf(
            V.spmGguf().put("tokenizer.ggml.add_space_prefix", GgufValueType.BOOL, false).parse());
    assertThat(t.addsSpacePrefix()).isFalse();
    assertThat(t.encode("abc")).isEqualTo(new int[] {ABC});
    assertThat(t.encode(" abc")).isEqualTo(new int[] {SPACE, ABC});
    assertThat(t.decode(new int[] {SPACE, ABC})).isEqualTo(" abc");
  }

  @Test
  void tokenTypesAreInferredWhenAbsent() {
    Vocab v = vocab(-3);
    Tokenizer t =
        Tokenizers.fromGguf(
            new dev.kiln.weights.GgufWriter()
                .putString("tokenizer.ggml.model", "llama")
                .put(
                    "tokenizer.ggml.tokens",
                    GgufValueType.ARRAY,
                    new dev.kiln.weights.GgufWriter.Arr(GgufValueType.STRING, v.tokens))
                .put(
                    "tokenizer.ggml.scores",
                    GgufValueType.ARRAY,
                    new dev.kiln.weights.GgufWriter.Arr(GgufValueType.FLOAT32, v.scores))
                .parse());
    assertThat(t.tokenType(0)).isEqualTo(TokenType.UNKNOWN);
    assertThat(t.tokenType(1)).isEqualTo(TokenType.CONTROL);
    assertThat(t.tokenType(BYTE0)).isEqualTo(TokenType.BYTE);
    assertThat(t.tokenType(SPACE_A)).isEqualTo(TokenType.NORMAL);
    assertThat(t.encode("a€")).isEqualTo(T.encode("a€"));
  }

  @Test
  void emptyText() {
    assertThat(T.encode("")).isEmpty();
    assertThat(T.encode("", true)).isEqualTo(new int[] {1});
    assertThat(T.decode(new int[0])).isEmpty();
  }

  @Test
  void roundTrips() {
    for (String sample : SAMPLES) {
      int[] ids = T.encode(sample);
      assertWithMessage("decode(encode(%s))", sample).that(T.decode(ids)).isEqualTo(sample);
      assertWithMessage("decode(encode(%s, bos))", sample)
          .that(T.decode(T.encode(sample, true)))
          .isEqualTo(sample);
      for (int id : ids) {
        assertWithMessage("%s: no unknown token with byte fallback", sample)
            .that(id)
            .isNotEqualTo(0);
      }
      StreamingDecoder stream = new StreamingDecoder(T, true);
      StringBuilder streamed = new StringBuilder();
      for (int id : ids) {
        streamed.append(stream.accept(id));
      }
      streamed.append(stream.finish());
      assertWithMessage("streamed %s", sample).that(streamed.toString()).isEqualTo(sample);
    }
  }

  @Test
  void unpairedSurrogatesAreEncodedAsReplacementCharacters() {
    assertThat(T.decode(T.encode("a\uD800b\uDC00"))).isEqualTo("a\uFFFDb\uFFFD");
  }

  @Test
  void longInputIsQuick() {
    // 300k characters in one piece of text: merging is O(n log n), so this takes well under a
    // second.
    String text = "abc a€ baaa 一".repeat(25_000);
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
        java.time.Duration.ofSeconds(30),
        () -> {
          int[] ids = T.encode(text);
          assertThat(T.decode(ids)).isEqualTo(text);
        });
  }
}
