package dev.kiln.tokenizer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static dev.kiln.tokenizer.TokenizerFixtures.SAMPLES;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small synthetic tokenizer laid out as Gemma's {@code tokenizer.json} is: a {@code Replace}
 * normalizer of " " by "▁" and no prefix, a {@code Split} pre-tokenizer on " " with behavior {@code
 * MergedWithPrevious} (a no-op: no space is left after the normalizer), BPE by rank with byte
 * fallback, special {@code <pad> <eos> <bos> <unk> <start_of_turn> <end_of_turn>}, and non-special
 * added tokens for runs of newlines, tabs and "▁" (which are in the model's vocabulary too). The
 * real Gemma 3 tokenizer is checked by {@link RealTokenizersTest} when the shared folder has it.
 */
class GemmaTokenizerTest {
  private static final Gson GSON =
      new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

  @TempDir Path dir;

  /** Token text to id, in id order. */
  private final Map<String, Integer> vocab = new LinkedHashMap<>();

  private final List<String> merges = new ArrayList<>();
  private final JsonArray added = new JsonArray();

  private int add(String text) {
    vocab.putIfAbsent(text, vocab.size());
    return vocab.get(text);
  }

  private void addedToken(String text, boolean special) {
    JsonObject token = new JsonObject();
    token.addProperty("id", add(text));
    token.addProperty("content", text);
    token.addProperty("single_word", false);
    token.addProperty("lstrip", false);
    token.addProperty("rstrip", false);
    token.addProperty("normalized", false);
    token.addProperty("special", special);
    added.add(token);
  }

  private void merge(String left, String right) {
    merges.add(left + " " + right);
    add(left + right);
  }

  private int id(String text) {
    Integer id = vocab.get(text);
    if (id == null) {
      throw new IllegalArgumentException(text);
    }
    return id;
  }

  @BeforeEach
  void buildVocabulary() {
    for (String special :
        List.of("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>")) {
      addedToken(special, true);
    }
    for (String run : List.of("\n", "\n\n", "\n\n\n", "▁▁", "▁▁▁", "▁▁▁▁", "\t", "\t\t")) {
      addedToken(run, false);
    }
    for (int b = 0; b < 256; b++) {
      add(String.format("<0x%02X>", b));
    }
    for (String c : List.of("▁", "H", "e", "l", "o", "w", "r", "d", "u", "s", "i", "x")) {
      add(c);
    }
    merge("l", "l");
    merge("H", "e");
    merge("He", "ll");
    merge("Hell", "o");
    merge("▁", "w");
    merge("o", "r");
    merge("▁w", "or");
    merge("▁wor", "l");
    merge("▁worl", "d");
    merge("u", "s");
    merge("us", "e");
    merge("use", "r");
    merge("▁", "▁");
    merge("▁▁", "▁");
    merge("▁▁", "▁▁");
    merge("▁", "x");
  }

  private static JsonObject obj(Object... keyValues) {
    JsonObject o = new JsonObject();
    for (int i = 0; i < keyValues.length; i += 2) {
      o.add((String) keyValues[i], GSON.toJsonTree(keyValues[i + 1]));
    }
    return o;
  }

  private static JsonArray arr(Object... items) {
    JsonArray a = new JsonArray();
    for (Object item : items) {
      a.add(GSON.toJsonTree(item));
    }
    return a;
  }

  private static final JsonObject GEMMA_SPLIT =
      obj(
          "type",
          "Split",
          "pattern",
          obj("String", " "),
          "behavior",
          "MergedWithPrevious",
          "invert",
          false);

  private JsonObject gemmaJson() {
    JsonObject v = new JsonObject();
    vocab.forEach(v::addProperty);
    JsonArray m = new JsonArray();
    for (String merge : merges) {
      m.add(arr((Object[]) merge.split(" ")));
    }
    JsonObject model =
        obj(
            "type",
            "BPE",
            "dropout",
            JsonNull.INSTANCE,
            "unk_token",
            "<unk>",
            "continuing_subword_prefix",
            JsonNull.INSTANCE,
            "end_of_word_suffix",
            JsonNull.INSTANCE,
            "fuse_unk",
            true,
            "byte_fallback",
            true,
            "ignore_merges",
            false,
            "vocab",
            v,
            "merges",
            m);
    return obj(
        "version",
        "1.0",
        "truncation",
        JsonNull.INSTANCE,
        "padding",
        JsonNull.INSTANCE,
        "added_tokens",
        added,
        "normalizer",
        obj("type", "Replace", "pattern", obj("String", " "), "content", "▁"),
        "pre_tokenizer",
        GEMMA_SPLIT,
        "post_processor",
        obj(
            "type",
            "TemplateProcessing",
            "single",
            arr(
                obj("SpecialToken", obj("id", "<bos>", "type_id", 0)),
                obj("Sequence", obj("id", "A", "type_id", 0)))),
        "decoder",
        obj(
            "type",
            "Sequence",
            "decoders",
            arr(
                obj("type", "Replace", "pattern", obj("String", "▁"), "content", " "),
                obj("type", "ByteFallback"),
                obj("type", "Fuse"))),
        "model",
        model);
  }

  private Tokenizer load(Consumer<JsonObject> edit) throws IOException {
    JsonObject json = gemmaJson();
    edit.accept(json);
    Files.writeString(dir.resolve("tokenizer.json"), GSON.toJson(json));
    Files.writeString(
        dir.resolve("tokenizer_config.json"),
        GSON.toJson(
            obj(
                "add_bos_token",
                true,
                "add_eos_token",
                false,
                "bos_token",
                "<bos>",
                "eos_token",
                "<end_of_turn>",
                "pad_token",
                "<pad>",
                "unk_token",
                "<unk>")));
    return Tokenizers.fromHfFolder(dir);
  }

  private int[] bytes(String text) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    int[] ids = new int[utf8.length];
    for (int i = 0; i < utf8.length; i++) {
      ids[i] = id(String.format("<0x%02X>", utf8[i] & 0xff));
    }
    return ids;
  }

  @Test
  void loadsWithTheNoOpSplit() throws IOException {
    Tokenizer t = load(json -> {});
    assertThat(t.vocabSize()).isEqualTo(vocab.size());
    assertThat(t.bos()).isEqualTo(OptionalInt.of(id("<bos>")));
    assertThat(t.eos()).isEqualTo(OptionalInt.of(id("<end_of_turn>")));
    assertThat(t.eot()).isEqualTo(OptionalInt.of(id("<end_of_turn>")));
    assertThat(t.unk()).isEqualTo(OptionalInt.of(id("<unk>")));
    assertThat(t.addBosByDefault()).isTrue();
    assertThat(t.addsSpacePrefix()).isFalse(); // Gemma puts no space before the text
    assertThat(t.tokenType(id("<start_of_turn>"))).isEqualTo(TokenType.CONTROL);
    assertThat(t.tokenType(id("▁▁"))).isEqualTo(TokenType.USER_DEFINED);
    assertThat(t.tokenType(id("<0x41>"))).isEqualTo(TokenType.BYTE);
    assertThat(t.id("<end_of_turn>")).isEqualTo(OptionalInt.of(id("<end_of_turn>")));
  }

  @Test
  void encodes() throws IOException {
    Tokenizer t = load(json -> {});
    assertThat(t.encode("Hello world")).isEqualTo(new int[] {id("Hello"), id("▁world")});
    assertThat(t.encode("Hello world", true))
        .isEqualTo(new int[] {id("<bos>"), id("Hello"), id("▁world")});
    assertThat(t.encode(" world"))
        .isEqualTo(new int[] {id("▁world")}); // no prefix, so the space is the text's own
    // Runs of spaces merge into the whitespace tokens; "▁ w" ranks before "▁ ▁" here.
    assertThat(t.encode("  ")).isEqualTo(new int[] {id("▁▁")});
    assertThat(t.encode("   x")).isEqualTo(new int[] {id("▁▁▁"), id("x")});
    assertThat(t.encode("    ")).isEqualTo(new int[] {id("▁▁▁▁")});
    assertThat(t.encode("Hello  world")).isEqualTo(new int[] {id("Hello"), id("▁"), id("▁world")});
    // Newlines and tabs are added tokens: matched whole, the longest first.
    assertThat(t.encode("Hello\n\nworld\n\t\t"))
        .isEqualTo(
            new int[] {
              id("Hello"), id("\n\n"), id("w"), id("or"), id("l"), id("d"), id("\n"), id("\t\t")
            });
    // Byte fallback for what no token covers.
    assertThat(t.encode("€")).isEqualTo(bytes("€"));
    assertThat(t.encode("Hi")).isEqualTo(new int[] {id("H"), id("i")});
    assertThat(t.encode("A")).isEqualTo(bytes("A"));
    // Special tokens only when asked for.
    assertThat(t.encode("<start_of_turn>user\nHi<end_of_turn>\n", true, true))
        .isEqualTo(
            new int[] {
              id("<bos>"),
              id("<start_of_turn>"),
              id("user"),
              id("\n"),
              id("H"),
              id("i"),
              id("<end_of_turn>"),
              id("\n")
            });
    int[] typed = t.encode("<end_of_turn>");
    assertThat(typed).asList().doesNotContain(id("<end_of_turn>"));
    assertThat(t.decode(typed)).isEqualTo("<end_of_turn>");
  }

  @Test
  void whitespaceRunTokensDecodeToSpaces() throws IOException {
    Tokenizer t = load(json -> {});
    assertThat(t.decode(new int[] {id("▁▁")})).isEqualTo("  ");
    assertThat(t.decode(new int[] {id("▁▁▁▁"), id("▁x")})).isEqualTo("     x");
    assertThat(t.tokenBytes(id("▁▁▁"))).isEqualTo("   ".getBytes(StandardCharsets.UTF_8));
    assertThat(t.tokenText(id("▁▁▁"))).isEqualTo("▁▁▁");
    assertThat(t.decode(new int[] {id("\n\n\n"), id("\t")})).isEqualTo("\n\n\n\t");
    // The whitespace tokens are matched as text only when typed as "▁", as in Hugging Face (their
    // "normalized": false means they are looked for before the normalizer writes spaces as "▁").
    assertThat(t.encode("x▁▁")).isEqualTo(new int[] {id("x"), id("▁▁")});
    assertThat(t.decode(t.encode("x▁▁"))).isEqualTo("x  ");
  }

  @Test
  void decodes() throws IOException {
    Tokenizer t = load(json -> {});
    int[] ids = t.encode("<start_of_turn>user\nHi<end_of_turn>\n", true, true);
    assertThat(t.decode(ids, true)).isEqualTo("<bos><start_of_turn>user\nHi<end_of_turn>\n");
    assertThat(t.decode(ids)).isEqualTo("user\nHi\n");
    // No prefix to drop: a leading space is the text's own, after BOS too.
    assertThat(t.decode(t.encode(" world", true))).isEqualTo(" world");
    assertThat(t.decode(t.encode(" world", true), true)).isEqualTo("<bos> world");
    for (String sample : SAMPLES) {
      assertWithMessage("%s", sample).that(t.decode(t.encode(sample))).isEqualTo(sample);
      assertWithMessage("%s", sample)
          .that(t.decode(t.encode(sample, true, true)))
          .isEqualTo(sample);
    }
  }

  @Test
  void streamsWhitespaceRuns() throws IOException {
    Tokenizer t = load(json -> {});
    StreamingDecoder decoder = new StreamingDecoder(t, false, false);
    StringBuilder out = new StringBuilder();
    for (int id : new int[] {id("Hello"), id("\n"), id("▁▁"), id("▁x"), id("<end_of_turn>")}) {
      out.append(decoder.accept(id));
    }
    assertThat(out.append(decoder.finish()).toString()).isEqualTo("Hello\n   x");
  }

  // ---- Other Split forms are still refused.

  private TokenizerException refused(Consumer<JsonObject> edit) {
    return assertThrows(TokenizerException.class, () -> load(edit));
  }

  @Test
  void splitOnTheSpaceSymbolIsRefused() {
    // After the normalizer this would cut "a▁b" into "a▁" and "b": not a no-op.
    TokenizerException e =
        refused(
            json ->
                json.add(
                    "pre_tokenizer",
                    obj(
                        "type",
                        "Split",
                        "pattern",
                        obj("String", "▁"),
                        "behavior",
                        "MergedWithPrevious",
                        "invert",
                        false)));
    assertThat(e)
        .hasMessageThat()
        .contains(
            "pre_tokenizer: \"Split\" is not supported for SentencePiece-style BPE, "
                + "except a Split on the string \" \" (not inverted) after a Replace normalizer of \" \", which does nothing "
                + "(Gemma's); was {\"type\":\"Split\",\"pattern\":{\"String\":\"▁\"}");
  }

  @Test
  void otherSplitsAreRefused() {
    assertThat(
            refused(
                json ->
                    json.add(
                        "pre_tokenizer",
                        obj(
                            "type",
                            "Split",
                            "pattern",
                            obj("Regex", " "),
                            "behavior",
                            "MergedWithPrevious",
                            "invert",
                            false))))
        .hasMessageThat()
        .contains("\"Split\" is not supported for SentencePiece-style BPE");
    assertThat(
            refused(
                json ->
                    json.add(
                        "pre_tokenizer",
                        obj(
                            "type",
                            "Split",
                            "pattern",
                            obj("String", " "),
                            "behavior",
                            "Removed",
                            "invert",
                            true))))
        .hasMessageThat()
        .contains("\"Split\" is not supported for SentencePiece-style BPE");
    assertThat(
            refused(
                json ->
                    json.add(
                        "pre_tokenizer",
                        obj(
                            "type",
                            "Split",
                            "pattern",
                            obj("String", " "),
                            "behavior",
                            "Sideways",
                            "invert",
                            false))))
        .hasMessageThat()
        .contains("pre_tokenizer.behavior: \"Sideways\" is not a Split behavior");
    // Without the Replace normalizer the split would cut at spaces.
    assertThat(refused(json -> json.add("normalizer", JsonNull.INSTANCE)))
        .hasMessageThat()
        .contains("with no Replace normalizer");
    // Inside a Sequence it is not the plain no-op form either.
    assertThat(
            refused(
                json ->
                    json.add(
                        "pre_tokenizer",
                        obj("type", "Sequence", "pretokenizers", arr(GEMMA_SPLIT)))))
        .hasMessageThat()
        .contains("pre_tokenizer: \"Sequence\" is not supported for SentencePiece-style BPE");
  }

  @Test
  void otherBehaviorsOfTheNoOpSplitAreAccepted() throws IOException {
    for (String behavior : List.of("Removed", "Isolated", "MergedWithNext", "Contiguous")) {
      Tokenizer t =
          load(
              json ->
                  json.add(
                      "pre_tokenizer",
                      obj(
                          "type",
                          "Split",
                          "pattern",
                          obj("String", " "),
                          "behavior",
                          behavior,
                          "invert",
                          false)));
      assertWithMessage(behavior)
          .that(t.encode("Hello world"))
          .isEqualTo(new int[] {id("Hello"), id("▁world")});
    }
  }
}
