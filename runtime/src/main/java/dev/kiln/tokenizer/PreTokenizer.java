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
 * spaces put before words (Hugging Face's ByteLevel {@code add_prefix_space}). Patterns are
 * compiled with {@link Pattern#UNICODE_CHARACTER_CLASS}, so {@code \s} is Unicode white space as in
 * the Rust and Python regex engines the patterns come from.
 */
final class PreTokenizer {
  /** GPT-2's pattern. */
  static final String GPT2 =
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

  /**
   * Llama 3's (GPT-4's cl100k) pattern. The contractions are written with explicit letter cases
   * instead of {@code (?i:...)}, as llama.cpp matches them, so Unicode case folding (U+017F "ſ" is
   * a case variant of "s") plays no part.
   */
  static final String LLAMA3 =
      "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
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

  /**
   * Stack of the thread that retries a split whose matching recursed too deep for the caller's
   * stack.
   */
  static final long DEEP_STACK_BYTES = 512L << 20;

  /**
   * Regex steps (characters read) allowed per split: a base, plus this many per input character.
   */
  static final long BASE_STEPS = 20_000_000L;

  static final long STEPS_PER_CHAR = 2_000L;

  /**
   * Splits {@code word} by {@code pattern}, robustly on long input: Java's regex engine recurses
   * once per repetition of a group such as {@code (?:\p{L}|\p{N})+} (a stack overflow on some 10k
   * characters), so a match that overflows the caller's stack is retried on a thread with a {@link
   * #DEEP_STACK_BYTES} stack (virtual memory, touched only as deep as used); and a pattern that
   * backtracks catastrophically is stopped after a bounded number of steps. Both failures are a
   * one-line {@link TokenizerException} naming the pattern and the input's length.
   */
  private static void split(Pattern pattern, String word, List<String> out) {
    List<String> words = new ArrayList<>();
    try {
      splitBounded(pattern, word, words);
    } catch (StackOverflowError e) {
      words = splitOnDeepStack(pattern, word);
    }
    out.addAll(words);
  }

  private static List<String> splitOnDeepStack(Pattern pattern, String word) {
    List<String> words = new ArrayList<>();
    Throwable[] failure = {null};
    Thread thread =
        new Thread(
            null,
            () -> {
              try {
                splitBounded(pattern, word, words);
              } catch (Throwable t) {
                failure[0] = t;
              }
            },
            "kiln-pre-tokenizer",
            DEEP_STACK_BYTES);
    thread.setDaemon(true);
    thread.start();
    boolean interrupted = false;
    while (true) {
      try {
        thread.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (failure[0] instanceof StackOverflowError) {
      throw tooLong(
          pattern, word, "its matching recurses too deeply (nested repetition); shorten the input");
    }
    if (failure[0] instanceof RuntimeException e) {
      throw e;
    }
    if (failure[0] instanceof Error e) {
      throw e;
    }
    return words;
  }

  private static void splitBounded(Pattern pattern, String word, List<String> out) {
    Budget text = new Budget(word, BASE_STEPS + STEPS_PER_CHAR * word.length());
    Matcher m = pattern.matcher(text);
    int last = 0;
    try {
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
    } catch (Budget.Exhausted e) {
      throw tooLong(
          pattern, word, "it takes more than " + text.limit + " steps (catastrophic backtracking)");
    }
    if (last < word.length()) {
      out.add(word.substring(last));
    }
  }

  private static TokenizerException tooLong(Pattern pattern, String word, String why) {
    String shown =
        pattern.pattern().length() > 120
            ? pattern.pattern().substring(0, 117) + "..."
            : pattern.pattern();
    return new TokenizerException(
        "the pre-tokenizer pattern \""
            + shown
            + "\" cannot split an input of "
            + word.length()
            + " characters: "
            + why);
  }

  /** The text, counting the characters the regex engine reads, up to a limit. */
  private static final class Budget implements CharSequence {
    /** Thrown when the limit is reached (no stack trace: it is caught at once). */
    static final class Exhausted extends RuntimeException {
      private static final long serialVersionUID = 1L;

      Exhausted() {
        super(null, null, false, false);
      }
    }

    private final String text;
    final long limit;
    private long steps;

    Budget(String text, long limit) {
      this.text = text;
      this.limit = limit;
    }

    @Override
    public char charAt(int index) {
      if (++steps > limit) {
        throw new Exhausted();
      }
      return text.charAt(index);
    }

    @Override
    public int length() {
      return text.length();
    }

    @Override
    public CharSequence subSequence(int start, int end) {
      return text.subSequence(start, end);
    }

    @Override
    public String toString() {
      return text;
    }
  }
}
