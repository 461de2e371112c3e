package dev.kiln.weights;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Reads small JSON files (a Hugging Face {@code config.json} or safetensors index) strictly: UTF-8,
 * RFC 8259 syntax only (no comments, unquoted names or NaN), one top-level object, no key twice in
 * one object, and numbers kept exact as {@link BigDecimal}. Every problem is a {@link
 * WeightLoadException} naming the file.
 */
public final class StrictJson {
  /** Larger than any config or index file (an index of a 100k-tensor model is a few MB). */
  static final long MAX_BYTES = 64L << 20;

  private StrictJson() {}

  /**
   * The file's top-level object; {@code what} describes the file for messages ("config", "index").
   */
  public static JsonObject readObject(Path file, String what) {
    String problem = RegularFiles.problem(file);
    if (problem != null && !problem.equals("no such file")) {
      throw new WeightLoadException(file + ": " + problem + " (the " + what + ")");
    }
    byte[] bytes;
    try {
      long size = Files.size(file);
      if (size > MAX_BYTES) {
        throw new WeightLoadException(
            file
                + ": "
                + what
                + " is "
                + size
                + " bytes, more than the "
                + MAX_BYTES
                + "-byte limit");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new WeightLoadException(file + ": no such file (the " + what + ")");
    } catch (IOException e) {
      throw new WeightLoadException(file + ": cannot read the " + what + ": " + e.getMessage(), e);
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      throw new WeightLoadException(file + ": the " + what + " is not valid UTF-8");
    }
    if (text.startsWith("\uFEFF")) {
      text = text.substring(1);
    }
    return parseObject(text, what, message -> new WeightLoadException(file + ": " + message));
  }

  /**
   * {@code text} as one JSON object, read as strictly as {@link #readObject} reads a file. Problems
   * are {@code error("the " + what + " ...")}: Kiln's own words, with Gson's line, column and JSON
   * path where it gives them, never Gson's class names or advice.
   */
  public static JsonObject parseObject(
      String text, String what, Function<String, WeightLoadException> error) {
    try (JsonReader reader = new JsonReader(new StringReader(text))) {
      reader.setStrictness(Strictness.STRICT);
      if (reader.peek() != JsonToken.BEGIN_OBJECT) {
        throw error.apply("the " + what + " is not a JSON object");
      }
      JsonElement root = read(error, what, reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) {
        throw error.apply("the " + what + " has content after its JSON object");
      }
      return root.getAsJsonObject();
    } catch (IOException | IllegalStateException | NumberFormatException e) {
      // MalformedJsonException and EOFException are IOExceptions; the reader names line and column.
      WeightLoadException problem = error.apply("the " + what + " is not valid JSON: " + reason(e));
      problem.initCause(e);
      throw problem;
    }
  }

  /** Gson's message without its advice to parse leniently or its troubleshooting link. */
  private static String reason(Exception e) {
    String message = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
    return message
        .replace(
            "Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON",
            "malformed JSON")
        .replaceAll("\\s*See https?://\\S+", "")
        .strip();
  }

  private static JsonElement read(
      Function<String, WeightLoadException> error, String what, JsonReader reader)
      throws IOException {
    switch (reader.peek()) {
      case BEGIN_OBJECT -> {
        JsonObject object = new JsonObject();
        reader.beginObject();
        while (reader.hasNext()) {
          String path = reader.getPath();
          String name = reader.nextName();
          if (object.has(name)) {
            throw error.apply(
                "the "
                    + what
                    + " has the key \""
                    + dev.kiln.ProblemList.shorten(name, 200)
                    + "\" twice in one object ("
                    + dev.kiln.ProblemList.shorten(path, 200)
                    + ")");
          }
          object.add(name, read(error, what, reader));
        }
        reader.endObject();
        return object;
      }
      case BEGIN_ARRAY -> {
        JsonArray array = new JsonArray();
        reader.beginArray();
        while (reader.hasNext()) {
          array.add(read(error, what, reader));
        }
        reader.endArray();
        return array;
      }
      case STRING -> {
        return new JsonPrimitive(reader.nextString());
      }
      case NUMBER -> {
        String path = reader.getPath();
        String literal = reader.nextString();
        try {
          return new JsonPrimitive(new BigDecimal(literal));
        } catch (NumberFormatException e) {
          throw error.apply(
              "the " + what + " has a number out of range at " + path + ": " + literal);
        }
      }
      case BOOLEAN -> {
        return new JsonPrimitive(reader.nextBoolean());
      }
      case NULL -> {
        reader.nextNull();
        return JsonNull.INSTANCE;
      }
      default -> throw error.apply("the " + what + " is not valid JSON at " + reader.getPath());
    }
  }
}
