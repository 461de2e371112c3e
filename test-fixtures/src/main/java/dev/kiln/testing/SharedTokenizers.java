package dev.kiln.testing;

import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Assumptions;

/**
 * The real tokenizers with reference tokenizations, in the folder the build names with {@code
 * -Dkiln.tokenizers=DIR} (relative paths resolve against the repository root): per model a folder
 * with {@code tokenizer.json}, {@code tokenizer_config.json}, {@code ref-public.jsonl} and {@code
 * chat-public.jsonl}, and beside them {@code corpus-public.jsonl} and {@code chats-public.jsonl}.
 * Without the property, tests that need them are skipped; with it, a missing folder or file is a
 * failure. {@link #REQUIRED} models must be there; {@link #OPTIONAL} ones (whose licenses keep them
 * out of the shared folder) are checked when present, and may hold {@code tokenizer.json.gz}
 * instead of {@code tokenizer.json}.
 */
public final class SharedTokenizers {
  public static final String PROPERTY = "kiln.tokenizers";
  public static final List<String> REQUIRED = List.of("mistral7b", "qwen3");
  public static final List<String> OPTIONAL = List.of("llama3", "gemma3");
  public static final List<String> MODEL_FILES =
      List.of("tokenizer.json", "tokenizer_config.json", "ref-public.jsonl", "chat-public.jsonl");
  public static final List<String> SHARED_FILES =
      List.of("corpus-public.jsonl", "chats-public.jsonl");

  private SharedTokenizers() {}

  /** The folder if the build names one; fails if it names one that is not there or lacks a file. */
  public static Optional<Path> root() {
    String property = System.getProperty(PROPERTY, "").trim();
    if (property.isEmpty()) {
      return Optional.empty();
    }
    Path root = Repository.resolve(property);
    assertWithMessage(
            "-D%s=%s: expected a folder at %s (is the path right?)", PROPERTY, property, root)
        .that(Files.isDirectory(root))
        .isTrue();
    for (String file : SHARED_FILES) {
      expectFile(property, root.resolve(file));
    }
    for (String model : REQUIRED) {
      for (String file : MODEL_FILES) {
        expectFile(property, root.resolve(model).resolve(file));
      }
    }
    return Optional.of(root);
  }

  private static void expectFile(String property, Path path) {
    assertWithMessage("-D%s=%s: expected %s (is the path right?)", PROPERTY, property, path)
        .that(Files.isRegularFile(path))
        .isTrue();
  }

  /** The shared folder; skips the test when the build names none. */
  public static Path requireRoot() {
    Optional<Path> root = root();
    Assumptions.assumeTrue(
        root.isPresent(),
        "-D"
            + PROPERTY
            + "=DIR not given: real tokenizers not checked (pass e.g. -D"
            + PROPERTY
            + "=../shared/tokenizers)");
    return root.get();
  }

  /**
   * One model's folder; skips the test when the build names no folder, or when an {@link #OPTIONAL}
   * model is absent from it (a partial optional folder fails).
   */
  public static Path model(String name) {
    Path root = requireRoot();
    Path dir = root.resolve(name);
    if (OPTIONAL.contains(name)) {
      Assumptions.assumeTrue(
          Files.isDirectory(dir),
          name
              + "/ is not in "
              + root
              + " (its license keeps it out of the "
              + "shared folder; unpack it there locally to check it)");
      for (String file : MODEL_FILES) {
        if (file.equals("tokenizer.json")
            && Files.isRegularFile(dir.resolve("tokenizer.json.gz"))) {
          continue; // gemma3/ holds it gzipped
        }
        expectFile(System.getProperty(PROPERTY), dir.resolve(file));
      }
    }
    return dir;
  }

  private static final Map<Path, Object> LOADED = new ConcurrentHashMap<>();

  /**
   * A model's tokenizer as {@code fromHfFolder} reads it from a Hugging Face folder, read once per
   * test run (tokenizers are immutable). {@code gemma3/} holds {@code tokenizer.json.gz} (the file
   * is 33 MB unpacked); it is unpacked into {@code temp} with the config beside it.
   */
  public static <T> T load(Path dir, Path temp, Function<Path, T> fromHfFolder) throws IOException {
    @SuppressWarnings("unchecked")
    T loaded = (T) LOADED.get(dir);
    if (loaded == null) {
      loaded = fromHfFolder.apply(hfFolder(dir, temp));
      LOADED.put(dir, loaded);
    }
    return loaded;
  }

  private static Path hfFolder(Path dir, Path temp) throws IOException {
    Path gz = dir.resolve("tokenizer.json.gz");
    if (Files.isRegularFile(dir.resolve("tokenizer.json")) || !Files.isRegularFile(gz)) {
      return dir;
    }
    Path copy = Files.createDirectories(temp.resolve(dir.getFileName().toString()));
    try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
      Files.copy(in, copy.resolve("tokenizer.json"));
    }
    Files.copy(dir.resolve("tokenizer_config.json"), copy.resolve("tokenizer_config.json"));
    return copy;
  }

  /** The JSON objects of a {@code .jsonl} file, one a line. */
  public static List<JsonObject> readJsonLines(Path file) {
    try {
      return Files.readAllLines(file).stream()
          .filter(line -> !line.isBlank())
          .map(line -> JsonParser.parseString(line).getAsJsonObject())
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
