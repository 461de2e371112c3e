package dev.kiln.cli;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import dev.kiln.testing.Repository;
import dev.kiln.testing.SharedConformance;
import dev.langchain4j.model.openai.OpenAiChatModel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/kiln serve} as a user runs it, in its own process: LangChain4j's OpenAI client gets
 * the same greedy answer as {@code bin/kiln run --chat}, on the bundled tiny model and (with {@code
 * -Dkiln.conformance}) a shared conformance model; SIGTERM shuts it down.
 */
@Tag("slow")
class ServeIT {
  /** Shared by the tests (and runs), so each spec is compiled once. */
  private final Path cache = Repository.root().resolve("cli/target/serve-it-cache");

  private static final Pattern LISTENING = Pattern.compile("on http://127\\.0\\.0\\.1:(\\d+)");

  private ProcessBuilder kiln(String... args) {
    List<String> command =
        new ArrayList<>(List.of(Repository.root().resolve("bin/kiln").toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    builder.environment().put("KILN_CACHE", cache.toString());
    return builder;
  }

  /** What {@code kiln run --chat -p PROMPT} prints on standard output. */
  private String kilnRun(Path model, String prompt, int tokens) throws Exception {
    Process process =
        kiln(
                "run",
                "-m",
                model.toString(),
                "--chat",
                "--chat-template",
                "mistral",
                "-p",
                prompt,
                "--temperature",
                "0",
                "-n",
                Integer.toString(tokens))
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    process.getOutputStream().close();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(0);
    assertThat(out).endsWith("\n");
    return out.substring(0, out.length() - 1);
  }

  private void servesWhatRunGives(Path model, List<String> prompts, int tokens) throws Exception {
    Process server =
        kiln(
                "serve",
                "-m",
                model.toString(),
                "--port",
                "0",
                "--parallel",
                "2",
                "--chat-template",
                "mistral")
            .start();
    StringBuilder log = new StringBuilder();
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Thread reader =
        Thread.ofVirtual()
            .start(
                () -> {
                  try (BufferedReader err =
                      new BufferedReader(
                          new InputStreamReader(server.getErrorStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = err.readLine()) != null) {
                      synchronized (log) {
                        log.append(line).append('\n');
                      }
                      Matcher m = LISTENING.matcher(line);
                      if (m.find()) {
                        port.complete(Integer.parseInt(m.group(1)));
                      }
                    }
                    port.completeExceptionally(new AssertionError("kiln serve ended:\n" + log));
                  } catch (IOException e) {
                    port.completeExceptionally(e);
                  }
                });
    try {
      OpenAiChatModel client =
          OpenAiChatModel.builder()
              .baseUrl("http://127.0.0.1:" + port.get(180, TimeUnit.SECONDS) + "/v1")
              .apiKey("unused")
              .modelName(model.getFileName().toString())
              .temperature(0.0)
              .maxTokens(tokens)
              .build();
      for (String prompt : prompts) {
        String expected = kilnRun(model, prompt, tokens);
        assertWithMessage("%s: %s", model, prompt).that(client.chat(prompt)).isEqualTo(expected);
      }
    } finally {
      server.toHandle().destroy(); // SIGTERM (Process.destroy would also close the pipes we read)
      assertWithMessage("kiln serve exits on SIGTERM")
          .that(server.waitFor(60, TimeUnit.SECONDS))
          .isTrue();
      reader.join();
    }
    synchronized (log) {
      assertThat(log.toString()).contains("shutting down");
    }
  }

  @Test
  void tinyModel() throws Exception {
    servesWhatRunGives(
        Repository.bundledTiny().resolve("gguf/model-f32.gguf"), List.of("一丁七", "丰丙丂丧"), 8);
  }

  @Test
  void conformanceModel() throws Exception {
    Optional<Path> shared = SharedConformance.GOLDENS.root();
    org.junit.jupiter.api.Assumptions.assumeTrue(
        shared.isPresent(), "no -Dkiln.conformance folder given");
    Path gqa = shared.get().resolve("gqa/gguf/model-f32.gguf");
    assertWithMessage("%s exists", gqa).that(Files.isRegularFile(gqa)).isTrue();
    servesWhatRunGives(gqa, List.of("Once upon a time", "Hello <s> [INST] there"), 12);
  }
}
