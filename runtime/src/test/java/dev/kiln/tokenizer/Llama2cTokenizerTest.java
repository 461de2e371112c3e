package dev.kiln.tokenizer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static dev.kiln.tokenizer.TokenizerFixtures.CONTROL;
import static dev.kiln.tokenizer.TokenizerFixtures.SAMPLES;
import static dev.kiln.tokenizer.TokenizerFixtures.UNKNOWN;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.tokenizer.TokenizerFixtures.Vocab;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** llama2.c {@code tokenizer.bin} files: run.c's encoding, and damaged files. */
class Llama2cTokenizerTest {
  @TempDir Path dir;

  /** SentencePieceTokenizerTest's vocabulary, with spaces as llama2.c stores them ("▁" as " "). */
  private static Vocab vocab(boolean llama2c) {
    String space = llama2c ? " " : "▁";
    Vocab v = new Vocab();
    v.add("<unk>", 0, UNKNOWN);
    v.add("<s>", 0, CONTROL);
    v.add("</s>", 0, CONTROL);
    v.addByteTokens();
    v.add(space, -1);
    v.add("a", -2);
    v.add("b", -2);
    v.add("c", -2);
    v.add("ab", -5);
    v.add("bc", -1);
    v.add(space + "a", -3);
    v.add("abc", -2);
    v.add("aa", -4);
    v.add(space + space, -6);
    return v;
  }

  private Path write(byte[] bytes) throws IOException {
    return Files.write(dir.resolve("tokenizer.bin"), bytes);
  }

  @Test
  void encodesAsRunCDoes() throws IOException {
    Vocab v = vocab(true);
    Tokenizer t = Tokenizers.fromLlama2c(write(v.llama2c()));
    assertThat(t.vocabSize()).isEqualTo(v.tokens.size());
    assertThat(t.bos()).isEqualTo(OptionalInt.of(1));
    assertThat(t.eos()).isEqualTo(OptionalInt.of(2));
    assertThat(t.unk()).isEqualTo(OptionalInt.of(0));
    assertThat(t.addBosByDefault()).isTrue();
    assertThat(t.addsSpacePrefix()).isTrue();
    // The dummy prefix " " then merges by score: bc, abc; " abc" is no token.
    assertThat(t.encode("abc", true)).isEqualTo(new int[] {1, v.id(" "), v.id("abc")});
    // "  a" with the prefix is "   a": " a" (-3) merges before "  " (-6), then "  " merges.
    assertThat(t.encode("  a")).isEqualTo(new int[] {v.id("  "), v.id(" a")});
    // Byte fallback: € is E2 82 AC, the tokens 3 + byte.
    assertThat(t.encode("€")).isEqualTo(new int[] {v.id(" "), 3 + 0xE2, 3 + 0x82, 3 + 0xAC});
    assertThat(t.tokenType(3 + 0xE2)).isEqualTo(TokenType.BYTE);
    // Decoding drops the space after BOS (and at the start).
    assertThat(t.decode(new int[] {1, v.id(" a"), v.id("bc")})).isEqualTo("abc");
    assertThat(new StreamingDecoder(t, false).accept(v.id(" a"))).isEqualTo(" a");
  }

  @Test
  void agreesWithTheSameVocabularyFromGguf() throws IOException {
    Tokenizer llama2c = Tokenizers.fromLlama2c(write(vocab(true).llama2c()));
    Tokenizer gguf = vocab(false).spm();
    for (String sample : SAMPLES) {
      assertWithMessage("%s", sample)
          .that(llama2c.encode(sample, true))
          .isEqualTo(gguf.encode(sample, true));
      assertWithMessage("%s", sample)
          .that(llama2c.decode(llama2c.encode(sample, true)))
          .isEqualTo(sample);
      assertWithMessage("%s", sample)
          .that(llama2c.decode(llama2c.encode(sample)))
          .isEqualTo(sample);
    }
  }

  @Test
  void expectedVocabularySize() throws IOException {
    Vocab v = vocab(true);
    Path file = write(v.llama2c());
    int n = v.tokens.size();
    assertThat(Tokenizers.fromLlama2c(file, n).vocabSize()).isEqualTo(n);
    assertThat(assertThrows(TokenizerException.class, () -> Tokenizers.fromLlama2c(file, n + 1)))
        .hasMessageThat()
        .contains(
            "ends after " + n + " tokens but the checkpoint states a vocabulary of " + (n + 1));
    assertThat(assertThrows(TokenizerException.class, () -> Tokenizers.fromLlama2c(file, n - 1)))
        .hasMessageThat()
        .contains("follow the " + (n - 1) + " tokens the checkpoint states");
  }

  @Test
  void tokensThatAreNotUtf8DecodeToTheirBytes() throws IOException {
    Vocab v = vocab(true);
    byte[] bytes = v.llama2c();
    // Replace the last token ("  ", 2 bytes) by the bytes C3 28, which are not UTF-8.
    bytes[bytes.length - 2] = (byte) 0xC3;
    bytes[bytes.length - 1] = 0x28;
    Tokenizer t = Tokenizers.fromLlama2c(write(bytes));
    int last = v.tokens.size() - 1;
    assertThat(t.tokenType(last)).isEqualTo(TokenType.UNUSED);
    assertThat(t.tokenBytes(last)).isEqualTo(new byte[] {(byte) 0xC3, 0x28});
    assertThat(t.decode(new int[] {v.id("a"), last})).isEqualTo("a\uFFFD(");
  }

  private static byte[] header(int maxLength, Object... tokens) {
    ByteBuffer out = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN).putInt(maxLength);
    for (int i = 0; i < tokens.length; i += 3) {
      byte[] text = ((String) tokens[i + 2]).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      out.putFloat((Float) tokens[i]).putInt((Integer) tokens[i + 1]).put(text);
    }
    return Arrays.copyOf(out.array(), out.position());
  }

  @Test
  void damagedFiles() throws IOException {
    assertThat(
            assertThrows(
                TokenizerException.class, () -> Tokenizers.fromLlama2c(dir.resolve("missing.bin"))))
        .hasMessageThat()
        .contains("no such file");
    assertThat(
            assertThrows(
                TokenizerException.class, () -> Tokenizers.fromLlama2c(write(new byte[] {1, 0}))))
        .hasMessageThat()
        .contains("too short for max_token_length");
    assertThat(
            assertThrows(TokenizerException.class, () -> Tokenizers.fromLlama2c(write(header(-1)))))
        .hasMessageThat()
        .contains("offset 0): max_token_length is -1");
    byte[] negative = header(5, 0f, 5, "<unk>", 0f, 3, "<s>", 0f, -4, "");
    assertThat(
            assertThrows(TokenizerException.class, () -> Tokenizers.fromLlama2c(write(negative))))
        .hasMessageThat()
        .contains("offset 32): token 2: length -4 is not between 0 and max_token_length 5");
    byte[] tooLong = header(3, 0f, 5, "<unk>");
    assertThat(assertThrows(TokenizerException.class, () -> Tokenizers.fromLlama2c(write(tooLong))))
        .hasMessageThat()
        .contains("token 0: length 5 is not between 0 and max_token_length 3");
    byte[] nan = header(5, 0f, 5, "<unk>", Float.NaN, 3, "<s>");
    assertThat(assertThrows(TokenizerException.class, () -> Tokenizers.fromLlama2c(write(nan))))
        .hasMessageThat()
        .contains("offset 17): token 1: score is NaN");
    byte[] two = header(5, 0f, 5, "<unk>", 0f, 3, "<s>");
    assertThat(assertThrows(TokenizerException.class, () -> Tokenizers.fromLlama2c(write(two))))
        .hasMessageThat()
        .contains("holds 2 tokens");
  }

  @Test
  void cutAtEveryLength() throws IOException {
    byte[] bytes = vocab(true).llama2c();
    // Token boundaries: where a file cut there is whole (it just has fewer tokens).
    java.util.Set<Integer> boundaries = new java.util.HashSet<>();
    ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    in.position(4);
    int count = 0;
    while (in.hasRemaining()) {
      in.getFloat();
      int length = in.getInt();
      in.position(in.position() + length);
      if (++count >= 3) {
        boundaries.add(in.position());
      }
    }
    for (int length = 0; length < bytes.length; length++) {
      byte[] cut = Arrays.copyOf(bytes, length);
      if (boundaries.contains(length)) {
        assertThat(Llama2cTokenizerReader.parse("cut", cut, -1).vocabSize()).isAtLeast(3);
      } else {
        int at = length;
        assertWithMessage("cut at %s", at)
            .that(
                assertThrows(
                    TokenizerException.class, () -> Llama2cTokenizerReader.parse("cut", cut, -1)))
            .hasMessageThat()
            .contains("cut (llama2.c tokenizer, offset");
      }
    }
  }
}
