package dev.kiln.processor;

import static com.google.common.truth.Truth.assertWithMessage;

import com.google.testing.compile.JavaFileObjects;
import dev.kiln.testing.Repository;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.tools.JavaFileObject;

/**
 * The real specs of the examples module, read from its sources (the examples module depends on
 * the processor, so its classes cannot be on this module's test classpath).
 */
final class ExampleSpecs {
  private ExampleSpecs() {}

  /** The repository root (see {@link Repository#root()}). */
  static Path repositoryRoot() {
    Path root = Repository.root();
    assertWithMessage("repository root %s has no examples module", root.toAbsolutePath())
        .that(Files.isDirectory(root.resolve("examples/src"))).isTrue();
    return root;
  }

  /** An example's source, e.g. {@code source("main", "dev.kiln.examples.SeedLlama")}. */
  static JavaFileObject source(String sourceSet, String qualifiedName) {
    Path path = repositoryRoot().resolve("examples/src/" + sourceSet + "/java/" + qualifiedName.replace('.', '/') + ".java");
    try {
      return JavaFileObjects.forSourceString(qualifiedName, Files.readString(path));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
