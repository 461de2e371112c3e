package dev.kiln.model;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.KilnException;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.testing.Repository;
import dev.kiln.weights.ModelFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The class cache Kiln loads specialized decoders from: entries are verified against their digests
 * (a changed, truncated or unlisted file is compiled again), folders of another user or writable by
 * others are refused, folders are created private, and concurrent first runs both succeed without
 * leftovers.
 */
class ClassCacheTest {
  @TempDir static Path shared;
  @TempDir Path dir;

  static ResolvedSpec spec;
  static Path compiledOnce;

  @BeforeAll
  static void compileOnce() {
    Path tiny = Repository.bundledTiny().resolve("gguf/model-f32.gguf");
    spec =
        ModelFiles.deriveSpec(ModelFiles.open(tiny)).spec().toBuilder()
            .maxPositionEmbeddings(64)
            .build();
    compiledOnce = shared.resolve("cache");
    assertThat(new Specializer(compiledOnce, s -> {}).specialize(spec).compiled()).isTrue();
  }

  /** A copy of the compiled cache, to damage. */
  private Path cacheCopy() throws IOException {
    Path copy = dir.resolve("cache");
    try (Stream<Path> tree = Files.walk(compiledOnce)) {
      for (Path path : tree.toList()) {
        Path target = copy.resolve(compiledOnce.relativize(path).toString());
        Files.copy(path, target, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
    return copy;
  }

  private static Path entry(Path cache) throws IOException {
    try (Stream<Path> entries = Files.list(cache)) {
      return entries.filter(Files::isDirectory).findFirst().orElseThrow();
    }
  }

  private static Path decoderClass(Path cache) throws IOException {
    try (Stream<Path> files = Files.walk(entry(cache).resolve("classes"))) {
      return files
          .filter(p -> p.getFileName().toString().endsWith("Decoder.class"))
          .findFirst()
          .orElseThrow();
    }
  }

  private record Run(Specializer.Specialized result, List<String> progress) {}

  private static Run specialize(Path cache) {
    List<String> progress = new ArrayList<>();
    var result = new Specializer(cache, progress::add).specialize(spec);
    return new Run(result, progress);
  }

  @Test
  void anUntouchedEntryIsLoadedWithoutCompiling() throws IOException {
    Run run = specialize(cacheCopy());
    assertThat(run.result().compiled()).isFalse();
    assertThat(run.result().decoderClass().getSimpleName()).endsWith("Decoder");
  }

  @Test
  void aChangedClassIsCompiledAgain() throws IOException {
    Path cache = cacheCopy();
    Path decoder = decoderClass(cache);
    byte[] bytes = Files.readAllBytes(decoder);
    bytes[bytes.length / 2] ^= 1; // same length, one bit changed
    Files.write(decoder, bytes);
    Run run = specialize(cache);
    assertThat(run.result().compiled()).isTrue();
    assertThat(String.join("\n", run.progress())).contains("does not match its digest");
    assertThat(specialize(cache).result().compiled()).isFalse(); // repaired
  }

  @Test
  void aTruncatedClassIsRepairedInsteadOfFailingEveryRun() throws IOException {
    Path cache = cacheCopy();
    Path decoder = decoderClass(cache);
    Files.write(decoder, java.util.Arrays.copyOf(Files.readAllBytes(decoder), 100));
    Run run = specialize(cache);
    assertThat(run.result().compiled()).isTrue();
    assertThat(String.join("\n", run.progress())).contains("damaged");
    assertThat(specialize(cache).result().compiled()).isFalse();
  }

  @Test
  void aPlantedClassOrAMissingManifestIsCompiledAgain() throws IOException {
    Path cache = cacheCopy();
    Path decoder = decoderClass(cache);
    Files.copy(decoder, decoder.resolveSibling("Planted.class"));
    Run run = specialize(cache);
    assertThat(run.result().compiled()).isTrue();
    assertThat(String.join("\n", run.progress())).contains("unlisted");

    Files.delete(entry(cache).resolve(ClassCache.MANIFEST)); // as an older Kiln left it
    run = specialize(cache);
    assertThat(run.result().compiled()).isTrue();
    assertThat(String.join("\n", run.progress())).contains("has no " + ClassCache.MANIFEST);
  }

  @Test
  void folderCreatedPrivate() throws IOException {
    Path cache = dir.resolve("new/cache");
    specialize(cache);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)))
        .isEqualTo("rwx------");
    try (Stream<Path> tree = Files.walk(cache)) {
      for (Path path : tree.toList()) {
        String permissions = PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
        assertThat(permissions.substring(3)).isEqualTo("------");
      }
    }
  }

  @Test
  void aCacheOthersMayWriteIsRefused() throws IOException {
    Path cache = cacheCopy();
    Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
    KilnException e = assertThrows(KilnException.class, () -> specialize(cache));
    assertThat(e).hasMessageThat().contains("is writable by other users (rwxrwxrwx)");
    assertThat(e).hasMessageThat().contains("chmod go-w " + cache.toRealPath());

    Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwx------"));
    Files.setPosixFilePermissions(entry(cache), PosixFilePermissions.fromString("rwxrwx---"));
    e = assertThrows(KilnException.class, () -> specialize(cache));
    assertThat(e)
        .hasMessageThat()
        .contains("the cached decoder " + entry(cache) + " is writable by other users");
  }

  @Test
  void aCacheInAFolderOthersMayWriteIsRefused() throws IOException {
    Path open = dir.resolve("open");
    Files.createDirectories(open);
    Files.setPosixFilePermissions(
        open, PosixFilePermissions.fromString("rwxrwxrwx")); // no sticky bit
    KilnException e = assertThrows(KilnException.class, () -> specialize(open.resolve("cache")));
    assertThat(e).hasMessageThat().contains("which other users may write");
  }

  /** Another user's entry (or cache) is refused, never loaded; needs root to make one. */
  @Test
  void anotherUsersEntryIsRefused() throws IOException {
    assumeTrue(ClassCache.currentUid() == 0, "needs root to chown");
    Path cache = cacheCopy();
    var nobody =
        cache.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    Files.setOwner(entry(cache), nobody);
    KilnException e = assertThrows(KilnException.class, () -> specialize(cache));
    assertThat(e).hasMessageThat().contains("belongs to user nobody");
    Files.setOwner(cache, nobody);
    e = assertThrows(KilnException.class, () -> specialize(cache));
    assertThat(e).hasMessageThat().contains("the class cache " + cache + " belongs to user nobody");
  }

  @Test
  void concurrentFirstRunsBothSucceedAndLeaveNothingBehind() throws Exception {
    Path cache = dir.resolve("race");
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Callable<Specializer.Specialized> task =
          () -> new Specializer(cache, s -> {}).specialize(spec);
      List<Future<Specializer.Specialized>> runs = List.of(pool.submit(task), pool.submit(task));
      for (var run : runs) {
        assertThat(run.get().decoderClass().getSimpleName()).endsWith("Decoder");
      }
    } finally {
      pool.shutdownNow();
    }
    try (Stream<Path> entries = Files.list(cache)) {
      assertThat(
              entries
                  .map(p -> p.getFileName().toString())
                  .filter(n -> n.startsWith("compiling-"))
                  .toList())
          .isEmpty();
    }
  }
}
