package dev.kiln.tokenizer;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.google.gson.JsonObject;
import dev.kiln.testing.SharedTokenizers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * 100k-character prompts: every pre-tokenizer pattern Kiln compiles splits them (or fails with a
 * one-line TokenizerException), never a StackOverflowError or a hang.
 */
class LongInputTest {
  private static final int LENGTH = 100_000;
  private static final Duration LIMIT = Duration.ofSeconds(20);

  /** {@code unit} repeated to at least {@link #LENGTH} characters. */
  private static String repeated(String unit) {
    return unit.repeat(LENGTH / unit.length() + 1);
  }

  private static final Map<String, String> SYNTHETIC =
      Map.of(
          "letters",
          "a",
          "spaces",
          " ",
          "newlines",
          "\n",
          "crlf",
          "\r\n",
          "digits",
          "7",
          "punctuation",
          "!?",
          "emoji",
          "\uD83D\uDE00",
          "cjk",
          "\u4e2d",
          "contractions",
          "it's ",
          "mixed",
          "Hello, wörld 42!\n\t");

  private static void splitsIntact(PreTokenizer pre, String text) {
    List<String> words = assertTimeoutPreemptively(LIMIT, () -> pre.split(text));
    assertThat(String.join("", words)).isEqualTo(text);
  }

  @Test
  void builtInPatternsSplitLongInputs() {
    for (String regex : List.of(PreTokenizer.GPT2, PreTokenizer.LLAMA3)) {
      PreTokenizer pre = PreTokenizer.of(regex);
      SYNTHETIC.values().forEach(unit -> splitsIntact(pre, repeated(unit)));
    }
  }

  @Test
  void nestedRepetitionRecursingDeeplyStillSplits() {
    // Java recurses once per repetition of these groups: a StackOverflowError on the caller's
    // stack.
    for (String regex :
        List.of("(?:\\p{L}|\\p{N})+", "(?:\\r?\\n)+", "(?:'s|\\p{L})+", "(?: ?\\p{L})+")) {
      PreTokenizer pre = PreTokenizer.of(regex);
      List<String> words =
          assertTimeoutPreemptively(
              LIMIT, () -> pre.split(repeated(regex.contains("\\n") ? "\n" : "a")));
      assertThat(words).hasSize(1);
    }
  }

  @Test
  void catastrophicBacktrackingIsStoppedWithAOneLineError() {
    // Java memoizes some nested repetition ((a+)+b is fast) but not a counted one: hours on 40
    // characters.
    PreTokenizer pre = PreTokenizer.of("(?:a+){20}b");
    String text = "a".repeat(40) + "c";
    var e =
        assertTimeoutPreemptively(
            LIMIT, () -> assertThrows(TokenizerException.class, () -> pre.split(text)));
    assertThat(e)
        .hasMessageThat()
        .isEqualTo(
            "the pre-tokenizer pattern \"(?:a+){20}b\" cannot split an input of 41"
                + " characters: it takes more than "
                + (PreTokenizer.BASE_STEPS + PreTokenizer.STEPS_PER_CHAR * 41)
                + " steps (catastrophic backtracking)");
  }

  /** The corpus's categories, each as one long prompt (its texts joined, repeated). */
  private static Map<String, String> corpusPrompts(Path root) {
    Map<String, StringBuilder> byCategory = new LinkedHashMap<>();
    for (JsonObject line : SharedTokenizers.readJsonLines(root.resolve("corpus-public.jsonl"))) {
      byCategory
          .computeIfAbsent(line.get("category").getAsString(), c -> new StringBuilder())
          .append(line.get("text").getAsString());
    }
    Map<String, String> prompts = new LinkedHashMap<>();
    byCategory.forEach(
        (category, texts) -> {
          if (!texts.isEmpty()) {
            prompts.put(category, repeated(texts.toString()).substring(0, LENGTH));
          }
        });
    return prompts;
  }

  @Test
  void realTokenizersEncodeLongPromptsOfEveryCorpusCategory(
      @org.junit.jupiter.api.io.TempDir Path temp) throws Exception {
    Path root = SharedTokenizers.requireRoot();
    Tokenizer qwen =
        SharedTokenizers.load(SharedTokenizers.model("qwen3"), temp, Tokenizers::fromHfFolder);
    Map<String, String> prompts = corpusPrompts(root);
    assertThat(prompts).isNotEmpty();
    for (var prompt : prompts.entrySet()) {
      int[] ids =
          assertTimeoutPreemptively(
              LIMIT, () -> qwen.encode(prompt.getValue(), false, true), prompt::getKey);
      assertThat(qwen.decode(ids))
          .isEqualTo(
              java.text.Normalizer.normalize(prompt.getValue(), java.text.Normalizer.Form.NFC));
    }
  }
}
