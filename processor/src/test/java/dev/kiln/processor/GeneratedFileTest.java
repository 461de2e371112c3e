package dev.kiln.processor;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import dev.kiln.processor.backend.GeneratedFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The formatting of generated sources: long lines broken where Java allows, nothing else changed.
 */
class GeneratedFileTest {
  @Test
  void longCallBreaksAfterOutermostCommas() {
    String line =
        "    VectorKernels.rmsNorm(keyCache, rows.cacheOffset(r) + head * HEAD_DIM, kNorm, keyCache,"
            + " rows.cacheOffset(r) + head * HEAD_DIM, HEAD_DIM, RMS_NORM_EPS, 0f);";
    List<String> lines = GeneratedFile.format(line).lines().toList();

    assertThat(lines.size()).isGreaterThan(1);
    lines.forEach(l -> assertThat(l.length()).isAtMost(GeneratedFile.LINE_LIMIT));
    assertThat(lines.get(1)).startsWith("        ");
    assertThat(String.join(" ", lines.stream().map(String::strip).toList()))
        .isEqualTo(line.strip());
  }

  @Test
  void stringLiteralsAndShortLinesStayWhole() {
    String literal = "\"" + "a, b + c, ".repeat(12) + "\"";
    String source = "class A {\n  String s = call(" + literal + ", " + literal + ");\n}\n";
    String formatted = GeneratedFile.format(source);

    assertThat(formatted).contains(literal);
    assertThat(formatted).startsWith("class A {\n");
    assertThat(formatted).endsWith("\n}\n");
  }

  @Test
  void javadocFlowsIntoItsParagraph() {
    String source =
        "  /**\n   * "
            + "word ".repeat(30).strip()
            + "\n   * next line\n   *\n   * <p>Other.\n   */\n";
    String formatted = GeneratedFile.format(source);

    formatted.lines().forEach(l -> assertThat(l.length()).isAtMost(GeneratedFile.LINE_LIMIT));
    assertThat(formatted).contains(" word next line\n   *\n   * <p>Other.\n");
  }

  /**
   * The golden files are formatted output: formatting them again changes nothing, and lines are
   * short.
   */
  @Test
  void goldenFilesAreFormatted() throws IOException {
    try (Stream<Path> files = Files.list(GoldenSourceTest.goldenDirectory())) {
      for (Path file : files.toList()) {
        String source = Files.readString(file);
        assertWithMessage("%s formatted again", file)
            .that(GeneratedFile.format(source))
            .isEqualTo(source);
        source
            .lines()
            .forEach(l -> assertWithMessage("line of %s", file).that(l.length()).isAtMost(120));
      }
    }
  }
}
