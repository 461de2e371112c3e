package dev.kiln.examples;

import static com.google.common.truth.Truth.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The README's main demo runs and shows what it claims. */
class DemoTest {
  @Test
  void seedLlamaGeneratesTheSameTokensWithAndWithoutCache() {
    var decoder = SeedLlamaDecoder.random(SeedLlamaDemo.WEIGHT_SEED);
    int[] prompt = {12, 81, 92, 52, 65};
    int[] without = SeedLlamaDemo.generateWithoutCache(decoder, prompt, 24);
    int[] with = SeedLlamaDemo.generateWithCache(decoder, prompt, 24);
    assertThat(with).isEqualTo(without);
  }

  @Test
  void demosPrintTheSeedShapesAndIdenticalTokens() {
    String out = capture(() -> Demos.main(new String[0]));
    assertThat(out).contains("logits shape (1, 5, 100)");
    assertThat(out).contains("logits shape (1, 7, 100)");
    assertThat(out).contains("with cache");
    assertThat(out).doesNotContain("DIFFERENT");
    assertThat(out).contains("speedup");
    assertThat(out).contains("K shape: (4, 10, 128)");
    assertThat(out).contains("K shape: (4, 13, 128)");
    assertThat(out).contains("scores shape: (4, 10, 10)");
    assertThat(out).contains("scores shape: (4, 1, 11)");
    assertThat(out).contains("attention output shape: (4, 1, 128)");
  }

  private static String capture(Runnable action) {
    PrintStream original = System.out;
    var buffer = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
    try {
      action.run();
    } finally {
      System.setOut(original);
    }
    return buffer.toString(StandardCharsets.UTF_8);
  }
}
