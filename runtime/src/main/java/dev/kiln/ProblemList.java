package dev.kiln;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Problems to report together, bounded: the first {@link #MAX_LISTED} are kept (each cut to {@link
 * #MAX_LINE_CHARS} characters), the rest only counted, so that a hostile file with a million
 * problems gives a message of a few kilobytes ({@code "... and 999980 more"}), not megabytes.
 */
public final class ProblemList {
  /** Problems listed in a message; further ones are counted. */
  public static final int MAX_LISTED = 20;

  /** Longest problem line (a name in a file can be megabytes long). */
  public static final int MAX_LINE_CHARS = 300;

  private final List<String> listed = new ArrayList<>();
  private long more;

  /** Adds a problem: kept (shortened) among the first {@link #MAX_LISTED}, otherwise counted. */
  public void add(String problem) {
    if (listed.size() < MAX_LISTED) {
      listed.add(shorten(problem, MAX_LINE_CHARS));
    } else {
      more++;
    }
  }

  public boolean isEmpty() {
    return listed.isEmpty();
  }

  /** Every problem added, listed or not. */
  public long size() {
    return listed.size() + more;
  }

  /**
   * The kept problems, one per line, each after {@code "\n "}, then {@code "\n ... and K more"} if
   * any were left out.
   */
  public String lines() {
    StringBuilder out = new StringBuilder();
    for (String line : listed) {
      out.append("\n  ").append(line);
    }
    if (more > 0) {
      out.append("\n  ... and ").append(more).append(" more");
    }
    return out.toString();
  }

  /** {@link #lines} of {@code problems}. */
  public static String lines(Collection<String> problems) {
    ProblemList list = new ProblemList();
    problems.forEach(list::add);
    return list.lines();
  }

  /**
   * {@code text} if it has at most {@code max} characters, otherwise its start and end with how
   * many characters were left out between them.
   */
  public static String shorten(String text, int max) {
    if (text.length() <= max) {
      return text;
    }
    int tail = max / 4;
    int head = max - tail;
    return text.substring(0, head)
        + "...("
        + (text.length() - head - tail)
        + " characters)..."
        + text.substring(text.length() - tail);
  }
}
