package dev.kiln.processor;

import static com.google.common.truth.Truth.assertThat;
import static com.google.testing.compile.CompilationSubject.assertThat;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import com.google.testing.compile.JavaFileObjects;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.JavaFileObject;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The generated TornadoVM decoders type-check, in the default build: the spec is compiled together
 * with a small stub of TornadoVM's API and of Kiln's TornadoVM support ({@code
 * src/test/resources/tornado-stub/}, only what the generated decoders use), so the processor finds
 * them, writes {@code XTornadoDecoder} as a source rather than a resource, and javac compiles it
 * with every lint on and warnings as errors. The tornado profile compiles them against the real
 * TornadoVM.
 */
class TornadoStubCompileTest {
  static Stream<GeneratedSourceTest.Example> examples() {
    return Stream.concat(
        GeneratedSourceTest.examples(),
        Stream.of(
            new GeneratedSourceTest.Example(
                "dev.kiln.examples.specs.GemmaLike", "test", null, null, null, null, 0),
            new GeneratedSourceTest.Example(
                "dev.kiln.examples.specs.QwenLike", "test", null, null, null, null, 0),
            new GeneratedSourceTest.Example(
                "dev.kiln.examples.specs.ConformanceQwen3", "test", null, null, null, null, 0),
            new GeneratedSourceTest.Example(
                "dev.kiln.examples.specs.ConformanceLlama3Rope",
                "test",
                null,
                null,
                null,
                null,
                0)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("examples")
  void tornadoDecoderCompilesAgainstTheStub(GeneratedSourceTest.Example example) {
    List<JavaFileObject> sources = new ArrayList<>(stubs());
    sources.add(ExampleSpecs.source(example.sourceSet(), example.qualifiedName()));
    Compilation compilation =
        Compiler.javac()
            .withProcessors(new KilnProcessor())
            .withOptions(GeneratedSourceTest.STRICT)
            .compile(sources);

    assertThat(compilation).succeededWithoutWarnings();
    assertThat(compilation).generatedSourceFile(example.base() + "TornadoDecoder");
  }

  /** The stub's sources. */
  static List<JavaFileObject> stubs() {
    Path root = ExampleSpecs.repositoryRoot().resolve("processor/src/test/resources/tornado-stub");
    try (Stream<Path> files = Files.walk(root)) {
      List<JavaFileObject> result = new ArrayList<>();
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
        String name = root.relativize(file).toString().replace('/', '.').replaceAll("\\.java$", "");
        result.add(JavaFileObjects.forSourceString(name, Files.readString(file)));
      }
      assertThat(result).isNotEmpty();
      return result;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
