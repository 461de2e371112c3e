package dev.kiln.tokenizer;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static dev.kiln.tokenizer.TokenizerFixtures.CONTROL;
import static dev.kiln.tokenizer.TokenizerFixtures.SAMPLES;
import static dev.kiln.tokenizer.TokenizerFixtures.UNKNOWN;
import static dev.kiln.tokenizer.TokenizerFixtures.bpeGguf;
import static dev.kiln.tokenizer.TokenizerFixtures.byteLevel;
import static dev.kiln.tokenizer.TokenizerFixtures.merge;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.tokenizer.TokenizerFixtures.Vocab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hugging Face {@code tokenizer.json} folders, checked against the same vocabularies read from
 * GGUF.
 */
class HfTokenizerTest {
  private static final Gson GSON =
      new GsonBuilder().serializeNulls().disableHtmlEscaping().create();
  static final String LLAMA3_REGEX =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
          + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  @TempDir Path dir;

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

  /** The model part: the vocabulary's non-control tokens and the merges. */
  private static JsonObject bpeModel(Vocab vocab, List<String> merges, boolean asPairs) {
    JsonObject v = new JsonObject();
    for (int id = 0; id < vocab.tokens.size(); id++) {
      if (vocab.types.get(id) != CONTROL) {
        v.addProperty(vocab.tokens.get(id), id);
      }
    }
    JsonArray m = new JsonArray();
    for (String merge : merges) {
      if (asPairs) {
        m.add(arr((Object[]) merge.split(" ")));
      } else {
        m.add(merge);
      }
    }
    return obj(
        "type",
        "BPE",
        "dropout",
        JsonNull.INSTANCE,
        "unk_token",
        JsonNull.INSTANCE,
        "continuing_subword_prefix",
        JsonNull.INSTANCE,
        "end_of_word_suffix",
        JsonNull.INSTANCE,
        "fuse_unk",
        false,
        "byte_fallback",
        false,
        "ignore_merges",
        true,
        "vocab",
        v,
        "merges",
        m);
  }

  /** The control tokens of the vocabulary, as special added tokens. */
  private static JsonArray addedTokens(Vocab vocab) {
    JsonArray added = new JsonArray();
    for (int id = 0; id < vocab.tokens.size(); id++) {
      if (vocab.types.get(id) == CONTROL || vocab.types.get(id) == UNKNOWN) {
        added.add(
            obj(
                "id",
                id,
                "content",
                vocab.tokens.get(id),
                "single_word",
                false,
                "lstrip",
                false,
                "rstrip",
                false,
                "normalized",
                false,
                "special",
                true));
      }
    }
    return added;
  }

  private Path write(String name, JsonObject json) throws IOException {
    Files.createDirectories(dir);
    return Files.writeString(dir.resolve(name), GSON.toJson(json));
  }

  // ---- Byte-level (Llama 3 style).

  private static Vocab llama3Vocab(List<String> merges) {
    Vocab v = byteLevel();
    merge(v, merges, "Ġ", "Ġ");
    merge(v, merges, "l", "l");
    merge(v, merges, "h", "e");
    merge(v, merges, "he", "ll");
    merge(v, merges, "hell", "o");
    merge(v, merges, "Ġ", "w");
    merge(v, merges, "o", "r");
    merge(v, merges, "Ġw", "or");
    merge(v, merges, "Ċ", "Ċ");
    v.add("<|begin_of_text|>", 0, CONTROL);
    v.add("<|end_of_text|>", 0, CONTROL);
    v.add("<|eot_id|>", 0, CONTROL);
    return v;
  }

  private static JsonObject llama3Json(Vocab v, List<String> merges, boolean pairs) {
    JsonObject pre =
        obj(
            "type",
            "Sequence",
            "pretokenizers",
            arr(
                obj(
                    "type",
                    "Split",
                    "pattern",
                    obj("Regex", LLAMA3_REGEX),
                    "behavior",
                    "Isolated",
                    "invert",
                    false),
                obj(
                    "type",
                    "ByteLevel",
                    "add_prefix_space",
                    false,
                    "trim_offsets",
                    true,
                    "use_regex",
                    false)));
    JsonObject post =
        obj(
            "type",
            "Sequence",
            "processors",
            arr(
                obj(
                    "type",
                    "ByteLevel",
                    "add_prefix_space",
                    true,
                    "trim_offsets",
                    false,
                    "use_regex",
                    true),
                obj(
                    "type",
                    "TemplateProcessing",
                    "single",
                    arr(
                        obj("SpecialToken", obj("id", "<|begin_of_text|>", "type_id", 0)),
                        obj("Sequence", obj("id", "A", "type_id", 0))))));
    return obj(
        "version",
        "1.0",
        "truncation",
        JsonNull.INSTANCE,
        "padding",
        JsonNull.INSTANCE,
        "added_tokens",
        addedTokens(v),
        "normalizer",
        JsonNull.INSTANCE,
        "pre_tokenizer",
        pre,
        "post_processor",
        post,
        "decoder",
        obj("type", "ByteLevel", "add_prefix_space", true, "trim_offsets", true, "use_regex", true),
        "model",
        bpeModel(v, merges, pairs));
  }

  @Test
  void llama3StyleMatchesGguf() throws IOException {
    List<String> merges = new ArrayList<>();
    Vocab v = llama3Vocab(merges);
    write("tokenizer.json", llama3Json(v, merges, false));
    write(
        "tokenizer_config.json",
        obj(
            "bos_token",
            "<|begin_of_text|>",
            "eos_token",
            obj("content", "<|eot_id|>", "special", true),
            "chat_template",
            "{% for m in messages %}{% endfor %}"));
    Tokenizer hf = Tokenizers.fromHfFolder(dir);
    Tokenizer gguf = Tokenizers.fromGguf(bpeGguf(v, merges, "llama-bpe").parse());
    assertThat(hf.vocabSize()).isEqualTo(v.tokens.size());
    assertThat(hf.encode("hello world"))
        .isEqualTo(new int[] {v.id("hello"), v.id("Ġwor"), 'l', 'd'});
    for (String sample : SAMPLES) {
      assertWithMessage("%s", sample).that(hf.encode(sample)).isEqualTo(gguf.encode(sample));
      assertWithMessage("%s", sample)
          .that(hf.encode(sample, false, true))
          .isEqualTo(gguf.encode(sample, false, true));
      assertWithMessage("%s", sample).that(hf.decode(hf.encode(sample))).isEqualTo(sample);
    }
    assertThat(hf.bos()).isEqualTo(OptionalInt.of(v.id("<|begin_of_text|>")));
    assertThat(hf.eos()).isEqualTo(OptionalInt.of(v.id("<|eot_id|>")));
    assertThat(hf.eot()).isEqualTo(OptionalInt.of(v.id("<|eot_id|>")));
    assertThat(hf.unk()).isEqualTo(OptionalInt.empty());
    assertThat(hf.tokenType(v.id("<|eot_id|>"))).isEqualTo(TokenType.CONTROL);
    assertThat(hf.addBosByDefault()).isTrue(); // from the post-processor's template
    assertThat(hf.chatTemplate()).hasValue("{% for m in messages %}{% endfor %}");
    assertThat(hf.encode("<|eot_id|>hello", true, true))
        .isEqualTo(new int[] {v.id("<|begin_of_text|>"), v.id("<|eot_id|>"), v.id("hello")});
  }

  @Test
  void mergesAsPairsReadTheSame() throws IOException {
    List<String> merges = new ArrayList<>();
    Vocab v = llama3Vocab(merges);
    write("tokenizer.json", llama3Json(v, merges, true));
    Tokenizer hf = Tokenizers.fromHfFolder(dir);
    assertThat(hf.encode("hello world\n\n"))
        .isEqualTo(new int[] {v.id("hello"), v.id("Ġwor"), 'l', 'd', v.id("ĊĊ")});
    // No tokenizer_config.json: BOS and EOS found by their texts, no template.
    assertThat(hf.bos()).isEqualTo(OptionalInt.of(v.id("<|begin_of_text|>")));
    assertThat(hf.eos()).isEqualTo(OptionalInt.of(v.id("<|end_of_text|>")));
    assertThat(hf.chatTemplate()).isEmpty();
  }

  @Test
  void gpt2StyleByteLevelPreTokenizer() throws IOException {
    List<String> merges = new ArrayList<>();
    Vocab v = llama3Vocab(merges);
    JsonObject json = llama3Json(v, merges, false);
    json.add(
        "pre_tokenizer",
        obj(
            "type",
            "ByteLevel",
            "add_prefix_space",
            false,
            "trim_offsets",
            true,
            "use_regex",
            true));
    json.getAsJsonObject("model").addProperty("ignore_merges", false);
    write("tokenizer.json", json);
    Tokenizer hf = Tokenizers.fromHfFolder(dir);
    Tokenizer gguf = Tokenizers.fromGguf(bpeGguf(v, merges, "gpt2").parse());
    for (String sample : SAMPLES) {
      assertWithMessage("%s", sample).that(hf.encode(sample)).isEqualTo(gguf.encode(sample));
    }
    // add_prefix_space puts a space before text that has none.
    json.add(
        "pre_tokenizer", obj("type", "ByteLevel", "add_prefix_space", true, "use_regex", true));
    write("tokenizer.json", json);
    Tokenizer prefixed = Tokenizers.fromHfFolder(dir);
    assertThat(prefixed.encode("world")).isEqualTo(gguf.encode(" world"));
    assertThat(prefixed.encode(" world")).isEqualTo(gguf.encode(" world"));
  }

  // ---- SentencePiece-style (Llama 2 style).

  /**
   * The vocabulary of SentencePieceTokenizerTest, with merges ranked by the score of the token they
   * make.
   */
  private static Vocab llama2Vocab(List<String> merges) {
    Vocab v = new Vocab();
    v.add("<unk>", 0, UNKNOWN);
    v.add("<s>", 0, CONTROL);
    v.add("</s>", 0, CONTROL);
    v.addByteTokens();
    v.add("▁", -1);
    v.add("a", -2);
    v.add("b", -2);
    v.add("c", -2);
    v.add("ab", -5);
    v.add("bc", -1);
    v.add("▁a", -3);
    v.add("abc", -2);
    v.add("aa", -4);
    merges.addAll(List.of("b c", "a bc", "ab c", "▁ a", "a a", "a b"));
    return v;
  }

  private static JsonObject llama2Json(Vocab v, List<String> merges, Consumer<JsonObject> edit) {
    JsonObject model = bpeModel(v, merges, false);
    model.addProperty("unk_token", "<unk>");
    model.addProperty("fuse_unk", true);
    model.addProperty("byte_fallback", true);
    model.addProperty("ignore_merges", false);
    JsonObject json =
        obj(
            "version",
            "1.0",
            "added_tokens",
            addedTokens(v),
            "normalizer",
            obj(
                "type",
                "Sequence",
                "normalizers",
                arr(
                    obj("type", "Prepend", "prepend", "▁"),
                    obj("type", "Replace", "pattern", obj("String", " "), "content", "▁"))),
            "pre_tokenizer",
            JsonNull.INSTANCE,
            "post_processor",
            obj(
                "type",
                "TemplateProcessing",
                "single",
                arr(
                    obj("SpecialToken", obj("id", "<s>", "type_id", 0)),
                    obj("Sequence", obj("id", "A", "type_id", 0)))),
            "decoder",
            obj(
                "type",
                "Sequence",
                "decoders",
                arr(
                    obj("type", "Replace", "pattern", obj("String", "▁"), "content", " "),
                        obj("type", "ByteFallback"),
                    obj("type", "Fuse"),
                        obj("type", "Strip", "content", " ", "start", 1, "stop", 0))),
            "model",
            model);
    edit.accept(json);
    return json;
  }

  @Test
  void llama2StyleMatchesGguf() throws IOException {
    List<String> merges = new ArrayList<>();
    Vocab v = llama2Vocab(merges);
    write("tokenizer.json", llama2Json(v, merges, json -> {}));
    Tokenizer hf = Tokenizers.fromHfFolder(dir);
    Tokenizer gguf = v.spm();
    assertThat(hf.encode("abc")).isEqualTo(new int[] {v.id("▁"), v.id("abc")});
    assertThat(hf.encode("baaa"))
        .isEqualTo(new int[] {v.id("▁"), v.id("b"), v.id("aa"), v.id("a")});
    assertThat(hf.encode("a€")).isEqualTo(new int[] {v.id("▁a"), 3 + 0xE2, 3 + 0x82, 3 + 0xAC});
    for (String sample : SAMPLES) {
      assertWithMessage("%s", sample).that(hf.encode(sample)).isEqualTo(gguf.encode(sample));
      assertWithMessage("%s", sample)
          .that(hf.encode(sample, true, true))
          .isEqualTo(gguf.encode(sample, true, true));
      assertWithMessage("%s", sample).that(hf.decode(hf.encode(sample, true))).isEqualTo(sample);
    }
    assertThat(hf.bos()).isEqualTo(OptionalInt.of(1));
    assertThat(hf.eos()).isEqualTo(OptionalInt.of(2));
    assertThat(hf.unk()).isEqualTo(OptionalInt.of(0));
    assertThat(hf.tokenType(3)).isEqualTo(TokenType.BYTE);
    assertThat(hf.addsSpacePrefix()).isTrue();
    assertThat(hf.addBosByDefault()).isTrue();
    // The Prepend normalizer puts the prefix after special tokens too.
    assertThat(hf.encode("<s>ab", false, true)).isEqualTo(new int[] {1, v.id("▁a"), v.id("b")});
    assertThat(hf.encode(" ab")).isEqualTo(new int[] {v.id("▁"), v.id("▁a"), v.id("b")});
  }

  @Test
  void metaspacePreTokenizerWithPrependSchemeFirst() throws IOException {
    List<String> merges = new ArrayList<>();
    Vocab v = llama2Vocab(merges);
    write(
        "tokenizer.json",
        llama2Json(
            v,
            merges,
            json -> {
              json.add("normalizer", JsonNull.INSTANCE);
              json.add(
                  "pre_tokenizer",
                  obj(
                      "type",
                      "Metaspace",
                      "replacement",
                      "▁",
                      "prepend_scheme",
                      "first",
                      "split",
                      false));
              json.add(
                  "decoder",
                  obj(
                      "type",
                      "Metaspace",
                      "replacement",
                      "▁",
                      "prepend_scheme",
                      "first",
                      "split",
                      false));
            }));
    write("tokenizer_config.json", obj("add_bos_token", false, "bos_token", obj("content", "<s>")));
    Tokenizer hf = Tokenizers.fromHfFolder(dir);
    assertThat(hf.encode("abc")).isEqualTo(new int[] {v.id("▁"), v.id("abc")});
    // Only the text at the very start gets the prefix, and only when it has no space already.
    assertThat(hf.encode("<s>ab", false, true)).isEqualTo(new int[] {1, v.id("ab")});
    assertThat(hf.encode(" ab")).isEqualTo(new int[] {v.id("▁a"), v.id("b")});
    assertThat(hf.addBosByDefault()).isFalse();
    for (String sample : SAMPLES) {
      if (!sample.startsWith(" ")) {
        assertWithMessage("%s", sample).that(hf.decode(hf.encode(sample))).isEqualTo(sample);
      }
    }
  }

  @Test
  void chatTemplateFromItsOwnFile() throws IOException {
    List<String> merges = new ArrayList<>();
    Vocab v = llama2Vocab(merges);
    write("tokenizer.json", llama2Json(v, merges, json -> {}));
    Files.writeString(
        dir.resolve("chat_template.jinja"), "{{ bos_token }}{% for m in messages %}…{% endfor %}");
    assertThat(Tokenizers.fromHfFolder(dir).chatTemplate())
        .hasValue("{{ bos_token }}{% for m in messages %}…{% endfor %}");
    write(
        "tokenizer_config.json",
        obj(
            "chat_template",
            arr(
                obj("name", "tool_use", "template", "T"),
                obj("name", "default", "template", "D"))));
    assertThat(Tokenizers.fromHfFolder(dir).chatTemplate()).hasValue("D");
  }

  // ---- What is refused.

  private TokenizerException refused() {
    return assertThrows(TokenizerException.class, () -> Tokenizers.fromHfFolder(dir));
  }

  private JsonObject validLlama2() {
    List<String> merges = new ArrayList<>();
    return llama2Json(llama2Vocab(merges), merges, json -> {});
  }

  @Test
  void missingFiles() throws IOException {
    assertThat(
            assertThrows(
                TokenizerException.class, () -> Tokenizers.fromHfFolder(dir.resolve("nope"))))
        .hasMessageThat()
        .contains("not a directory");
    assertThat(refused()).hasMessageThat().contains("tokenizer.json: no such file");
    Files.writeString(dir.resolve("tokenizer.model"), "x");
    assertThat(refused()).hasMessageThat().contains("tokenizer.model");
  }

  @Test
  void badJson() throws IOException {
    Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {,}}");
    assertThat(refused()).hasMessageThat().contains("tokenizer.json");
    assertThat(refused()).hasMessageThat().contains("not valid JSON");
  }

  @Test
  void unsupportedModelType() throws IOException {
    JsonObject json = validLlama2();
    json.getAsJsonObject("model").addProperty("type", "Unigram");
    write("tokenizer.json", json);
    assertThat(refused()).hasMessageThat().contains("model.type: \"Unigram\" is not supported");
  }

  @Test
  void mergeOfATokenNotInTheVocabulary() throws IOException {
    JsonObject json = validLlama2();
    json.getAsJsonObject("model").getAsJsonArray("merges").set(3, GSON.toJsonTree("▁ z"));
    write("tokenizer.json", json);
    assertThat(refused())
        .hasMessageThat()
        .contains("model.merges[3]: token \"z\" is not in the vocabulary");
    json.getAsJsonObject("model").getAsJsonArray("merges").set(3, GSON.toJsonTree("▁ a b"));
    write("tokenizer.json", json);
    assertThat(refused()).hasMessageThat().contains("model.merges[3]: \"▁ a b\" is not two tokens");
  }

  @Test
  void gapInTheIds() throws IOException {
    JsonObject json = validLlama2();
    json.getAsJsonObject("model").getAsJsonObject("vocab").remove("c");
    write("tokenizer.json", json);
    assertThat(refused()).hasMessageThat().contains("no token has id");
  }

  @Test
  void hugeTokenIdsAreRefusedWithoutSizingAnArray() throws IOException {
    for (int id : new int[] {Integer.MAX_VALUE, 1_000_000_000}) {
      JsonObject json = validLlama2();
      json.getAsJsonObject("model").getAsJsonObject("vocab").addProperty("huge", id);
      write("tokenizer.json", json);
      assertThat(refused())
          .hasMessageThat()
          .containsMatch(
              "model\\.vocab: token id "
                  + id
                  + " is beyond the ([0-9]+)"
                  + " tokens of model\\.vocab and added_tokens \\(ids must run from 0 to [0-9]+ without gaps; no token has id"
                  + " [0-9]+\\)$");
      json.getAsJsonObject("model").getAsJsonObject("vocab").remove("huge");
      json.getAsJsonArray("added_tokens").add(obj("id", id, "content", "<huge>", "special", true));
      write("tokenizer.json", json);
      assertThat(refused())
          .hasMessageThat()
          .contains("model.vocab: token id " + id + " is beyond the");
    }
  }

  @Test
  void addedTokenDisagreesWithTheVocabulary() throws IOException {
    JsonObject json = validLlama2();
    json.getAsJsonArray("added_tokens").get(0).getAsJsonObject().addProperty("id", 3);
    write("tokenizer.json", json);
    assertThat(refused())
        .hasMessageThat()
        .contains("added_tokens[0]: id 3 is \"<unk>\" here but \"<0x00>\" in model.vocab");
  }

  @Test
  void regexJavaCannotCompile() throws IOException {
    List<String> merges = new ArrayList<>();
    JsonObject json = llama3Json(llama3Vocab(merges), merges, false);
    json.getAsJsonObject("pre_tokenizer")
        .getAsJsonArray("pretokenizers")
        .get(0)
        .getAsJsonObject()
        .add("pattern", obj("Regex", "(?<=\\p{L}+"));
    write("tokenizer.json", json);
    assertThat(refused()).hasMessageThat().contains("pre_tokenizer.pretokenizers[0].pattern.Regex");
  }

  @Test
  void unsupportedPreTokenizer() throws IOException {
    List<String> merges = new ArrayList<>();
    JsonObject json = llama3Json(llama3Vocab(merges), merges, false);
    json.getAsJsonObject("pre_tokenizer")
        .getAsJsonArray("pretokenizers")
        .set(0, obj("type", "Whitespace"));
    write("tokenizer.json", json);
    assertThat(refused())
        .hasMessageThat()
        .contains("pre_tokenizer.pretokenizers[0]: pre-tokenizer \"Whitespace\"");
  }

  @Test
  void neitherByteLevelNorSentencePiece() throws IOException {
    JsonObject json = validLlama2();
    json.add("normalizer", JsonNull.INSTANCE);
    json.add("decoder", JsonNull.INSTANCE);
    write("tokenizer.json", json);
    assertThat(refused()).hasMessageThat().contains("neither a ByteLevel");
  }

  @Test
  void configNamesATokenThatIsNotThere() throws IOException {
    write("tokenizer.json", validLlama2());
    write("tokenizer_config.json", obj("bos_token", "<|nope|>"));
    TokenizerException e = refused();
    assertThat(e)
        .hasMessageThat()
        .contains("tokenizer_config.json: bos_token: \"<|nope|>\" is not a token");
  }

  @Test
  void readsWhatTransformersWrites() throws IOException {
    // The key order and layout of a real file do not matter; a BOM is allowed.
    write("tokenizer.json", validLlama2());
    String text = Files.readString(dir.resolve("tokenizer.json"));
    Files.writeString(
        dir.resolve("tokenizer.json"), "\uFEFF" + JsonParser.parseString(text).toString());
    assertThat(Tokenizers.fromHfFolder(dir).encode("abc")).hasLength(2);
  }
}
