package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.kiln.KilnException;
import dev.kiln.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * A FIFO or a device where a model, config or tokenizer file should be: refused at once with a
 * message saying what it is, never a read that blocks forever or never ends, nor "no such file".
 */
class NonRegularFilesTest {
  private static final Path DEV_ZERO = Path.of("/dev/zero");

  @TempDir Path dir;

  private static Path fifo(Path path) throws IOException, InterruptedException {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/mkfifo")), "needs mkfifo");
    Process process = new ProcessBuilder("/usr/bin/mkfifo", path.toString()).inheritIO().start();
    Assumptions.assumeTrue(process.waitFor() == 0, "mkfifo failed");
    return path;
  }

  private static String refused(Class<? extends KilnException> type, Executable open) {
    return assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThrows(type, open))
        .getMessage();
  }

  private static final String NOT_REGULAR =
      ": not a regular file (a FIFO, device or socket); Kiln reads only regular files";

  @Test
  void modelFiles() throws Exception {
    Path fifo = fifo(dir.resolve("model.gguf"));
    assertThat(refused(WeightLoadException.class, () -> ModelFiles.open(fifo)))
        .isEqualTo(fifo + NOT_REGULAR);
    assertThat(refused(WeightLoadException.class, () -> GgufFile.open(fifo)))
        .isEqualTo(fifo + NOT_REGULAR);
    assertThat(refused(WeightLoadException.class, () -> SafetensorsFile.open(fifo)))
        .isEqualTo(fifo + NOT_REGULAR);
    Assumptions.assumeTrue(Files.exists(DEV_ZERO));
    assertThat(refused(WeightLoadException.class, () -> ModelFiles.open(DEV_ZERO)))
        .isEqualTo(DEV_ZERO + NOT_REGULAR);
    assertThat(refused(WeightLoadException.class, () -> Llama2cFile.open(DEV_ZERO)))
        .isEqualTo(DEV_ZERO + NOT_REGULAR);
  }

  @Test
  void huggingFaceFolder() throws Exception {
    Path folder = Files.createDirectories(dir.resolve("hf"));
    Path config = fifo(folder.resolve("config.json"));
    assertThat(refused(WeightLoadException.class, () -> ModelFiles.open(folder)))
        .isEqualTo(config + NOT_REGULAR + " (the config)");
    Files.delete(config);
    Files.writeString(config, Fixtures.config(Fixtures.Dims.small(false)).toString());
    Path weights = fifo(folder.resolve("model.safetensors"));
    assertThat(refused(WeightLoadException.class, () -> ModelFiles.open(folder)))
        .isEqualTo(weights + NOT_REGULAR);
  }

  @Test
  void tokenizers() throws Exception {
    Path folder = Files.createDirectories(dir.resolve("tok"));
    Path json = fifo(folder.resolve("tokenizer.json"));
    assertThat(refused(KilnException.class, () -> Tokenizers.fromHfFolder(folder)))
        .isEqualTo(json + NOT_REGULAR);
    Files.delete(json);
    Files.writeString(json, "{}");
    Path config = fifo(folder.resolve("tokenizer_config.json"));
    assertThat(refused(KilnException.class, () -> Tokenizers.fromHfFolder(folder)))
        .isEqualTo(config + NOT_REGULAR);
    Path bin = fifo(dir.resolve("tokenizer.bin"));
    assertThat(refused(KilnException.class, () -> Tokenizers.fromLlama2c(bin)))
        .isEqualTo(bin + NOT_REGULAR);
    assertThat(refused(KilnException.class, () -> Tokenizers.fromGguf(bin)))
        .isEqualTo(bin + NOT_REGULAR);
    Assumptions.assumeTrue(Files.exists(DEV_ZERO));
    assertThat(refused(KilnException.class, () -> Tokenizers.fromLlama2c(DEV_ZERO)))
        .isEqualTo(DEV_ZERO + NOT_REGULAR);
  }
}
