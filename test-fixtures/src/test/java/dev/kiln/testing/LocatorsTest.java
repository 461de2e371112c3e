package dev.kiln.testing;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

/**
 * The locators' contract: a folder not named skips the tests that need it; a folder named but wrong
 * or incomplete fails them, saying which file it lacks; relative paths resolve against the
 * repository root.
 */
class LocatorsTest {
  private static final List<String> PROPERTIES =
      List.of(SharedConformance.PROPERTY, SharedTokenizers.PROPERTY, Repository.ROOT_PROPERTY);
  private final Map<String, String> saved = new java.util.HashMap<>();

  @TempDir Path dir;

  @BeforeEach
  void saveProperties() {
    PROPERTIES.forEach(p -> saved.put(p, System.getProperty(p)));
    System.setProperty(Repository.ROOT_PROPERTY, dir.toString());
  }

  @AfterEach
  void restoreProperties() {
    saved.forEach(
        (p, value) -> {
          if (value == null) {
            System.clearProperty(p);
          } else {
            System.setProperty(p, value);
          }
        });
  }

  private static final SharedConformance TWO =
      new SharedConformance(List.of("a", "b"), List.of("x.bin", "sub/y.json"));

  private void touch(String... paths) throws IOException {
    for (String path : paths) {
      Path file = dir.resolve(path);
      Files.createDirectories(file.getParent());
      Files.writeString(file, "{}");
    }
  }

  @Test
  void conformanceNotGivenSkips() {
    System.clearProperty(SharedConformance.PROPERTY);
    assertThat(TWO.root()).isEmpty();
    System.setProperty(SharedConformance.PROPERTY, "  ");
    assertThat(TWO.root()).isEmpty();
    var skipped = assertThrows(TestAbortedException.class, () -> TWO.model("a"));
    assertThat(skipped)
        .hasMessageThat()
        .contains("-Dkiln.conformance=DIR not given: shared conformance models not checked");
  }

  @Test
  void conformanceWrongPathFails() {
    System.setProperty(SharedConformance.PROPERTY, "no-such-folder");
    Path expected = dir.resolve("no-such-folder/a/x.bin");
    for (var call : List.<Runnable>of(TWO::root, () -> TWO.model("b"))) {
      var failure = assertThrows(AssertionError.class, call::run);
      assertThat(failure)
          .hasMessageThat()
          .startsWith(
              "-Dkiln.conformance=no-such-folder: expected " + expected + " (is the path right?)");
    }
  }

  @Test
  void conformanceIncompleteFolderFailsAtTheFirstMissingFile() throws IOException {
    touch("shared/a/x.bin", "shared/a/sub/y.json", "shared/b/x.bin");
    System.setProperty(SharedConformance.PROPERTY, dir.resolve("shared").toString());
    var failure = assertThrows(AssertionError.class, TWO::root);
    assertThat(failure)
        .hasMessageThat()
        .contains("expected " + dir.resolve("shared/b/sub/y.json") + " (is the path right?)");
  }

  @Test
  void conformanceRelativePathResolvesAgainstTheRepositoryRoot() throws IOException {
    touch("shared/a/x.bin", "shared/a/sub/y.json", "shared/b/x.bin", "shared/b/sub/y.json");
    System.setProperty(SharedConformance.PROPERTY, "./other/../shared");
    assertThat(TWO.root()).hasValue(dir.resolve("shared"));
    assertThat(TWO.model("b")).isEqualTo(dir.resolve("shared/b"));
  }

  @Test
  void everyGroupChecksFilesOfTheSharedLayout() {
    for (SharedConformance group :
        List.of(
            SharedConformance.GOLDENS,
            SharedConformance.LLAMA_GGUF,
            SharedConformance.LLAMA_CHECKPOINTS,
            SharedConformance.GQA_GGUF)) {
      assertThat(SharedConformance.MODELS).containsAtLeastElementsIn(group.models());
      assertThat(group.files()).isNotEmpty();
    }
  }

  private void sharedTokenizers() throws IOException {
    for (String file : SharedTokenizers.SHARED_FILES) {
      touch("tok/" + file);
    }
    for (String model : SharedTokenizers.REQUIRED) {
      for (String file : SharedTokenizers.MODEL_FILES) {
        touch("tok/" + model + "/" + file);
      }
    }
  }

  @Test
  void tokenizersNotGivenSkips() {
    System.clearProperty(SharedTokenizers.PROPERTY);
    assertThat(SharedTokenizers.root()).isEmpty();
    var skipped = assertThrows(TestAbortedException.class, () -> SharedTokenizers.model("qwen3"));
    assertThat(skipped)
        .hasMessageThat()
        .contains("-Dkiln.tokenizers=DIR not given: real tokenizers not checked");
  }

  @Test
  void tokenizersWrongPathFails() {
    System.setProperty(SharedTokenizers.PROPERTY, "no-such-folder");
    var failure = assertThrows(AssertionError.class, SharedTokenizers::requireRoot);
    assertThat(failure)
        .hasMessageThat()
        .startsWith(
            "-Dkiln.tokenizers=no-such-folder: expected a folder at "
                + dir.resolve("no-such-folder")
                + " (is the path right?)");
  }

  @Test
  void tokenizersIncompleteFolderFails() throws IOException {
    sharedTokenizers();
    Files.delete(dir.resolve("tok/qwen3/chat-public.jsonl"));
    System.setProperty(SharedTokenizers.PROPERTY, "tok");
    var failure = assertThrows(AssertionError.class, SharedTokenizers::root);
    assertThat(failure)
        .hasMessageThat()
        .startsWith(
            "-Dkiln.tokenizers=tok: expected "
                + dir.resolve("tok/qwen3/chat-public.jsonl")
                + " (is the path right?)");
  }

  @Test
  void optionalTokenizersSkipWhenAbsentAndFailWhenPartial() throws IOException {
    sharedTokenizers();
    System.setProperty(SharedTokenizers.PROPERTY, "tok");
    assertThat(SharedTokenizers.model("qwen3")).isEqualTo(dir.resolve("tok/qwen3"));
    assertThrows(TestAbortedException.class, () -> SharedTokenizers.model("llama3"));
    touch(
        "tok/gemma3/tokenizer.json.gz",
        "tok/gemma3/tokenizer_config.json",
        "tok/gemma3/ref-public.jsonl");
    var failure = assertThrows(AssertionError.class, () -> SharedTokenizers.model("gemma3"));
    assertThat(failure)
        .hasMessageThat()
        .contains("expected " + dir.resolve("tok/gemma3/chat-public.jsonl"));
    touch("tok/gemma3/chat-public.jsonl");
    assertThat(SharedTokenizers.model("gemma3")).isEqualTo(dir.resolve("tok/gemma3"));
  }

  @Test
  void gzippedTokenizersAreUnpackedAndEachIsReadOnce(@TempDir Path temp) throws IOException {
    Path model = dir.resolve("gz-model");
    Files.createDirectories(model);
    try (var out =
        new java.util.zip.GZIPOutputStream(
            Files.newOutputStream(model.resolve("tokenizer.json.gz")))) {
      out.write("{\"unpacked\": true}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    Files.writeString(model.resolve("tokenizer_config.json"), "{}");
    int[] reads = {0};
    Function<Path, String> reader =
        folder -> {
          reads[0]++;
          try {
            return Files.readString(folder.resolve("tokenizer.json"));
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        };
    assertThat(SharedTokenizers.load(model, temp, reader)).isEqualTo("{\"unpacked\": true}");
    assertThat(SharedTokenizers.load(model, temp, reader)).isEqualTo("{\"unpacked\": true}");
    assertThat(reads[0]).isEqualTo(1);
    assertThat(Files.isRegularFile(temp.resolve("gz-model/tokenizer_config.json"))).isTrue();
  }

  @Test
  void bundledTinyHoldsItsGolden() {
    restoreProperties(); // the build's repository root
    Golden tiny = Golden.read(Repository.bundledTiny());
    assertThat(tiny.name()).isEqualTo("tiny");
    assertThat(tiny.prompt()).isNotEmpty();
    assertThat(tiny.greedyTokens())
        .hasLength(Golden.json(Repository.bundledTiny()).getAsJsonArray("greedy_tokens").size());
    assertThat(tiny.kvPromptLogits()).hasLength(tiny.prompt().length);
  }

  @Test
  void withoutTheBuildsPropertyTheRootIsFoundFromTheWorkingDirectory() {
    System.clearProperty(Repository.ROOT_PROPERTY);
    Path root = Repository.root();
    assertThat(Files.isRegularFile(root.resolve("mvnw"))).isTrue();
    assertThat(Files.isDirectory(root.resolve("test-fixtures"))).isTrue();
  }
}
