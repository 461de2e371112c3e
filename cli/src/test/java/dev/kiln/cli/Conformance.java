package dev.kiln.cli;

import static com.google.common.truth.Truth.assertWithMessage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The conformance models: the {@code tiny} copy bundled with the examples' test resources, and the
 * shared folder the build names with {@code -Dkiln.conformance=DIR} (a wrong path fails).
 */
final class Conformance {
  private Conformance() {}

  static Path repositoryRoot() {
    return Path.of(System.getProperty("kiln.repositoryRoot", "..")).toAbsolutePath().normalize();
  }

  static Path bundledTiny() {
    return repositoryRoot().resolve("examples/src/test/resources/conformance/tiny");
  }

  static Optional<Path> sharedRoot() {
    String property = System.getProperty("kiln.conformance", "").trim();
    if (property.isEmpty()) {
      return Optional.empty();
    }
    Path root = Path.of(property);
    if (!root.isAbsolute()) {
      root = repositoryRoot().resolve(root);
    }
    root = root.normalize();
    for (String model : List.of("tiny", "seed", "gqa", "llama3rope", "qwen2", "qwen3", "gemma2")) {
      Path golden = root.resolve(model).resolve("golden.json");
      assertWithMessage("-Dkiln.conformance=%s: expected %s (is the path right?)", property, golden)
          .that(Files.isRegularFile(golden)).isTrue();
    }
    return Optional.of(root);
  }
}
