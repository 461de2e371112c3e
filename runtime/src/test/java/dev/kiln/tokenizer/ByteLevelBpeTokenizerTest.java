package dev.kiln.tokenizer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static dev.kiln.tokenizer.TokenizerFixtures.CONTROL;
import static dev.kiln.tokenizer.TokenizerFixtures.SAMPLES;
import static dev.kiln.tokenizer.TokenizerFixtures.USER_DEFINED;
import static dev.kiln.tokenizer.TokenizerFixtures.bpeGguf;
import static dev.kiln.tokenizer.TokenizerFixtures.byteIds;
import static dev.kiln.tokenizer.TokenizerFixtures.byteLevel;
import static dev.kiln.tokenizer.TokenizerFixtures.ids;
import static dev.kiln.tokenizer.TokenizerFixtures.merge;

import dev.kiln.tokenizer.TokenizerFixtures.Vocab;
import dev.kiln.weights.GgufValueType;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * Byte-level BPE from GGUF metadata ({@code tokenizer.ggml.model = "gpt2"}), with ids worked out by
 * hand.
 */
class ByteLevelBpeTokenizerTest {
  private static Tokenizer tokenizer(Vocab vocab, List<String> merges, String pre) {
    return Tokenizers.fromGguf(bpeGguf(vocab, merges, pre).parse());
  }

  @Test
  void lowerRankMergesFirst() {
    Vocab v = byteLevel();
    List<String> merges = new ArrayList<>();
    int bc = merge(v, merges, "b", "c"); // rank 0
    int ab = merge(v, merges, "a", "b"); // rank 1
    // a b c: "b c" has the lower rank, so a, bc; "a bc" is no merge.
    assertThat(tokenizer(v, merges, "gpt2").encode("abc")).isEqualTo(new int[] {'a', bc});
    // The same merges the other way round: ab, c.
    Vocab w = byteLevel();
    List<String> reversed = new ArrayList<>();
    int ab2 = merge(w, reversed, "a", "b");
    merge(w, reversed, "b", "c");
    assertThat(tokenizer(w, reversed, "gpt2").encode("abc")).isEqualTo(new int[] {ab2, 'c'});
    assertThat(ab).isNotEqualTo(bc);
  }

  @Test
  void tiesGoToTheLeftmostPair() {
    Vocab v = byteLevel();
    List<String> merges = new ArrayList<>();
    int aa = merge(v, merges, "a", "a");
    // a a a: both pairs have rank 0; the left one merges, leaving aa, a.
    assertThat(tokenizer(v, merges, "gpt2").encode("aaa")).isEqualTo(new int[] {aa, 'a'});
  }

  @Test
  void helloWorld() {
    Vocab v = byteLevel();
    List<String> merges = new ArrayList<>();
    merge(v, merges, "l", "l"); // 0
    merge(v, merges, "h", "e"); // 1
    merge(v, merges, "he", "ll"); // 2
    int hello = merge(v, merges, "hell", "o"); // 3
    merge(v, merges, "Ġ", "w"); // 4
    merge(v, merges, "o", "r"); // 5
    int wor = merge(v, merges, "Ġw", "or"); // 6
    Tokenizer t = tokenizer(v, merges, "gpt2");
    // Words "hello" and " world". hello: ll, he, hell, hello. " world" = Ġ w o r l d: Ġw (4) before
    // or (5), then Ġwor (6); l and d stay.
    int[] expected = {hello, wor, 'l', 'd'};
    assertThat(t.encode("hello world")).isEqualTo(expected);
    assertThat(t.decode(expected)).isEqualTo("hello world");
    assertThat(t.tokenText(wor)).isEqualTo("Ġwor");
    assertThat(t.tokenBytes(wor)).isEqualTo(" wor".getBytes());
    assertThat(t.addsSpacePrefix()).isFalse();
    assertThat(t.decode(new int[] {wor})).isEqualTo(" wor");
  }

  @Test
  void gpt2AndLlama3PatternsSplitDifferently() {
    String text = "I'm 12345 ok\n\n";
    assertThat(PreTokenizer.of(PreTokenizer.GPT2).split(text))
        .containsExactly("I", "'m", " 12345", " ok", "\n\n")
        .inOrder();
    assertThat(PreTokenizer.of(PreTokenizer.LLAMA3).split(text))
        .containsExactly("I", "'m", " ", "123", "45", " ok", "\n\n")
        .inOrder();
    // GPT-2's contractions are lower case only; Llama 3's any case.
    assertThat(PreTokenizer.of(PreTokenizer.GPT2).split("I'M"))
        .containsExactly("I", "'", "M")
        .inOrder();
    assertThat(PreTokenizer.of(PreTokenizer.LLAMA3).split("I'M"))
        .containsExactly("I", "'M")
        .inOrder();
    // Runs of spaces: all but the last space, which goes with the next word.
    assertThat(PreTokenizer.of(PreTokenizer.LLAMA3).split("a   b"))
        .containsExactly("a", "  ", " b")
        .inOrder();
    assertThat(PreTokenizer.of(PreTokenizer.GPT2).split("a   b"))
        .containsExactly("a", "  ", " b")
        .inOrder();
    // Llama 3: punctuation takes the newlines after it; a letter word takes one non-letter before
    // it.
    assertThat(PreTokenizer.of(PreTokenizer.LLAMA3).split("end.\n\n(x)\tdone"))
        .containsExactly("end", ".\n\n", "(x", ")", "\tdone")
        .inOrder();
    // Unicode white space counts as white space.
    assertThat(PreTokenizer.of(PreTokenizer.LLAMA3).split("a\u3000\u3000b"))
        .containsExactly("a", "\u3000", "\u3000b")
        .inOrder();

    // The split decides what can merge: with the merge "Ġ 1", GPT-2's word " 12345" starts with Ġ1,
    // while Llama 3 makes " " a word of its own.
    Vocab v = byteLevel();
    List<String> merges = new ArrayList<>();
    int space1 = merge(v, merges, "Ġ", "1");
    assertThat(tokenizer(v, merges, "gpt2").encode(text))
        .isEqualTo(ids(byteIds("I'm"), new int[] {space1}, byteIds("2345 ok\n\n")));
    assertThat(tokenizer(v, merges, "llama-bpe").encode(text)).isEqualTo(byteIds(text));
  }

  @Test
  void llama3PatternMatchesHuggingFacesSpelling() {
    PreTokenizer ours = PreTokenizer.of(PreTokenizer.LLAMA3);
    PreTokenizer theirs =
        PreTokenizer.of(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
    for (String sample : SAMPLES) {
      assertWithMessage("%s", sample).that(ours.split(sample)).isEqualTo(theirs.split(sample));
      assertWithMessage("%s", sample).that(String.join("", ours.split(sample))).isEqualTo(sample);
      assertWithMessage("%s", sample)
          .that(String.join("", PreTokenizer.of(PreTokenizer.GPT2).split(sample)))
          .isEqualTo(sample);
    }
  }

  @Test
  void specialTokens() {
    Vocab v = byteLevel();
    List<String> merges = new ArrayList<>();
    int hi = merge(v, merges, "h", "i");
    int begin = v.add("<|begin_of_text|>", 0, CONTROL);
    int end = v.add("<|end_of_text|>", 0, CONTROL);
    int eot = v.add("<|eot_id|>", 0, CONTROL);
    int user = v.add("<user>", 0, USER_DEFINED);
    Tokenizer t =
        Tokenizers.fromGguf(
            bpeGguf(v, merges, "llama-bpe")
                .putU32("tokenizer.ggml.bos_token_id", begin)
                .putU32("tokenizer.ggml.eos_token_id", end)
                .put("tokenizer.ggml.add_bos_token", GgufValueType.BOOL, true)
                .putString("tokenizer.chat_template", "{{ messages }}")
                .parse());
    assertThat(t.bos()).isEqualTo(OptionalInt.of(begin));
    assertThat(t.eos()).isEqualTo(OptionalInt.of(end));
    assertThat(t.eot()).isEqualTo(OptionalInt.of(eot)); // found by its text
    assertThat(t.addBosByDefault()).isTrue();
    assertThat(t.chatTemplate()).hasValue("{{ messages }}");
    assertThat(t.isSpecial(eot)).isTrue();
    assertThat(t.isSpecial(user)).isFalse();
    assertThat(t.id("<|eot_id|>")).isEqualTo(OptionalInt.of(eot));

    String text = "<|eot_id|>hi<user>hi";
    assertThat(t.encode(text, true, true)).isEqualTo(new int[] {begin, eot, hi, user, hi});
    // Not parsed: control tokens are text; user-defined tokens are matched anyway.
    assertThat(t.encode(text))
        .isEqualTo(
            ids(
                byteIds("<|"),
                byteIds("eot"),
                byteIds("_id"),
                byteIds("|>"),
                new int[] {hi, user, hi}));
    assertThat(t.decode(t.encode(text))).isEqualTo(text);
    assertThat(t.decode(new int[] {begin, eot, hi, user, hi})).isEqualTo("hi<user>hi");
    assertThat(t.decode(new int[] {begin, eot, hi, user, hi}, true))
        .isEqualTo("<|begin_of_text|>" + text);
    // An eot_token_id key wins over the guess.
    Tokenizer keyed =
        Tokenizers.fromGguf(
            bpeGguf(v, merges, "llama-bpe").putU32("tokenizer.ggml.eot_token_id", end).parse());
    assertThat(keyed.eot()).isEqualTo(OptionalInt.of(end));
    assertThat(keyed.bos()).isEqualTo(OptionalInt.empty());
    assertThat(keyed.addBosByDefault()).isFalse();
  }

  @Test
  void llama3WordsThatAreTokensSkipTheMerges() {
    Vocab v = byteLevel();
    List<String> merges = new ArrayList<>();
    int ab = merge(v, merges, "a", "b");
    int abc = v.add("abc", 0); // no merge makes it
    assertThat(tokenizer(v, merges, "llama-bpe").encode("abc")).isEqualTo(new int[] {abc});
    assertThat(tokenizer(v, merges, "gpt2").encode("abc")).isEqualTo(new int[] {ab, 'c'});
  }

  @Test
  void multiByteCharactersAreTheirBytes() {
    Vocab v = byteLevel();
    List<String> merges = new ArrayList<>();
    // 一 is E4 B8 80, written ä ¸ Ģ (0x80 is one of the 68 moved bytes: U+0122).
    assertThat(ByteLevel.encode("一".getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .isEqualTo("ä¸Ģ");
    int first = merge(v, merges, "ä", "¸");
    int whole = merge(v, merges, "ä¸", "Ģ");
    Tokenizer t = tokenizer(v, merges, "llama-bpe");
    assertThat(t.encode("一丁")).isEqualTo(new int[] {whole, first, 0x81});
    StreamingDecoder decoder = new StreamingDecoder(t, true);
    assertThat(decoder.accept(whole)).isEqualTo("一");
    assertThat(decoder.accept(first)).isEmpty();
    assertThat(decoder.accept(0x81)).isEqualTo("丁");
  }

  @Test
  void emptyText() {
    Tokenizer t = tokenizer(byteLevel(), List.of(), "llama-bpe");
    assertThat(t.encode("")).isEmpty();
    assertThat(t.decode(new int[0])).isEmpty();
  }

  @Test
  void roundTrips() {
    Vocab v = byteLevel();
    List<String> merges = new ArrayList<>();
    merge(v, merges, "Ġ", "Ġ");
    merge(v, merges, "Ġ", "t");
    merge(v, merges, "e", "r");
    merge(v, merges, "Ċ", "Ċ");
    merge(v, merges, "ĠĠ", "ĠĠ");
    merge(v, merges, "à", "¤");
    for (String pre : new String[] {"llama-bpe", "gpt2"}) {
      Tokenizer t = tokenizer(v, merges, pre);
      for (String sample : SAMPLES) {
        int[] ids = t.encode(sample);
        assertWithMessage("%s: decode(encode(%s))", pre, sample)
            .that(t.decode(ids))
            .isEqualTo(sample);
        StreamingDecoder stream = new StreamingDecoder(t, true);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
          out.append(stream.accept(id));
        }
        assertWithMessage("%s: streamed %s", pre, sample)
            .that(out.append(stream.finish()).toString())
            .isEqualTo(sample);
      }
    }
  }

  @Test
  void longWordsAreQuick() {
    Vocab v = byteLevel();
    List<String> merges = new ArrayList<>();
    merge(v, merges, "a", "a");
    merge(v, merges, "aa", "aa");
    Tokenizer t = tokenizer(v, merges, "llama-bpe");
    // One word of 200k letters: merging is O(n log n).
    String text = "a".repeat(200_001);
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
        java.time.Duration.ofSeconds(30),
        () -> {
          int[] ids = t.encode(text);
          assertThat(ids).hasLength(50_001);
          assertThat(ids[50_000]).isEqualTo('a');
          assertThat(t.decode(ids)).isEqualTo(text);
          // Long runs of white space and punctuation split without deep regex recursion.
          for (String pattern : new String[] {PreTokenizer.LLAMA3, PreTokenizer.GPT2}) {
            for (String run :
                new String[] {
                  " ".repeat(100_000) + "x", "\n \t".repeat(50_000), "!?".repeat(100_000) + "\n\n"
                }) {
              assertThat(String.join("", PreTokenizer.of(pattern).split(run))).isEqualTo(run);
            }
          }
        });
  }
}
