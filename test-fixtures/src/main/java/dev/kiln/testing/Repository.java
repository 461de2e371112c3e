package dev.kiln.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** The repository the tests run in, and the files of it they share. */
public final class Repository {
  /**
   * The system property surefire sets to the repository root ({@code
   * ${maven.multiModuleProjectDirectory}}).
   */
  public static final String ROOT_PROPERTY = "kiln.repositoryRoot";

  private Repository() {}

  /**
   * The repository root: the {@value #ROOT_PROPERTY} system property, which the build sets; outside
   * the build (an IDE), the nearest folder up from the working directory that holds the Maven
   * wrapper.
   */
  public static Path root() {
    String configured = System.getProperty(ROOT_PROPERTY, "").trim();
    if (!configured.isEmpty()) {
      return Path.of(configured).toAbsolutePath().normalize();
    }
    Path workingDirectory = Path.of("").toAbsolutePath();
    for (Path dir = workingDirectory; dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("mvnw")) && Files.isDirectory(dir.resolve(".mvn"))) {
        return dir;
      }
    }
    return workingDirectory;
  }

  /** {@code path} against the repository root, unless it is absolute. */
  public static Path resolve(String path) {
    Path resolved = Path.of(path);
    return (resolved.isAbsolute() ? resolved : root().resolve(resolved)).normalize();
  }

  /**
   * The {@code tiny} conformance model bundled with the examples' test resources (context 64): its
   * {@code golden.json} and the model in every format ({@code gguf/}, {@code hf/}, {@code hf_f16/},
   * {@code llama2c/}).
   */
  public static Path bundledTiny() {
    return root().resolve("examples/src/test/resources/conformance/tiny");
  }
}
