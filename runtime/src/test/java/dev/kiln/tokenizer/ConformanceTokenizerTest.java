package dev.kiln.tokenizer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static dev.kiln.tokenizer.TokenizerFixtures.CONTROL;
import static dev.kiln.tokenizer.TokenizerFixtures.UNKNOWN;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.testing.Golden;
import dev.kiln.testing.SharedConformance;
import dev.kiln.tokenizer.TokenizerFixtures.Vocab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * The conformance models' vocabulary: 0 {@code <unk>}, 1 {@code <s>}, 2 {@code </s>}, 3 "▁" (" " in
 * llama2.c), and token i >= 4 the character U+4E00 + (i - 4), with zero scores. Their golden prompt
 * {@code [1, 3, x...]} is BOS then the encoding of the text of the x: the space prefix is token 3.
 * A GGUF file with that vocabulary is generated here; the shared files are checked when the build
 * names them with {@code -Dkiln.conformance=DIR}.
 */
class ConformanceTokenizerTest {
  /** The character of token {@code id} (>= 4). */
  private static String character(int id) {
    int cp = 0x4E00 + (id - 4);
    if (cp >= 0xD800) {
      cp += 0x800; // skip the surrogates (never reached by vocabularies of these sizes)
    }
    return Character.toString(cp);
  }

  private static Vocab vocab(int size, String space) {
    Vocab v = new Vocab();
    v.add("<unk>", 0, UNKNOWN);
    v.add("<s>", 0, CONTROL);
    v.add("</s>", 0, CONTROL);
    v.add(space, 0);
    for (int id = 4; id < size; id++) {
      v.add(character(id), 0);
    }
    return v;
  }

  /**
   * The text the prompt stands for, and checks that the tokenizer makes the prompt of it and back.
   */
  private static void checkPrompt(String what, Tokenizer t, int[] prompt) {
    assertWithMessage("%s: prompt starts with BOS and the prefix", what)
        .that(new int[] {prompt[0], prompt[1]})
        .isEqualTo(new int[] {1, 3});
    StringBuilder text = new StringBuilder();
    for (int i = 2; i < prompt.length; i++) {
      assertWithMessage("%s: prompt[%s]", what, i).that(prompt[i]).isAtLeast(4);
      text.append(character(prompt[i]));
    }
    assertWithMessage("%s: encode(%s, bos)", what, text)
        .that(t.encode(text.toString(), true))
        .isEqualTo(prompt);
    assertWithMessage("%s: decode", what).that(t.decode(prompt)).isEqualTo(text.toString());
    assertThat(t.bos()).isEqualTo(OptionalInt.of(1));
    assertThat(t.eos()).isEqualTo(OptionalInt.of(2));
    assertThat(t.unk()).isEqualTo(OptionalInt.of(0));
    // Every token's text: the characters one by one, and all of them at once.
    StringBuilder all = new StringBuilder();
    for (int id = 4; id < t.vocabSize(); id++) {
      assertWithMessage("%s: token %s", what, id)
          .that(t.encode(character(id)))
          .isEqualTo(new int[] {3, id});
      all.append(character(id));
    }
    int[] ids = t.encode(all.toString());
    assertThat(ids).hasLength(t.vocabSize() - 3);
    assertThat(t.decode(ids)).isEqualTo(all.toString());
    // A character outside the vocabulary: no byte tokens, so the unknown token.
    assertThat(t.encode("a")).isEqualTo(new int[] {3, 0});
  }

  @Test
  void generatedGgufWithTheConformanceVocabulary() {
    Tokenizer t = vocab(64, "▁").spm();
    checkPrompt("generated tiny", t, new int[] {1, 3, 15, 52, 29, 6, 43, 20});
    assertThat(t.encode("丁")).isEqualTo(new int[] {3, 5});
  }

  @Test
  void generatedLlama2cWithTheConformanceVocabulary() throws IOException {
    Path file = Files.createTempFile("tokenizer", ".bin");
    try {
      Files.write(file, vocab(100, " ").llama2c());
      checkPrompt(
          "generated llama2c",
          Tokenizers.fromLlama2c(file, 100),
          new int[] {1, 3, 4, 99, 50, 5, 6, 7});
    } finally {
      Files.delete(file);
    }
  }

  @Test
  void sharedConformanceFiles() throws IOException {
    for (String model : SharedConformance.LLAMA_MODELS) {
      Path dir = SharedConformance.LLAMA_GGUF.model(model);
      JsonObject golden = Golden.json(dir);
      JsonArray promptJson = golden.getAsJsonArray("prompt");
      int[] prompt = new int[promptJson.size()];
      for (int i = 0; i < prompt.length; i++) {
        prompt[i] = promptJson.get(i).getAsInt();
      }
      int vocabSize = golden.getAsJsonObject("config").get("vocab_size").getAsInt();
      for (String gguf : new String[] {"gguf/model-f32.gguf", "gguf/model-f16.gguf"}) {
        Tokenizer t = Tokenizers.fromGguf(dir.resolve(gguf));
        assertWithMessage("%s/%s", model, gguf).that(t.vocabSize()).isEqualTo(vocabSize);
        assertThat(t.tokenText(3)).isEqualTo("▁");
        checkPrompt(model + "/" + gguf, t, prompt);
      }
      Tokenizer llama2c = Tokenizers.fromLlama2c(dir.resolve("llama2c/tokenizer.bin"), vocabSize);
      assertThat(llama2c.tokenText(3)).isEqualTo(" ");
      checkPrompt(model + "/llama2c", llama2c, prompt);
    }
  }
}
