package dev.kiln.tokenizer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static dev.kiln.tokenizer.TokenizerFixtures.CONTROL;
import static dev.kiln.tokenizer.TokenizerFixtures.UNKNOWN;

import dev.kiln.tokenizer.TokenizerFixtures.Vocab;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Bytes split over tokens, and invalid UTF-8, fed one token at a time. */
class StreamingDecoderTest {
  private static final int BYTE0 = 3;
  private static final Vocab V = vocab();
  private static final Tokenizer T = V.spm();

  private static Vocab vocab() {
    Vocab v = new Vocab();
    v.add("<unk>", 0, UNKNOWN);
    v.add("<s>", 0, CONTROL);
    v.add("</s>", 0, CONTROL);
    v.addByteTokens();
    v.add("▁", 0);
    v.add("▁hi", 0);
    v.add("é", 0);
    return v;
  }

  private static int b(int value) {
    return BYTE0 + value;
  }

  /** What each of {@code ids} gives when fed in turn, then what finish gives. */
  private static List<String> feed(int... ids) {
    StreamingDecoder decoder = new StreamingDecoder(T, false);
    List<String> out = new ArrayList<>();
    for (int id : ids) {
      out.add(decoder.accept(id));
    }
    out.add(decoder.finish());
    return out;
  }

  @Test
  void threeByteCharacterSplitOverTokens() {
    // 一 U+4E00 is E4 B8 80.
    assertThat(feed(b(0xE4), b(0xB8), b(0x80))).containsExactly("", "", "一", "").inOrder();
  }

  @Test
  void fourByteCharacterSplitOverTokens() {
    // 😀 U+1F600 is F0 9F 98 80; then ASCII.
    assertThat(feed(b(0xF0), b(0x9F), b(0x98), b(0x80), b('!')))
        .containsExactly("", "", "", "😀", "!", "")
        .inOrder();
  }

  @Test
  void pendingBytesWaitOverControlTokens() {
    // é (C3 A9) split by an EOS that renders nothing.
    assertThat(feed(b(0xC3), 2, b(0xA9))).containsExactly("", "", "é", "").inOrder();
  }

  @Test
  void loneContinuationBytesAreReplacedAtOnce() {
    assertThat(feed(b(0x80), b('a'), b(0xBF)))
        .containsExactly("\uFFFD", "a", "\uFFFD", "")
        .inOrder();
  }

  @Test
  void bytesThatNeverOccurInUtf8AreReplacedAtOnce() {
    assertThat(feed(b(0xC0), b(0xC1), b(0xF5), b(0xFF)))
        .containsExactly("\uFFFD", "\uFFFD", "\uFFFD", "\uFFFD", "")
        .inOrder();
  }

  @Test
  void aCharacterCutShortIsReplacedWhenTheNextByteCannotContinueIt() {
    // E4 B8 then 'a': the two held bytes are one invalid part, and 'a' stands.
    assertThat(feed(b(0xE4), b(0xB8), b('a'))).containsExactly("", "", "\uFFFDa", "").inOrder();
    // E4 then a new start byte C3 A9.
    assertThat(feed(b(0xE4), b(0xC3), b(0xA9))).containsExactly("", "\uFFFD", "é", "").inOrder();
  }

  @Test
  void overlongFormsSurrogatesAndCodePointsAboveTheMaximumAreInvalid() {
    // E0 80: overlong, so E0 alone is invalid and 80 is a lone continuation byte.
    assertThat(String.join("", feed(b(0xE0), b(0x80), b(0x80)))).isEqualTo("\uFFFD\uFFFD\uFFFD");
    // ED A0 80 would be the surrogate U+D800.
    assertThat(String.join("", feed(b(0xED), b(0xA0), b(0x80)))).isEqualTo("\uFFFD\uFFFD\uFFFD");
    // F4 90 80 80 would be above U+10FFFF.
    assertThat(String.join("", feed(b(0xF4), b(0x90), b(0x80), b(0x80))))
        .isEqualTo("\uFFFD\uFFFD\uFFFD\uFFFD");
    // F0 80: overlong four-byte form.
    assertThat(String.join("", feed(b(0xF0), b(0x80)))).isEqualTo("\uFFFD\uFFFD");
    // The largest valid ones.
    assertThat(String.join("", feed(b(0xF4), b(0x8F), b(0xBF), b(0xBF))))
        .isEqualTo(new String(Character.toChars(0x10FFFF)));
    assertThat(String.join("", feed(b(0xED), b(0x9F), b(0xBF)))).isEqualTo("\uD7FF");
  }

  @Test
  void anIncompleteCharacterAtTheEndIsOneReplacement() {
    assertThat(feed(b('x'), b(0xF0), b(0x9F), b(0x98)))
        .containsExactly("x", "", "", "", "\uFFFD")
        .inOrder();
    StreamingDecoder decoder = new StreamingDecoder(T, false);
    decoder.accept(b(0xE4));
    assertThat(decoder.hasPending()).isTrue();
    assertThat(decoder.finish()).isEqualTo("\uFFFD");
    assertThat(decoder.hasPending()).isFalse();
    assertThat(decoder.finish()).isEmpty();
  }

  @Test
  void multiByteTokensAndByteTokensMix() {
    // "é" is a token of its own (two bytes); then a split "é".
    assertThat(feed(V.id("é"), b(0xC3), b(0xA9))).containsExactly("é", "", "é", "").inOrder();
  }

  @Test
  void spacePrefixAfterBosOnly() {
    StreamingDecoder fresh = new StreamingDecoder(T, true);
    assertThat(fresh.accept(V.id("▁hi"))).isEqualTo("hi");
    assertThat(fresh.accept(V.id("▁hi"))).isEqualTo(" hi");
    assertThat(fresh.accept(1)).isEmpty();
    assertThat(fresh.accept(V.id("▁hi"))).isEqualTo("hi");
    StreamingDecoder rendering = new StreamingDecoder(T, false, true);
    assertThat(rendering.accept(1, V.id("▁hi"), 2)).isEqualTo("<s>hi</s>");
    assertThat(rendering.accept(V.id("▁hi"))).isEqualTo(" hi");
  }

  /**
   * Unicode's table of well-formed UTF-8 byte sequences (Table 3-7): per row, the range of each
   * byte.
   */
  private static final int[][][] WELL_FORMED = {
    {{0x00, 0x7F}},
    {{0xC2, 0xDF}, {0x80, 0xBF}},
    {{0xE0, 0xE0}, {0xA0, 0xBF}, {0x80, 0xBF}},
    {{0xE1, 0xEC}, {0x80, 0xBF}, {0x80, 0xBF}},
    {{0xED, 0xED}, {0x80, 0x9F}, {0x80, 0xBF}},
    {{0xEE, 0xEF}, {0x80, 0xBF}, {0x80, 0xBF}},
    {{0xF0, 0xF0}, {0x90, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}},
    {{0xF1, 0xF3}, {0x80, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}},
    {{0xF4, 0xF4}, {0x80, 0x8F}, {0x80, 0xBF}, {0x80, 0xBF}},
  };

  /**
   * The text of {@code bytes} with one U+FFFD per maximal subpart of an ill-formed sequence
   * (Unicode's recommended practice, which Python follows; Java's own decoder differs in corners,
   * e.g. it gives one U+FFFD for ED B0 at the end of input where the practice gives two).
   */
  private static String reference(byte[] bytes) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    while (i < bytes.length) {
      int lead = bytes[i] & 0xff;
      int[][] row = null;
      for (int[][] r : WELL_FORMED) {
        if (lead >= r[0][0] && lead <= r[0][1]) {
          row = r;
        }
      }
      if (row == null) {
        out.append('\uFFFD');
        i++;
        continue;
      }
      int k = 1;
      while (k < row.length
          && i + k < bytes.length
          && (bytes[i + k] & 0xff) >= row[k][0]
          && (bytes[i + k] & 0xff) <= row[k][1]) {
        k++;
      }
      if (k == row.length) {
        out.append(new String(bytes, i, k, StandardCharsets.UTF_8));
      } else {
        out.append('\uFFFD');
      }
      i += k;
    }
    return out.toString();
  }

  @Test
  void referenceDecoderFollowsTheStandard() {
    // The cases Python's decoder gives, for the oracle itself.
    assertThat(
            reference(
                new byte[] {0x41, (byte) 0xC2, (byte) 0xF1, (byte) 0xC0, (byte) 0xED, (byte) 0xB0}))
        .isEqualTo("A\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD");
    assertThat(reference(new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0x98})).isEqualTo("\uFFFD");
    assertThat(reference("añ一😀".getBytes(StandardCharsets.UTF_8))).isEqualTo("añ一😀");
  }

  @Test
  void agreesWithTheStandardOnRandomBytes() {
    SplittableRandom random = new SplittableRandom(11);
    int[] interesting = {
      0x00, 0x20, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
      0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF
    };
    for (int trial = 0; trial < 3000; trial++) {
      byte[] bytes = new byte[random.nextInt(1, 12)];
      for (int i = 0; i < bytes.length; i++) {
        // Mostly bytes at the edges of UTF-8's ranges.
        bytes[i] =
            (byte)
                (random.nextInt(4) == 0
                    ? random.nextInt(256)
                    : interesting[random.nextInt(interesting.length)]);
      }
      int[] ids = new int[bytes.length];
      for (int i = 0; i < bytes.length; i++) {
        ids[i] = b(bytes[i] & 0xff);
      }
      String expected = reference(bytes);
      assertWithMessage("bytes %s", java.util.HexFormat.ofDelimiter(" ").formatHex(bytes))
          .that(String.join("", feed(ids)))
          .isEqualTo(expected);
      assertWithMessage("decode of bytes %s", java.util.HexFormat.ofDelimiter(" ").formatHex(bytes))
          .that(T.decode(ids))
          .isEqualTo(expected);
    }
  }

  @Test
  void validTextSplitAnywhereComesBackWhole() {
    String text = "añ一😀\u0000 ü👩‍👩‍👧‍👦 क्ष";
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int[] ids = new int[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      ids[i] = b(bytes[i] & 0xff);
    }
    StreamingDecoder decoder = new StreamingDecoder(T, false);
    StringBuilder out = new StringBuilder();
    for (int id : ids) {
      String piece = decoder.accept(id);
      // Never half a surrogate pair, never a replacement character.
      assertThat(piece).doesNotContain("\uFFFD");
      if (!piece.isEmpty()) {
        assertThat(Character.isHighSurrogate(piece.charAt(piece.length() - 1))).isFalse();
      }
      out.append(piece);
    }
    assertThat(decoder.finish()).isEmpty();
    assertThat(out.toString()).isEqualTo(text);
  }
}
