package dev.kiln.cli;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import dev.kiln.testing.Repository;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * The kiln command with hostile arguments and surroundings, in-process: no {@code @file} expansion,
 * output that cannot be written, JVM errors, option bounds (run and serve), the KV cache checked
 * against the heap before compiling, prompts checked before they are echoed, file strings escaped
 * in {@code info}.
 */
class CliHardeningTest {
  @TempDir static Path cache;
  @TempDir Path dir;

  static final Path TINY = Repository.bundledTiny().resolve("gguf/model-f32.gguf");

  private static CliTest.Result kiln(String... args) {
    String[] withCache =
        java.util.stream.Stream.concat(
                java.util.Arrays.stream(args),
                java.util.stream.Stream.of("--cache", cache.toString()))
            .toArray(String[]::new);
    return CliTest.kiln(
        args.length > 0 && List.of("run", "serve").contains(args[0]) ? withCache : args);
  }

  private static void assertOneLineError(CliTest.Result result, int exit, String expected) {
    assertWithMessage("exit code; out: %s; err: %s", result.out(), result.err())
        .that(result.exit())
        .isEqualTo(exit);
    assertThat(result.err()).contains(expected);
    assertThat(result.err()).doesNotContain("\tat ");
  }

  // --- @file arguments

  @Test
  void anAtArgumentIsTextNotAFile() throws IOException {
    Path secret = Files.writeString(dir.resolve("secret.txt"), "top secret");
    CliTest.Result result =
        kiln("run", "-m", TINY.toString(), "-p", "@" + secret, "-n", "1", "--temperature", "0");
    assertWithMessage("err: %s", result.err()).that(result.exit()).isEqualTo(0);
    assertThat(result.out()).startsWith("@" + secret);
    assertThat(result.out()).doesNotContain("top secret");

    Path options = Files.writeString(dir.resolve("options.txt"), "--json\n");
    result = kiln("run", "-m", TINY.toString(), "--prompt-ids", "1,2", "-n", "1", "@" + options);
    assertThat(result.exit()).isEqualTo(2); // an unmatched argument, not options read from a file
    assertThat(result.out()).doesNotContain("generated_ids");
  }

  @Test
  void promptFileReadsThePrompt() throws IOException {
    Path prompt = Files.writeString(dir.resolve("prompt.txt"), "一丁七", StandardCharsets.UTF_8);
    CliTest.Result result =
        kiln(
            "run",
            "-m",
            TINY.toString(),
            "--prompt-file",
            prompt.toString(),
            "-n",
            "2",
            "--temperature",
            "0");
    assertWithMessage("err: %s", result.err()).that(result.exit()).isEqualTo(0);
    assertThat(result.out()).startsWith("一丁七");
    assertOneLineError(
        kiln("run", "-m", TINY.toString(), "--prompt-file", dir.toString()),
        1,
        "--prompt-file " + dir + ": not a regular file");
    assertOneLineError(
        kiln("run", "-m", TINY.toString(), "--prompt-file", prompt.toString(), "-p", "x"),
        1,
        "give one prompt");
  }

  // --- output that cannot be written

  /** A writer whose every write fails, as on a full disk. */
  private static final class FullDisk extends Writer {
    private final int allowed;
    private int written;

    FullDisk(int allowed) {
      this.allowed = allowed;
    }

    @Override
    public void write(char[] buffer, int offset, int length) throws IOException {
      written += length;
      if (written > allowed) {
        throw new IOException("No space left on device");
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }

  private static CliTest.Result toFullDisk(int allowed, String... args) {
    StringWriter err = new StringWriter();
    int exit =
        Kiln.execute(
            args,
            new PrintWriter(new FullDisk(allowed), true),
            new PrintWriter(err, true),
            () -> new IOException("No space left on device"));
    return new CliTest.Result(exit, "", err.toString());
  }

  @Test
  void outputThatCannotBeWrittenIsAnError() {
    String model = TINY.toString();
    for (List<String> args :
        List.of(
            List.of("info", model),
            List.of("spec", model),
            List.of("--help"),
            List.of(
                "run",
                "-m",
                model,
                "--prompt-ids",
                "1,2",
                "-n",
                "2",
                "--json",
                "--cache",
                cache.toString()),
            List.of("run", "-m", model, "-p", "一丁", "-n", "2", "--cache", cache.toString()))) {
      CliTest.Result result = toFullDisk(0, args.toArray(String[]::new));
      assertWithMessage("%s", args).that(result.exit()).isEqualTo(1);
      assertWithMessage("%s", args)
          .that(result.err())
          .contains("kiln: cannot write standard output: No space left on" + " device");
    }
  }

  @Test
  void aFailedWriteStopsTheGeneration() {
    CliTest.Result result =
        toFullDisk(
            4,
            "run",
            "-m",
            TINY.toString(),
            "--prompt-ids",
            "1,2",
            "-n",
            "50",
            "--cache",
            cache.toString());
    assertThat(result.exit()).isEqualTo(1);
    assertThat(result.err()).contains("cannot write standard output");
    assertThat(result.err()).doesNotContain("generated 50 tokens"); // the summary of a finished run
  }

  // --- JVM errors

  @Command(name = "fail")
  static final class Fail implements Callable<Integer> {
    @Parameters String error;

    @CommandLine.Option(names = "--verbose")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
      throw (Error) Class.forName(error).getConstructor(String.class).newInstance("simulated");
    }
  }

  @Test
  void jvmErrorsAreOneLine() {
    for (String error :
        List.of(
            "java.lang.OutOfMemoryError",
            "java.lang.StackOverflowError",
            "java.lang.ClassFormatError",
            "java.lang.NoClassDefFoundError",
            "java.lang.InternalError")) {
      for (boolean verbose : new boolean[] {false, true}) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = new CommandLine(new Kiln()).addSubcommand(new Fail());
        String[] args =
            verbose ? new String[] {"fail", error, "--verbose"} : new String[] {"fail", error};
        int exit =
            Kiln.execute(
                commandLine,
                args,
                new PrintWriter(out, true),
                new PrintWriter(err, true),
                () -> null);
        assertWithMessage("%s", error).that(exit).isEqualTo(1);
        String[] lines = err.toString().split("\n");
        assertWithMessage("%s: %s", error, err).that(lines[lines.length - 1]).startsWith("kiln: ");
        if (verbose) {
          assertWithMessage("%s", error).that(err.toString()).contains("\tat ");
        } else {
          assertWithMessage("%s", error).that(lines).hasLength(1);
        }
      }
    }
  }

  // --- option bounds

  @Test
  void samplingOptionsAreCheckedEvenWhenGreedy() {
    String model = TINY.toString();
    for (String[] option :
        new String[][] {
          {"--top-k", "-3"},
          {"--top-p", "2"},
          {"--top-p", "0"},
          {"--min-p", "1.5"},
          {"--repeat-penalty", "0"},
          {"--temperature", "-1"},
          {"--temperature", "NaN"}
        }) {
      CliTest.Result result =
          kiln("run", "-m", model, "--prompt-ids", "1,2", "-n", "1", option[0], option[1]);
      assertOneLineError(result, 1, "kiln: " + option[0] + " must be");
      assertThat(result.out()).isEmpty();
    }
  }

  @Test
  void threadsAreBounded() {
    for (String command : List.of("run", "serve")) {
      for (String threads : List.of("0", "100000")) {
        CliTest.Result result =
            kiln(
                command,
                "-m",
                TINY.toString(),
                command.equals("run") ? "--prompt-ids" : "--port",
                command.equals("run") ? "1" : "0",
                "--threads",
                threads);
        assertOneLineError(
            result, 1, "--threads must be between 1 and " + Kiln.Common.maxThreads());
      }
    }
  }

  @Test
  void serveOptionsAreBounded() {
    String model = TINY.toString();
    for (String[] option :
        new String[][] {
          {"--parallel", "0", "--parallel must be between 1 and 1024"},
          {"--parallel", "100000", "--parallel must be between 1 and 1024"},
          {"--queue", "2000000000", "--queue) must be between 1 and"},
          {"--max-body", "0", "--max-body) must be at least"},
          {"--shutdown-grace", "-1", "--shutdown-grace must be between 0 and"}
        }) {
      assertOneLineError(
          kiln("serve", "-m", model, "--port", "0", option[0], option[1]), 1, option[2]);
    }
  }

  /** The tiny model's Hugging Face folder, claiming a context of 100 million positions. */
  private Path longContextModel() throws IOException {
    Path source = Repository.bundledTiny().resolve("hf");
    Path copy = Files.createDirectories(dir.resolve("long"));
    Files.copy(source.resolve("model.safetensors"), copy.resolve("model.safetensors"));
    Files.writeString(
        copy.resolve("config.json"),
        Files.readString(source.resolve("config.json"))
            .replace("\"max_position_embeddings\": 64", "\"max_position_embeddings\": 100000000"));
    return copy;
  }

  @Test
  void aContextTooLargeForTheHeapIsRefusedBeforeCompiling() throws IOException {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        Runtime.getRuntime().maxMemory() < 19L << 30, "a heap of 19 GiB or more");
    Path model = longContextModel();
    CliTest.Result run =
        kiln("run", "-m", model.toString(), "--prompt-ids", "1", "--context", "100000000");
    assertOneLineError(run, 1, "a KV cache for 100,000,000 positions x 1 sequence needs 23.84 GiB");
    assertThat(run.err()).contains("KILN_JAVA_OPTS=-Xmx");
    assertThat(run.err()).doesNotContain("specializing");
    CliTest.Result serve =
        kiln(
            "serve",
            "-m",
            model.toString(),
            "--port",
            "0",
            "--context",
            "10000000",
            "--parallel",
            "8");
    assertOneLineError(
        serve, 1, "a KV cache for 10,000,000 positions x 8 sequences needs 19.07 GiB");
    assertThat(serve.err()).doesNotContain("specializing");
  }

  // --- prompts checked before they are echoed

  @Test
  void aPromptLongerThanTheContextIsRefusedBeforeItIsEchoed() {
    CliTest.Result result = kiln("run", "-m", TINY.toString(), "-p", "一丁七".repeat(100), "-n", "1");
    assertOneLineError(result, 1, "more than the context of 64 positions");
    assertThat(result.out()).isEmpty();
  }

  // --- info

  @Test
  void infoEscapesControlCharactersAndSummarizesLargeArrays() throws IOException {
    byte[] bytes = Files.readAllBytes(TINY);
    byte[] name = "llama_ref-tiny".getBytes(StandardCharsets.UTF_8);
    byte[] evil = "\u001b[31mTINY\u001b[0m!".getBytes(StandardCharsets.UTF_8);
    assertThat(evil).hasLength(name.length);
    int at = indexOf(bytes, name);
    System.arraycopy(evil, 0, bytes, at, evil.length);
    Path model = Files.write(dir.resolve("evil.gguf"), bytes);
    CliTest.Result result = kiln("info", "--metadata", model.toString());
    assertWithMessage("err: %s", result.err()).that(result.exit()).isEqualTo(0);
    assertThat(result.out()).doesNotContain("\u001b");
    assertThat(result.out()).contains("general.name = \\x1B[31mTINY\\x1B[0m!");
    assertThat(result.out())
        .contains(
            "tokenizer.ggml.tokens = [<unk>, <s>, </s>, ▁, 一, 丁, 丂, 七, ... 56 more; 64"
                + " entries]");
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}
