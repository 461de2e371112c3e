package dev.kiln.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.kiln.weights.RegularFiles;
import dev.kiln.weights.StrictJson;
import dev.kiln.weights.WeightLoadException;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads a Hugging Face tokenizer folder: {@code tokenizer.json} (a {@code BPE} model), and, when
 * present, {@code tokenizer_config.json} ({@code bos_token}, {@code eos_token}, {@code
 * add_bos_token}, {@code chat_template}) and {@code chat_template.jinja}.
 *
 * <p>Two kinds of {@code tokenizer.json} are read. Byte-level BPE (GPT-2, Llama 3): a {@code
 * ByteLevel} pre-tokenizer or decoder; pre-tokenizers {@code ByteLevel}, {@code Split} (behavior
 * {@code Isolated}, not inverted), {@code Digits} and {@code Sequence}; normalizers {@code NFC},
 * {@code NFD}, {@code NFKC}, {@code NFKD} and {@code Sequence}. SentencePiece-style BPE (Llama 2):
 * spaces written "▁" by a {@code Replace} normalizer or a {@code Metaspace} pre-tokenizer, the
 * prefix put by a {@code Prepend} normalizer or the Metaspace's {@code prepend_scheme}, merges by
 * rank with {@code byte_fallback}; Gemma's {@code Split} on {@code " "} after the {@code Replace}
 * normalizer is read as the no-op it is. Its non-special added tokens decode with "▁" as a space,
 * as Hugging Face's decoder does (Gemma's {@code "▁▁"} is two spaces). Anything else is refused
 * with a message naming the part.
 */
final class HfTokenizerReader {
  static final String TOKENIZER = "tokenizer.json";
  static final String CONFIG = "tokenizer_config.json";
  static final String TEMPLATE = "chat_template.jinja";

  private final Path file;
  private final Path configFile;

  private HfTokenizerReader(Path directory) {
    this.file = directory.resolve(TOKENIZER);
    this.configFile = directory.resolve(CONFIG);
  }

  static Tokenizer read(Path directory) {
    if (!Files.isDirectory(directory)) {
      throw new TokenizerException(
          directory + ": not a directory (a Hugging Face model folder holds " + TOKENIZER + ")");
    }
    Path json = directory.resolve(TOKENIZER);
    for (Path file : List.of(json, directory.resolve(CONFIG), directory.resolve(TEMPLATE))) {
      String problem = Files.exists(file) ? RegularFiles.problem(file) : null;
      if (problem != null) {
        throw new TokenizerException(file + ": " + problem);
      }
    }
    if (!Files.isRegularFile(json)) {
      String hint =
          Files.exists(directory.resolve("tokenizer.model"))
              ? " (only tokenizer.model, a SentencePiece protobuf, is there; Kiln reads tokenizer.json: save the tokenizer "
                  + "with a fast Hugging Face tokenizer to write one)"
              : "";
      throw new TokenizerException(json + ": no such file" + hint);
    }
    return new HfTokenizerReader(directory).read();
  }

  private TokenizerException error(String where, String message) {
    return new TokenizerException(file + ": " + where + ": " + message);
  }

  private static JsonObject readJson(Path path, String what) {
    try {
      return StrictJson.readObject(path, what);
    } catch (WeightLoadException e) {
      throw new TokenizerException(e.getMessage(), e);
    }
  }

  private Tokenizer read() {
    JsonObject root = readJson(file, "tokenizer");
    JsonObject config =
        Files.isRegularFile(configFile)
            ? readJson(configFile, "tokenizer config")
            : new JsonObject();
    JsonObject model = object(root, "model", "model");
    if (model == null) {
      throw error("model", "missing; it must be an object");
    }
    String type = string(model, "type", "model.type");
    if (type != null && !type.equals("BPE")) {
      throw error("model.type", "\"" + type + "\" is not supported; Kiln reads BPE tokenizers");
    }
    if (type == null && !model.has("merges")) {
      throw error("model", "has no \"type\" and no \"merges\"; Kiln reads BPE tokenizers");
    }
    for (String affix : new String[] {"continuing_subword_prefix", "end_of_word_suffix"}) {
      String value = string(model, affix, "model." + affix);
      if (value != null && !value.isEmpty()) {
        throw error(
            "model." + affix,
            "\"" + value + "\" is not supported (Kiln reads BPE without subword affixes)");
      }
    }
    JsonElement dropout = model.get("dropout");
    if (dropout != null
        && !dropout.isJsonNull()
        && !(isNumber(dropout) && dropout.getAsBigDecimal().signum() == 0)) {
      throw error("model.dropout", dropout + ": BPE dropout is not supported (it is for training)");
    }
    boolean byteFallback = bool(model, "byte_fallback", "model.byte_fallback", false);
    boolean fuseUnk = bool(model, "fuse_unk", "model.fuse_unk", false);
    boolean ignoreMerges = bool(model, "ignore_merges", "model.ignore_merges", false);
    String unkText = string(model, "unk_token", "model.unk_token");

    // The vocabulary: the model's tokens, then the added tokens.
    JsonObject vocabJson = object(model, "vocab", "model.vocab");
    if (vocabJson == null) {
      throw error("model.vocab", "missing; it must be an object of token to id");
    }
    Map<Integer, String> byId = new HashMap<>();
    Map<Integer, TokenType> typeById = new HashMap<>();
    for (var entry : vocabJson.entrySet()) {
      int id = id(entry.getValue(), "model.vocab[\"" + entry.getKey() + "\"]");
      String previous = byId.put(id, entry.getKey());
      if (previous != null) {
        throw error(
            "model.vocab",
            "tokens \"" + previous + "\" and \"" + entry.getKey() + "\" both have id " + id);
      }
      typeById.put(
          id,
          byteFallback && Vocabulary.isByteText(entry.getKey())
              ? TokenType.BYTE
              : TokenType.NORMAL);
    }
    JsonElement added = root.get("added_tokens");
    if (added != null && !added.isJsonNull()) {
      if (!added.isJsonArray()) {
        throw error("added_tokens", "must be an array, was " + describe(added));
      }
      JsonArray array = added.getAsJsonArray();
      for (int i = 0; i < array.size(); i++) {
        String where = "added_tokens[" + i + "]";
        if (!array.get(i).isJsonObject()) {
          throw error(where, "must be an object, was " + describe(array.get(i)));
        }
        JsonObject token = array.get(i).getAsJsonObject();
        int id = id(token.get("id"), where + ".id");
        String content = string(token, "content", where + ".content");
        if (content == null) {
          throw error(where + ".content", "missing");
        }
        boolean special = bool(token, "special", where + ".special", false);
        String previous = byId.putIfAbsent(id, content);
        if (previous != null && !previous.equals(content)) {
          throw error(
              where,
              "id " + id + " is \"" + content + "\" here but \"" + previous + "\" in model.vocab");
        }
        typeById.put(id, special ? TokenType.CONTROL : TokenType.USER_DEFINED);
      }
    }
    if (byId.isEmpty()) {
      throw error("model.vocab", "the vocabulary is empty");
    }
    // Ids run from 0 without gaps, so the largest is one less than the number of tokens; a larger
    // one is refused before any array is sized by it (an id of 2^31 - 1 must not allocate).
    int n = byId.size();
    int largest = byId.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow();
    if (largest >= n) {
      int gap = 0;
      while (byId.containsKey(gap)) {
        gap++;
      }
      throw error(
          "model.vocab",
          "token id "
              + largest
              + " is beyond the "
              + n
              + " tokens of model.vocab and "
              + "added_tokens (ids must run from 0 to "
              + (n - 1)
              + " without gaps; no token has id "
              + gap
              + ")");
    }
    String[] texts = new String[n];
    TokenType[] types = new TokenType[n];
    for (int id = 0; id < n; id++) {
      texts[id] = byId.get(id);
      types[id] = typeById.get(id);
      if (texts[id] == null) {
        throw error(
            "model.vocab",
            "no token has id " + id + " (ids must run from 0 to " + (n - 1) + " without gaps)");
      }
    }
    Map<String, Integer> lookup = new HashMap<>();
    for (int id = 0; id < n; id++) {
      lookup.putIfAbsent(texts[id], id);
    }
    int unk = -1;
    if (unkText != null) {
      Integer id = lookup.get(unkText);
      if (id == null) {
        throw error("model.unk_token", "\"" + unkText + "\" is not in the vocabulary");
      }
      unk = id;
      types[unk] = TokenType.UNKNOWN;
    }
    int bos =
        configToken(
            config,
            "bos_token",
            lookup,
            new String[] {"<s>", "<|begin_of_text|>", "<|startoftext|>"},
            types);
    int eos =
        configToken(
            config,
            "eos_token",
            lookup,
            new String[] {"</s>", "<|end_of_text|>", "<|endoftext|>"},
            types);
    int eot = Tokenizers.guessEot(texts);
    Vocabulary vocab = new Vocabulary(texts, types, bos, eos, eot, unk);

    MergeRanks ranks = merges(model, vocab);
    boolean addBos = addBos(root, config, bos >= 0 ? texts[bos] : null);
    String template = chatTemplate(config);
    JsonElement normalizer = root.get("normalizer");
    JsonElement pre = root.get("pre_tokenizer");
    JsonElement decoder = root.get("decoder");
    boolean byteLevel = hasType(pre, "ByteLevel") || hasType(decoder, "ByteLevel");
    boolean metaspace =
        hasType(pre, "Metaspace")
            || hasType(decoder, "Metaspace")
            || hasType(normalizer, "Replace")
            || hasType(normalizer, "Prepend")
            || hasType(decoder, "ByteFallback");
    String source = file.toString();
    if (byteLevel && !metaspace) {
      PreTokenizer preTokenizer =
          new PreTokenizer(normalization(normalizer, "normalizer"), preSteps(pre, "pre_tokenizer"));
      return new ByteLevelBpeTokenizer(
          source, vocab, ranks, preTokenizer, ignoreMerges, addBos, template);
    }
    if (metaspace && !byteLevel) {
      SentencePieceTokenizer.Options options = spmOptions(normalizer, pre, byteFallback, fuseUnk);
      return new SentencePieceTokenizer(
          source, vocab, options, null, ranks, null, addBos, template);
    }
    throw error(
        "pre_tokenizer",
        byteLevel
            ? "both byte-level and SentencePiece-style (Metaspace/Replace) parts are present; Kiln reads one or the other"
            : "neither a ByteLevel pre-tokenizer or decoder (byte-level BPE) nor a Metaspace pre-tokenizer or Replace "
                + "normalizer (SentencePiece-style BPE) is present; Kiln reads those two kinds of BPE tokenizer");
  }

  private MergeRanks merges(JsonObject model, Vocabulary vocab) {
    JsonElement merges = model.get("merges");
    if (merges == null || !merges.isJsonArray()) {
      throw error("model.merges", "must be an array, was " + describe(merges));
    }
    JsonArray array = merges.getAsJsonArray();
    MergeRanks ranks = new MergeRanks(array.size());
    for (int rank = 0; rank < array.size(); rank++) {
      JsonElement merge = array.get(rank);
      String where = "model.merges[" + rank + "]";
      String left;
      String right;
      if (merge.isJsonPrimitive() && merge.getAsJsonPrimitive().isString()) {
        String[] parts = merge.getAsString().split(" ", -1);
        if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
          throw error(
              where, "\"" + merge.getAsString() + "\" is not two tokens separated by one space");
        }
        left = parts[0];
        right = parts[1];
      } else if (merge.isJsonArray()
          && merge.getAsJsonArray().size() == 2
          && isString(merge.getAsJsonArray().get(0))
          && isString(merge.getAsJsonArray().get(1))) {
        left = merge.getAsJsonArray().get(0).getAsString();
        right = merge.getAsJsonArray().get(1).getAsString();
      } else {
        throw error(
            where, "must be a string \"a b\" or an array of two strings, was " + describe(merge));
      }
      String problem = Tokenizers.addMerge(ranks, vocab, rank, left, right);
      if (problem != null) {
        throw error(where, problem);
      }
    }
    return ranks;
  }

  /**
   * The id of the token tokenizer_config.json names under {@code key}, else the first of {@code
   * guesses} that is a control token.
   */
  private int configToken(
      JsonObject config,
      String key,
      Map<String, Integer> lookup,
      String[] guesses,
      TokenType[] types) {
    JsonElement value = config.get(key);
    if (value != null && !value.isJsonNull()) {
      String text =
          isString(value)
              ? value.getAsString()
              : value.isJsonObject() && isString(value.getAsJsonObject().get("content"))
                  ? value.getAsJsonObject().get("content").getAsString()
                  : null;
      if (text == null) {
        throw new TokenizerException(
            configFile
                + ": "
                + key
                + ": must be a string or an object with \"content\", was "
                + describe(value));
      }
      Integer id = lookup.get(text);
      if (id == null) {
        throw new TokenizerException(
            configFile + ": " + key + ": \"" + text + "\" is not a token of " + file);
      }
      return id;
    }
    for (String guess : guesses) {
      Integer id = lookup.get(guess);
      if (id != null && types[id] == TokenType.CONTROL) {
        return id;
      }
    }
    return -1;
  }

  /**
   * tokenizer_config.json's add_bos_token, else whether the post-processor's template starts with
   * the BOS token.
   */
  private boolean addBos(JsonObject root, JsonObject config, String bosText) {
    JsonElement value = config.get("add_bos_token");
    if (value != null && !value.isJsonNull()) {
      if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isBoolean()) {
        throw new TokenizerException(
            configFile + ": add_bos_token: must be true or false, was " + describe(value));
      }
      return value.getAsBoolean();
    }
    return bosText != null && templateStartsWith(root.get("post_processor"), bosText);
  }

  private static boolean templateStartsWith(JsonElement processor, String bosText) {
    if (processor == null || !processor.isJsonObject()) {
      return false;
    }
    JsonObject object = processor.getAsJsonObject();
    String type = isString(object.get("type")) ? object.get("type").getAsString() : "";
    if (type.equals("Sequence") && object.get("processors") instanceof JsonArray processors) {
      for (JsonElement p : processors) {
        if (templateStartsWith(p, bosText)) {
          return true;
        }
      }
      return false;
    }
    if (type.equals("TemplateProcessing")
        && object.get("single") instanceof JsonArray single
        && !single.isEmpty()
        && single.get(0) instanceof JsonObject first
        && first.get("SpecialToken") instanceof JsonObject special) {
      return isString(special.get("id")) && special.get("id").getAsString().equals(bosText);
    }
    return false;
  }

  private String chatTemplate(JsonObject config) {
    JsonElement value = config.get("chat_template");
    if (value != null && !value.isJsonNull()) {
      if (isString(value)) {
        return value.getAsString();
      }
      if (value.isJsonArray()) {
        // Several named templates: the one named "default".
        for (JsonElement entry : value.getAsJsonArray()) {
          if (entry instanceof JsonObject named
              && isString(named.get("name"))
              && isString(named.get("template"))
              && named.get("name").getAsString().equals("default")) {
            return named.get("template").getAsString();
          }
        }
        return null;
      }
      throw new TokenizerException(
          configFile
              + ": chat_template: must be a string or a list of named templates, was "
              + describe(value));
    }
    Path jinja = file.resolveSibling(TEMPLATE);
    if (!Files.isRegularFile(jinja)) {
      return null;
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(jinja)))
          .toString();
    } catch (CharacterCodingException e) {
      throw new TokenizerException(jinja + ": not valid UTF-8");
    } catch (IOException e) {
      throw new TokenizerException(jinja + ": cannot read: " + e.getMessage(), e);
    }
  }

  // ---- Byte-level parts.

  private Normalizer.Form normalization(JsonElement normalizer, String where) {
    List<Normalizer.Form> forms = new ArrayList<>();
    collectNormalization(normalizer, where, forms);
    if (forms.size() > 1) {
      throw error(where, "more than one Unicode normalization " + forms + " is not supported");
    }
    return forms.isEmpty() ? null : forms.getFirst();
  }

  private void collectNormalization(
      JsonElement normalizer, String where, List<Normalizer.Form> forms) {
    if (normalizer == null || normalizer.isJsonNull()) {
      return;
    }
    String type = type(normalizer, where);
    switch (type) {
      case "NFC", "NFD", "NFKC", "NFKD" -> forms.add(Normalizer.Form.valueOf(type));
      case "Sequence" -> {
        JsonArray items =
            array(normalizer.getAsJsonObject(), "normalizers", where + ".normalizers");
        for (int i = 0; i < items.size(); i++) {
          collectNormalization(items.get(i), where + ".normalizers[" + i + "]", forms);
        }
      }
      default ->
          throw error(
              where,
              "normalizer \""
                  + type
                  + "\" is not supported for byte-level BPE (Kiln reads NFC, "
                  + "NFD, NFKC, NFKD and Sequence)");
    }
  }

  private List<PreTokenizer.Step> preSteps(JsonElement pre, String where) {
    List<PreTokenizer.Step> steps = new ArrayList<>();
    collectSteps(pre, where, steps);
    return steps;
  }

  private void collectSteps(JsonElement pre, String where, List<PreTokenizer.Step> steps) {
    if (pre == null || pre.isJsonNull()) {
      return;
    }
    String type = type(pre, where);
    JsonObject object = pre.getAsJsonObject();
    switch (type) {
      case "Sequence" -> {
        JsonArray items = array(object, "pretokenizers", where + ".pretokenizers");
        for (int i = 0; i < items.size(); i++) {
          collectSteps(items.get(i), where + ".pretokenizers[" + i + "]", steps);
        }
      }
      case "ByteLevel" -> {
        if (bool(object, "add_prefix_space", where + ".add_prefix_space", true)) {
          steps.add(PreTokenizer.Step.PREFIX_SPACE);
        }
        if (bool(object, "use_regex", where + ".use_regex", true)) {
          steps.add(PreTokenizer.Step.split(PreTokenizer.GPT2));
        }
      }
      case "Split" -> {
        String behavior = string(object, "behavior", where + ".behavior");
        if (behavior != null && !behavior.equals("Isolated")) {
          throw error(
              where + ".behavior", "\"" + behavior + "\" is not supported (Kiln reads Isolated)");
        }
        if (bool(object, "invert", where + ".invert", false)) {
          throw error(where + ".invert", "an inverted split is not supported");
        }
        JsonObject pattern = object(object, "pattern", where + ".pattern");
        if (pattern != null && isString(pattern.get("Regex"))) {
          String regex = pattern.get("Regex").getAsString();
          try {
            steps.add(new PreTokenizer.Step(PreTokenizer.compile(regex)));
          } catch (PatternSyntaxException e) {
            throw error(
                where + ".pattern.Regex",
                "Java cannot compile \"" + regex + "\": " + e.getDescription());
          }
        } else if (pattern != null && isString(pattern.get("String"))) {
          steps.add(
              new PreTokenizer.Step(
                  PreTokenizer.compile(Pattern.quote(pattern.get("String").getAsString()))));
        } else {
          throw error(
              where + ".pattern",
              "must be {\"Regex\": ...} or {\"String\": ...}, was " + describe(pattern));
        }
      }
      case "Digits" ->
          steps.add(
              PreTokenizer.Step.split(
                  bool(object, "individual_digits", where + ".individual_digits", false)
                      ? "\\p{N}"
                      : "\\p{N}+"));
      default ->
          throw error(
              where,
              "pre-tokenizer \""
                  + type
                  + "\" is not supported for byte-level BPE (Kiln reads "
                  + "ByteLevel, Split, Digits and Sequence)");
    }
  }

  // ---- SentencePiece-style parts.

  private SentencePieceTokenizer.Options spmOptions(
      JsonElement normalizer, JsonElement pre, boolean byteFallback, boolean fuseUnk) {
    String[] space = {null};
    boolean[] prepend = {false};
    collectSpmNormalizer(normalizer, "normalizer", space, prepend);
    SentencePieceTokenizer.Prefix prefix =
        prepend[0] ? SentencePieceTokenizer.Prefix.ALWAYS : SentencePieceTokenizer.Prefix.NONE;
    boolean unlessPresent = false;
    boolean split = false;
    if (pre != null && !pre.isJsonNull() && type(pre, "pre_tokenizer").equals("Split")) {
      checkNoOpSplit(pre.getAsJsonObject(), space[0]);
    } else if (pre != null && !pre.isJsonNull()) {
      String type = type(pre, "pre_tokenizer");
      if (!type.equals("Metaspace")) {
        throw error(
            "pre_tokenizer",
            "\""
                + type
                + "\" is not supported for SentencePiece-style BPE (Kiln reads "
                + "Metaspace, none, or a Split on \" \" after a Replace normalizer)");
      }
      JsonObject object = pre.getAsJsonObject();
      String replacement = string(object, "replacement", "pre_tokenizer.replacement");
      if (replacement == null || replacement.isEmpty()) {
        throw error("pre_tokenizer.replacement", "missing");
      }
      if (space[0] != null && !space[0].equals(replacement)) {
        throw error(
            "pre_tokenizer.replacement",
            "\"" + replacement + "\" differs from the normalizer's \"" + space[0] + "\"");
      }
      space[0] = replacement;
      String scheme = string(object, "prepend_scheme", "pre_tokenizer.prepend_scheme");
      if (scheme == null) {
        scheme =
            bool(object, "add_prefix_space", "pre_tokenizer.add_prefix_space", true)
                ? "always"
                : "never";
      }
      SentencePieceTokenizer.Prefix metaspacePrefix =
          switch (scheme) {
            case "always" -> SentencePieceTokenizer.Prefix.ALWAYS;
            case "first" -> SentencePieceTokenizer.Prefix.FIRST;
            case "never" -> SentencePieceTokenizer.Prefix.NONE;
            default ->
                throw error(
                    "pre_tokenizer.prepend_scheme",
                    "\"" + scheme + "\" is not always, first or never");
          };
      if (!prepend[0]) {
        prefix = metaspacePrefix; // a Prepend normalizer already puts the prefix everywhere
      }
      unlessPresent = prefix != SentencePieceTokenizer.Prefix.NONE && !prepend[0];
      split = bool(object, "split", "pre_tokenizer.split", true);
    }
    if (space[0] == null) {
      throw error(
          "normalizer",
          "nothing replaces spaces with \"▁\" (a Replace normalizer or a Metaspace "
              + "pre-tokenizer), so this is not a SentencePiece-style tokenizer Kiln reads");
    }
    return new SentencePieceTokenizer.Options(
        space[0], prefix, unlessPresent, split, byteFallback, fuseUnk, true);
  }

  /**
   * Gemma's pre-tokenizer: a {@code Split} on the string {@code " "}, not inverted, after a {@code
   * Replace} normalizer has written every space as the space symbol. No space is left to split on,
   * so it does nothing, whatever its behavior; any other Split would cut the text into pieces that
   * merges cannot cross, which Kiln does not do for SentencePiece-style BPE.
   */
  private void checkNoOpSplit(JsonObject split, String replacedSpace) {
    String where = "pre_tokenizer";
    JsonObject pattern = object(split, "pattern", where + ".pattern");
    String string = pattern != null ? string(pattern, "String", where + ".pattern.String") : null;
    boolean inverted = bool(split, "invert", where + ".invert", false);
    if (string == null || !string.equals(" ") || inverted || replacedSpace == null) {
      throw error(
          where,
          "\"Split\" is not supported for SentencePiece-style BPE, except a Split on the string \" \" "
              + "(not inverted) after a Replace normalizer of \" \", which does nothing (Gemma's); was "
              + split
              + (replacedSpace == null ? " with no Replace normalizer" : ""));
    }
    String behavior = string(split, "behavior", where + ".behavior");
    if (behavior != null
        && !List.of("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous")
            .contains(behavior)) {
      throw error(where + ".behavior", "\"" + behavior + "\" is not a Split behavior");
    }
  }

  private void collectSpmNormalizer(
      JsonElement normalizer, String where, String[] space, boolean[] prepend) {
    if (normalizer == null || normalizer.isJsonNull()) {
      return;
    }
    String type = type(normalizer, where);
    JsonObject object = normalizer.getAsJsonObject();
    switch (type) {
      case "Sequence" -> {
        JsonArray items = array(object, "normalizers", where + ".normalizers");
        for (int i = 0; i < items.size(); i++) {
          collectSpmNormalizer(items.get(i), where + ".normalizers[" + i + "]", space, prepend);
        }
      }
      case "Replace" -> {
        JsonObject pattern = object(object, "pattern", where + ".pattern");
        String content = string(object, "content", where + ".content");
        if (pattern == null
            || !isString(pattern.get("String"))
            || !pattern.get("String").getAsString().equals(" ")
            || content == null
            || content.isEmpty()) {
          throw error(
              where,
              "only a Replace of the string \" \" by a space symbol is supported, was "
                  + normalizer);
        }
        space[0] = content;
      }
      case "Prepend" -> {
        String value = string(object, "prepend", where + ".prepend");
        if (value == null || value.isEmpty()) {
          throw error(where + ".prepend", "missing");
        }
        if (space[0] != null && !space[0].equals(value)) {
          throw error(
              where + ".prepend",
              "\"" + value + "\" differs from the space symbol \"" + space[0] + "\"");
        }
        prepend[0] = true;
      }
      default ->
          throw error(
              where,
              "normalizer \""
                  + type
                  + "\" is not supported for SentencePiece-style BPE (Kiln "
                  + "reads Replace, Prepend and Sequence)");
    }
  }

  // ---- JSON helpers.

  private static boolean hasType(JsonElement element, String type) {
    if (element == null || !element.isJsonObject()) {
      return false;
    }
    JsonObject object = element.getAsJsonObject();
    if (isString(object.get("type")) && object.get("type").getAsString().equals(type)) {
      return true;
    }
    for (String list : new String[] {"pretokenizers", "normalizers", "decoders", "processors"}) {
      if (object.get(list) instanceof JsonArray items) {
        for (JsonElement item : items) {
          if (hasType(item, type)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  private String type(JsonElement element, String where) {
    if (!element.isJsonObject()) {
      throw error(where, "must be an object, was " + describe(element));
    }
    String type = string(element.getAsJsonObject(), "type", where + ".type");
    if (type == null) {
      throw error(where + ".type", "missing");
    }
    return type;
  }

  private int id(JsonElement value, String where) {
    if (!isNumber(value)) {
      throw error(where, "must be a token id (a non-negative integer), was " + describe(value));
    }
    BigDecimal number = value.getAsBigDecimal();
    try {
      int id = number.intValueExact();
      if (id < 0) {
        throw new ArithmeticException();
      }
      return id;
    } catch (ArithmeticException e) {
      throw error(where, "must be a token id (a non-negative integer), was " + number);
    }
  }

  private String string(JsonObject object, String key, String where) {
    JsonElement value = object.get(key);
    if (value == null || value.isJsonNull()) {
      return null;
    }
    if (!isString(value)) {
      throw error(where, "must be a string, was " + describe(value));
    }
    return value.getAsString();
  }

  private boolean bool(JsonObject object, String key, String where, boolean otherwise) {
    JsonElement value = object.get(key);
    if (value == null || value.isJsonNull()) {
      return otherwise;
    }
    if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isBoolean()) {
      throw error(where, "must be true or false, was " + describe(value));
    }
    return value.getAsBoolean();
  }

  private JsonObject object(JsonObject object, String key, String where) {
    JsonElement value = object.get(key);
    if (value == null || value.isJsonNull()) {
      return null;
    }
    if (!value.isJsonObject()) {
      throw error(where, "must be an object, was " + describe(value));
    }
    return value.getAsJsonObject();
  }

  private JsonArray array(JsonObject object, String key, String where) {
    JsonElement value = object.get(key);
    if (value == null || !value.isJsonArray()) {
      throw error(where, "must be an array, was " + describe(value));
    }
    return value.getAsJsonArray();
  }

  private static boolean isString(JsonElement value) {
    return value != null && value.isJsonPrimitive() && value.getAsJsonPrimitive().isString();
  }

  private static boolean isNumber(JsonElement value) {
    return value != null && value.isJsonPrimitive() && value.getAsJsonPrimitive().isNumber();
  }

  private static String describe(JsonElement value) {
    if (value == null) {
      return "missing";
    }
    String text =
        value instanceof JsonPrimitive
            ? value.toString()
            : value.isJsonArray() ? "an array" : value.isJsonObject() ? "an object" : "null";
    return text.length() > 80 ? text.substring(0, 77) + "..." : text;
  }
}
