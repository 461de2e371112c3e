package dev.kiln;

import static com.google.common.truth.Truth.assertThat;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ProblemListTest {
  @Test
  void listsAllWhenFew() {
    assertThat(ProblemList.lines(List.of("a", "b"))).isEqualTo("\n  a\n  b");
  }

  @Test
  void keepsTheFirstAndCountsTheRest() {
    var list = new ProblemList();
    IntStream.range(0, 300_000).forEach(i -> list.add("problem " + i));
    assertThat(list.size()).isEqualTo(300_000);
    String lines = list.lines();
    assertThat(lines).startsWith("\n  problem 0\n  problem 1\n");
    assertThat(lines).endsWith("\n  problem 19\n  ... and 299980 more");
  }

  @Test
  void shortensLongLines() {
    String line = ProblemList.lines(List.of("y".repeat(1_000_000))).substring(3);
    assertThat(line.length()).isLessThan(ProblemList.MAX_LINE_CHARS + 40);
    assertThat(line).contains("...(999700 characters)...");
  }
}
