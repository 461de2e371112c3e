package dev.kiln.processor;

import static com.google.common.truth.Truth.assertWithMessage;
import static com.google.testing.compile.CompilationSubject.assertThat;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.JavaFileObject;
import javax.tools.StandardLocation;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The generated sources of a few representative specs, exactly as written, against checked-in
 * golden files under {@code src/test/resources/golden/}: a Llama (SeedLlama), a GQA spec
 * (GqaTwoKvHeads), a Gemma-like spec (sandwich norms, GELU, soft-capping, sliding window) and a
 * Qwen-like one (biases, per-head q/k norms); the TornadoVM decoder of the first and third. A
 * change to a backend shows up here as a diff to review; after reviewing it, rewrite the golden
 * files with
 *
 * <pre>./mvnw -o verify -pl processor -am -Dtest=GoldenSourceTest -Dkiln.updateGoldens=true</pre>
 */
class GoldenSourceTest {
  static final String UPDATE_PROPERTY = "kiln.updateGoldens";

  /** One spec: where its source is, and whether its TornadoVM decoder has a golden file too. */
  record Golden(String qualifiedName, String sourceSet, boolean tornado) {
    String simpleName() {
      return qualifiedName.substring(qualifiedName.lastIndexOf('.') + 1);
    }

    @Override
    public String toString() {
      return simpleName();
    }
  }

  static Stream<Arguments> files() {
    List<Arguments> files = new ArrayList<>();
    for (Golden golden :
        List.of(
            new Golden("dev.kiln.examples.SeedLlama", "main", true),
            new Golden("dev.kiln.examples.specs.GqaTwoKvHeads", "test", false),
            new Golden("dev.kiln.examples.specs.GemmaLike", "test", true),
            new Golden("dev.kiln.examples.specs.QwenLike", "test", false))) {
      for (String suffix : List.of("Decoder", "Attention", "Weights")) {
        files.add(Arguments.of(golden, suffix));
      }
      if (golden.tornado()) {
        files.add(Arguments.of(golden, "TornadoDecoder"));
      }
    }
    return files.stream();
  }

  @ParameterizedTest(name = "{0}{1}")
  @MethodSource("files")
  void generatedSourceMatchesItsGoldenFile(Golden golden, String suffix) throws IOException {
    Compilation compilation =
        Compiler.javac()
            .withProcessors(new KilnProcessor())
            .withOptions(GeneratedSourceTest.STRICT)
            .compile(ExampleSpecs.source(golden.sourceSet(), golden.qualifiedName()));
    assertThat(compilation).succeededWithoutWarnings();
    String actual =
        suffix.equals("TornadoDecoder")
            ? tornadoResource(compilation, golden.qualifiedName())
            : GeneratedSourceTest.generated(compilation, golden.qualifiedName() + suffix);

    Path file = goldenDirectory().resolve(golden.simpleName() + suffix + ".java");
    if (Boolean.getBoolean(UPDATE_PROPERTY)) {
      Files.createDirectories(file.getParent());
      Files.writeString(file, actual);
      return;
    }
    assertWithMessage("golden file %s is missing; write it with -D%s=true", file, UPDATE_PROPERTY)
        .that(Files.exists(file))
        .isTrue();
    String expected = Files.readString(file);
    if (!expected.equals(actual)) {
      assertWithMessage(
              "%s differs from its golden file %s at %s; if the change is intended, rewrite the"
                  + " golden files with -D%s=true",
              golden.simpleName() + suffix,
              file,
              firstDifference(expected, actual),
              UPDATE_PROPERTY)
          .that(actual)
          .isEqualTo(expected);
    }
  }

  /**
   * The golden files' directory, in the sources (not the copy on the class path), so an update
   * lands there.
   */
  static Path goldenDirectory() {
    return ExampleSpecs.repositoryRoot().resolve("processor/src/test/resources/golden");
  }

  private static String tornadoResource(Compilation compilation, String qualifiedName) {
    String path =
        KilnProcessor.TORNADO_RESOURCE_ROOT
            + qualifiedName.replace('.', '/')
            + "TornadoDecoder.java";
    JavaFileObject resource =
        compilation
            .generatedFile(StandardLocation.CLASS_OUTPUT, "", path)
            .orElseThrow(() -> new AssertionError("not written: " + path));
    try {
      return resource.getCharContent(true).toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** "line N: expected ... but was ...", for the first line that differs. */
  private static String firstDifference(String expected, String actual) {
    String[] e = expected.split("\n", -1);
    String[] a = actual.split("\n", -1);
    for (int i = 0; i < Math.max(e.length, a.length); i++) {
      String el = i < e.length ? e[i] : "<end of file>";
      String al = i < a.length ? a[i] : "<end of file>";
      if (!el.equals(al)) {
        return "line "
            + (i + 1)
            + ": expected \""
            + el.strip()
            + "\" but was \""
            + al.strip()
            + "\"";
      }
    }
    return "the end";
  }
}
