package dev.kiln.weights;

import static com.google.common.truth.Truth.assertWithMessage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * The shared conformance models, in the folder the build names with {@code -Dkiln.conformance=DIR}
 * (relative paths resolve against the repository root). Without the property, tests that need them
 * are skipped; with it, a missing or incomplete folder is a failure.
 */
public final class SharedConformance {
  public static final List<String> MODELS = List.of("tiny", "seed", "gqa");
  private static final List<String> FILES =
      List.of("gguf/model-f32.gguf", "gguf/model-f16.gguf", "hf/model.safetensors", "hf/config.json");

  private SharedConformance() {}

  /** The folder if the build names one; fails if it names one that is not there. */
  public static Optional<Path> root() {
    String property = System.getProperty("kiln.conformance", "").trim();
    if (property.isEmpty()) {
      return Optional.empty();
    }
    Path root = Path.of(property);
    if (!root.isAbsolute()) {
      root = Path.of(System.getProperty("kiln.repositoryRoot", ".")).resolve(root);
    }
    root = root.normalize();
    for (String model : MODELS) {
      for (String file : FILES) {
        Path path = root.resolve(model).resolve(file);
        assertWithMessage("-Dkiln.conformance=%s: expected %s (is the path right?)", property, path)
            .that(Files.isRegularFile(path)).isTrue();
      }
    }
    return Optional.of(root);
  }

  /** One model's folder; skips the test when the build names no conformance folder. */
  public static Path model(String name) {
    Optional<Path> root = root();
    Assumptions.assumeTrue(root.isPresent(), "-Dkiln.conformance=DIR not given: shared conformance models not checked");
    return root.get().resolve(name);
  }
}
