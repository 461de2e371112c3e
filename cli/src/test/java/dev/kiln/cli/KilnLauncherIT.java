package dev.kiln.cli;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonParser;
import dev.kiln.testing.Golden;
import dev.kiln.testing.Repository;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code bin/kiln} launcher as a user runs it, in a separate process after packaging: greedy
 * generation from the bundled tiny GGUF reproduces the golden tokens, and errors exit non-zero with
 * one line.
 */
@Tag("slow")
class KilnLauncherIT {
  @TempDir Path cache;

  private record Run(int exit, String out, String err) {}

  private Run launch(String... args) throws IOException, InterruptedException {
    return finish(start(args));
  }

  private ProcessBuilder launcher(String... args) {
    Path launcher = Repository.root().resolve("bin/kiln");
    List<String> command = new java.util.ArrayList<>(List.of(launcher.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    builder.environment().put("KILN_CACHE", cache.toString());
    return builder;
  }

  private Process start(String... args) throws IOException {
    Process process = launcher(args).start();
    process.getOutputStream().close();
    return process;
  }

  private static Run finish(Process process) throws IOException, InterruptedException {
    var out = process.getInputStream().readAllBytes();
    var err = process.getErrorStream().readAllBytes();
    assertWithMessage("bin/kiln finished").that(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new Run(
        process.exitValue(),
        new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  @Test
  void generatesTheGoldenTokens() throws Exception {
    Path tiny = Repository.bundledTiny();
    var golden = Golden.json(tiny);
    String prompt = ids(golden.getAsJsonArray("prompt"));
    var greedy = golden.getAsJsonArray("greedy_tokens");
    Run run =
        launch(
            "run",
            "--model",
            tiny.resolve("gguf/model-f32.gguf").toString(),
            "--prompt-ids",
            prompt,
            "--max-tokens",
            Integer.toString(greedy.size()),
            "--json");
    assertWithMessage("stderr: %s", run.err()).that(run.exit()).isEqualTo(0);
    assertThat(JsonParser.parseString(run.out()).getAsJsonObject().getAsJsonArray("generated_ids"))
        .isEqualTo(greedy);
  }

  /**
   * {@code --backend tornado}: with TORNADOVM_HOME set (an installed TornadoVM, the build made with
   * it) the TornadoVM decoder runs and gives the golden tokens; without it kiln warns and runs
   * Java.
   */
  @Test
  void tornadoBackendGivesTheGoldenTokensOrSaysWhyNot() throws Exception {
    Path tiny = Repository.bundledTiny();
    var golden = Golden.json(tiny);
    String prompt = ids(golden.getAsJsonArray("prompt"));
    var greedy = golden.getAsJsonArray("greedy_tokens");
    Run run =
        launch(
            "run",
            "--model",
            tiny.resolve("gguf/model-f32.gguf").toString(),
            "--prompt-ids",
            prompt,
            "--max-tokens",
            Integer.toString(greedy.size()),
            "--json",
            "--backend",
            "tornado");
    assertWithMessage("stderr: %s", run.err()).that(run.exit()).isEqualTo(0);
    var result = JsonParser.parseString(run.out()).getAsJsonObject();
    assertThat(result.getAsJsonArray("generated_ids")).isEqualTo(greedy);
    boolean tornadoInstalled = System.getenv("TORNADOVM_HOME") != null;
    assertThat(result.get("backend").getAsString())
        .isEqualTo(tornadoInstalled ? "tornado" : "java");
    if (!tornadoInstalled) {
      assertThat(run.err()).contains("warning: the TornadoVM backend is unavailable");
    }
  }

  @Test
  void aMissingFileExitsWithOneLine() throws Exception {
    Run run = launch("run", "--model", "/no/such/file.gguf", "--prompt-ids", "1");
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).contains("kiln: /no/such/file.gguf: no such file or folder");
    assertThat(run.err()).doesNotContain("\tat ");
  }

  /**
   * Two first runs on an empty cache at once: both compile, one publishes, both succeed, nothing is
   * left over.
   */
  @Test
  void concurrentFirstRunsBothSucceed() throws Exception {
    String model = Repository.bundledTiny().resolve("gguf/model-f32.gguf").toString();
    Process first = start("run", "--model", model, "--prompt-ids", "1,2,3", "--max-tokens", "2");
    Process second = start("run", "--model", model, "--prompt-ids", "1,2,3", "--max-tokens", "2");
    for (Run run : List.of(finish(first), finish(second))) {
      assertWithMessage("stderr: %s", run.err()).that(run.exit()).isEqualTo(0);
    }
    try (var entries = Files.list(cache)) {
      assertThat(
              entries
                  .map(p -> p.getFileName().toString())
                  .filter(n -> n.startsWith("compiling-"))
                  .toList())
          .isEmpty();
    }
  }

  /** A full disk (/dev/full) is an error, not exit code 0 with the output lost. */
  @Test
  void outputToAFullDiskIsAnError() throws Exception {
    String model = Repository.bundledTiny().resolve("gguf/model-f32.gguf").toString();
    ProcessBuilder builder =
        launcher("run", "--model", model, "--prompt-ids", "1,2,3", "--max-tokens", "4", "--json");
    builder.redirectOutput(new java.io.File("/dev/full"));
    Process process = builder.start();
    process.getOutputStream().close();
    String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertWithMessage("stderr: %s", err).that(process.exitValue()).isEqualTo(1);
    assertThat(err).contains("kiln: cannot write standard output: No space left on device");
  }

  /**
   * A reader that goes away (| head -c 5) stops the generation: exit code 141, as SIGPIPE, and no
   * summary.
   */
  @Test
  void aClosedPipeStopsTheGeneration() throws Exception {
    String model = Repository.bundledTiny().resolve("gguf/model-f32.gguf").toString();
    Process process = start("run", "--model", model, "--prompt-ids", "1,2,3", "--max-tokens", "60");
    process.getInputStream().readNBytes(5);
    process.getInputStream().close();
    String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertWithMessage("stderr: %s", err).that(process.exitValue()).isEqualTo(141);
    assertThat(err).doesNotContain("[prompt"); // the summary of a run that went on to the end
    assertThat(err).doesNotContain("\tat ");
  }

  /** A JSON array of token ids as kiln's {@code --prompt-ids} value. */
  private static String ids(com.google.gson.JsonArray array) {
    return String.join(",", array.asList().stream().map(e -> e.getAsString()).toList());
  }
}
