package dev.kiln.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into words before byte-level BPE, which never merges across words: Unicode
 * normalization, then regex splits in order (each match is a word, and so is each stretch between
 * matches, as Hugging Face's {@code Split} with behavior {@code Isolated} and llama.cpp do), and
 * spaces put before words (Hugging Face's ByteLevel {@code add_prefix_space}).
 * Patterns are compiled with {@link Pattern#UNICODE_CHARACTER_CLASS}, so {@code \s} is Unicode
 * white space as in the Rust and Python regex engines the patterns come from.
 */
final class PreTokenizer {
  /** GPT-2's pattern. */
  static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

  /**
   * Llama 3's (GPT-4's cl100k) pattern. The contractions are written with explicit letter cases
   * instead of {@code (?i:...)}, as llama.cpp matches them, so Unicode case folding (U+017F
   * "ſ" is a case variant of "s") plays no part.
   */
  static final String LLAMA3 = "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
      + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  /** One step: a regex split, or a space put before each word that does not start with one. */
  record Step(Pattern pattern) {
    /** Hugging Face's ByteLevel {@code add_prefix_space}. */
    static final Step PREFIX_SPACE = new Step(null);

    static Step split(String regex) {
      return new Step(compile(regex));
    }
  }

  private final Normalizer.Form normalization;
  private final List<Step> steps;

  /** {@code normalization}: null for none. */
  PreTokenizer(Normalizer.Form normalization, List<Step> steps) {
    this.normalization = normalization;
    this.steps = List.copyOf(steps);
  }

  /** Compiles a pattern the way pre-tokenizer patterns are compiled. */
  static Pattern compile(String regex) {
    return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
  }

  /** Splits by the patterns in order, without normalization. */
  static PreTokenizer of(String... regexes) {
    List<Step> steps = new ArrayList<>();
    for (String regex : regexes) {
      steps.add(Step.split(regex));
    }
    return new PreTokenizer(null, steps);
  }

  /** The words of {@code text}, in order; together they are the (normalized, prefixed) text. */
  List<String> split(String text) {
    String s = normalization == null ? text : Normalizer.normalize(text, normalization);
    List<String> words = List.of(s);
    for (Step step : steps) {
      List<String> next = new ArrayList<>();
      for (String word : words) {
        if (step.pattern() == null) {
          next.add(word.startsWith(" ") ? word : " " + word);
        } else {
          split(step.pattern(), word, next);
        }
      }
      words = next;
    }
    return words;
  }

  private static void split(Pattern pattern, String word, List<String> out) {
    Matcher m = pattern.matcher(word);
    int last = 0;
    while (m.find()) {
      if (m.end() == m.start()) {
        continue;
      }
      if (m.start() > last) {
        out.add(word.substring(last, m.start()));
      }
      out.add(word.substring(m.start(), m.end()));
      last = m.end();
    }
    if (last < word.length()) {
      out.add(word.substring(last));
    }
  }
}
