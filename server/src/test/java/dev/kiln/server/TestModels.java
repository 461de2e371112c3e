package dev.kiln.server;

import dev.kiln.generate.ChatTemplate;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.Message;
import dev.kiln.generate.SamplerChain;
import dev.kiln.model.KilnModel;
import dev.kiln.testing.Repository;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

/** The bundled tiny conformance model, opened as the server opens it, and a plain HTTP client. */
final class TestModels {
  private TestModels() {}

  static Path tiny() {
    return Repository.bundledTiny().resolve("gguf/model-f32.gguf");
  }

  /** One cache for the decoders the tests specialize (one compile per batch size). */
  static Path cache() {
    return Repository.root().resolve("server/target/kiln-cache");
  }

  /** The tiny model (whose tokenizer names no chat format: Mistral's, the shortest). */
  static KilnModel open(Path file, int batch) {
    return KilnModel.open(
        file,
        KilnModel.options()
            .batchSize(batch)
            .cacheRoot(cache())
            .chatTemplate(file.equals(tiny()) ? ChatTemplate.MISTRAL : null));
  }

  static KilnServer serve(KilnServer.Config config, Path file) throws IOException {
    return KilnServer.start(config.port(0).log(s -> {}), () -> open(file, config.parallel));
  }

  /**
   * What {@code kiln run --chat} computes: the chat prompt through a Generator on a batch-1
   * decoder.
   */
  static String reference(
      KilnModel solo, List<Message> messages, SamplerChain sampler, int maxTokens) {
    int[] prompt = solo.encodeChat(messages);
    GenerationOptions options = solo.options(maxTokens).build();
    return solo.generator(sampler).generate(prompt, options).text();
  }

  static final HttpClient CLIENT = HttpClient.newHttpClient();

  static HttpResponse<String> post(int port, String path, String body, String... headers)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .header("Content-Type", "application/json");
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> get(int port, String path, String... headers) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A metric's value from /metrics. */
  static double metric(int port, String name) throws Exception {
    for (String line : get(port, "/metrics").body().split("\n")) {
      if (line.startsWith(name + " ")) {
        return Double.parseDouble(line.substring(name.length() + 1).trim());
      }
    }
    throw new AssertionError("no metric " + name);
  }
}
