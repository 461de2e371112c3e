package dev.kiln.processor;

import static com.google.common.truth.Truth.assertWithMessage;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import com.google.testing.compile.JavaFileObjects;
import dev.kiln.testing.Repository;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.tools.JavaFileObject;

/**
 * The real specs of the examples module, read from its sources (the examples module depends on the
 * processor, so its classes cannot be on this module's test classpath).
 */
final class ExampleSpecs {
  private ExampleSpecs() {}

  /** The compilations made so far, by source set, class name and javac options. */
  private static final Map<List<Object>, Compilation> COMPILED = new ConcurrentHashMap<>();

  /**
   * An example's source compiled with the Kiln processor and {@code options}, once per test run:
   * the tests that only read what a compilation generated or reported share it (a {@link
   * Compilation} is immutable).
   */
  static Compilation compiled(String sourceSet, String qualifiedName, List<String> options) {
    return COMPILED.computeIfAbsent(
        List.of(sourceSet, qualifiedName, List.copyOf(options)),
        key ->
            Compiler.javac()
                .withProcessors(new KilnProcessor())
                .withOptions(options)
                .compile(source(sourceSet, qualifiedName)));
  }

  /** The repository root (see {@link Repository#root()}). */
  static Path repositoryRoot() {
    Path root = Repository.root();
    assertWithMessage("repository root %s has no examples module", root.toAbsolutePath())
        .that(Files.isDirectory(root.resolve("examples/src")))
        .isTrue();
    return root;
  }

  /** An example's source, e.g. {@code source("main", "dev.kiln.examples.SeedLlama")}. */
  static JavaFileObject source(String sourceSet, String qualifiedName) {
    Path path =
        repositoryRoot()
            .resolve(
                "examples/src/" + sourceSet + "/java/" + qualifiedName.replace('.', '/') + ".java");
    try {
      return JavaFileObjects.forSourceString(qualifiedName, Files.readString(path));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
