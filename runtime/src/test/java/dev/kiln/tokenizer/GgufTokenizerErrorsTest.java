package dev.kiln.tokenizer;

import static com.google.common.truth.Truth.assertThat;
import static dev.kiln.tokenizer.TokenizerFixtures.CONTROL;
import static dev.kiln.tokenizer.TokenizerFixtures.UNKNOWN;
import static dev.kiln.tokenizer.TokenizerFixtures.bpeGguf;
import static dev.kiln.tokenizer.TokenizerFixtures.byteLevel;
import static dev.kiln.tokenizer.TokenizerFixtures.merge;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.tokenizer.TokenizerFixtures.Vocab;
import dev.kiln.weights.GgufValueType;
import dev.kiln.weights.GgufWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GGUF tokenizer metadata that cannot be read: each is a TokenizerException naming the file, the
 * offset and the key.
 */
class GgufTokenizerErrorsTest {
  @TempDir Path dir;

  private static Vocab small() {
    Vocab v = new Vocab();
    v.add("<unk>", 0, UNKNOWN);
    v.add("<s>", 0, CONTROL);
    v.add("</s>", 0, CONTROL);
    v.add("▁", 0);
    v.add("a", 0);
    return v;
  }

  private static String refused(GgufWriter writer) {
    TokenizerException e =
        assertThrows(TokenizerException.class, () -> Tokenizers.fromGguf(writer.parse()));
    assertThat(e).hasMessageThat().startsWith("test.gguf");
    return e.getMessage();
  }

  private static GgufWriter base(String model) {
    return new GgufWriter()
        .putString("general.architecture", "llama")
        .putString("tokenizer.ggml.model", model);
  }

  @Test
  void noTokenizer() {
    assertThat(refused(new GgufWriter().putString("general.architecture", "llama")))
        .contains("no tokenizer.ggml.model metadata");
    assertThat(refused(base("llama"))).contains("no tokenizer.ggml.tokens metadata");
  }

  @Test
  void unknownModel() {
    String message = refused(small().gguf("bert"));
    assertThat(message).contains("(GGUF, offset ");
    assertThat(message)
        .contains("metadata tokenizer.ggml.model: \"bert\" is not a tokenizer Kiln reads");
    assertThat(refused(small().gguf("no_vocab"))).contains("carries no vocabulary");
  }

  @Test
  void wrongValueTypes() {
    assertThat(
            refused(
                base("llama")
                    .put(
                        "tokenizer.ggml.tokens",
                        GgufValueType.ARRAY,
                        new GgufWriter.Arr(GgufValueType.INT32, List.of(1, 2)))))
        .contains(
            "metadata tokenizer.ggml.tokens: expected an array of strings, found an array of INT32");
    assertThat(refused(base("llama").putString("tokenizer.ggml.tokens", "abc")))
        .contains("metadata tokenizer.ggml.tokens: expected an array, found STRING");
    assertThat(refused(small().spmGguf().putString("tokenizer.ggml.add_space_prefix", "yes")))
        .contains("metadata tokenizer.ggml.add_space_prefix: expected a bool, found STRING");
    assertThat(refused(new GgufWriter().put("tokenizer.ggml.model", GgufValueType.UINT32, 1L)))
        .contains("metadata tokenizer.ggml.model: expected a string, found UINT32");
    assertThat(
            refused(
                base("llama")
                    .put(
                        "tokenizer.ggml.tokens",
                        GgufValueType.ARRAY,
                        new GgufWriter.Arr(GgufValueType.STRING, List.of()))))
        .contains("metadata tokenizer.ggml.tokens: the vocabulary is empty");
  }

  @Test
  void arraysOfTheWrongLength() {
    Vocab v = small();
    v.scores.removeLast();
    assertThat(refused(v.spmGguf()))
        .contains("metadata tokenizer.ggml.scores: has 4 entries but tokenizer.ggml.tokens has 5");
    Vocab w = small();
    w.types.add(1);
    assertThat(refused(w.spmGguf()))
        .contains(
            "metadata tokenizer.ggml.token_type: has 6 entries but tokenizer.ggml.tokens has 5");
  }

  @Test
  void badTokenTypes() {
    Vocab v = small();
    v.types.set(4, 9);
    assertThat(refused(v.spmGguf()))
        .contains("token 4 (\"a\") has type 9; GGUF token types are 0 to 6");
    Vocab w = small();
    w.types.set(4, TokenType.BYTE.ggufId());
    assertThat(refused(w.spmGguf()))
        .contains("token 4 is a byte token but its text \"a\" is not <0xNN>");
  }

  @Test
  void nanScore() {
    Vocab v = small();
    v.scores.set(3, Float.NaN);
    assertThat(refused(v.spmGguf()))
        .contains("metadata tokenizer.ggml.scores: score of token 3 is NaN");
  }

  @Test
  void specialIdsOutsideTheVocabulary() {
    assertThat(refused(small().spmGguf().putU32("tokenizer.ggml.eot_token_id", 5)))
        .contains(
            "metadata tokenizer.ggml.eot_token_id: token id 5 is outside the vocabulary of 5 tokens");
    assertThat(
            refused(
                small().gguf("llama").put("tokenizer.ggml.bos_token_id", GgufValueType.INT32, -7)))
        .contains("metadata tokenizer.ggml.bos_token_id: token id -7 is outside");
  }

  @Test
  void byteLevelWithoutMergesOrWithBadOnes() {
    Vocab v = byteLevel();
    assertThat(refused(v.gguf("gpt2"))).contains("no tokenizer.ggml.merges metadata");
    List<String> merges = new ArrayList<>();
    merge(v, merges, "a", "b");
    merges.add("ab");
    assertThat(refused(bpeGguf(v, merges, "llama-bpe")))
        .contains(
            "metadata tokenizer.ggml.merges: entry 1 \"ab\" is not two tokens separated by a space");
    merges.set(1, "ab Ω");
    assertThat(refused(bpeGguf(v, merges, "llama-bpe")))
        .contains(
            "metadata tokenizer.ggml.merges: entry 1 \"ab Ω\": token \"Ω\" is not in the vocabulary");
    merges.set(1, "a a");
    assertThat(refused(bpeGguf(v, merges, "llama-bpe")))
        .contains("token \"aa\" is not in the vocabulary");
  }

  @Test
  void unknownPreTokenizer() {
    String message = refused(bpeGguf(byteLevel(), List.of(), "qwen2"));
    assertThat(message)
        .contains("metadata tokenizer.ggml.pre: pre-tokenizer \"qwen2\" is not one Kiln knows");
  }

  @Test
  void noBosToAdd() {
    Tokenizer t = Tokenizers.fromGguf(bpeGguf(byteLevel(), List.of(), "llama-bpe").parse());
    assertThat(assertThrows(TokenizerException.class, () -> t.encode("x", true)))
        .hasMessageThat()
        .contains("no BOS token");
  }

  @Test
  void fileThatIsNotGguf() throws IOException {
    Path file = java.nio.file.Files.write(dir.resolve("x.gguf"), new byte[] {1, 2, 3, 4, 5});
    assertThat(assertThrows(TokenizerException.class, () -> Tokenizers.fromGguf(file)))
        .hasMessageThat()
        .contains("not a GGUF file");
  }
}
