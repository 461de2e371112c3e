package dev.kiln.server;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.generate.Message;
import dev.kiln.generate.SamplerChain;
import dev.kiln.model.KilnModel;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The API over the tiny model with real clients: LangChain4j, the JDK's HttpClient. */
class ServerTest {
  static KilnServer server;
  static KilnModel solo;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    server = TestModels.serve(KilnServer.config().parallel(4), TestModels.tiny());
    port = server.port();
    solo = TestModels.open(TestModels.tiny(), 1);
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  private static String chat(
      String content, boolean stream, double temperature, long seed, int maxTokens) {
    JsonObject body = new JsonObject();
    var messages = new com.google.gson.JsonArray();
    JsonObject message = new JsonObject();
    message.addProperty("role", "user");
    message.addProperty("content", content);
    messages.add(message);
    body.add("messages", messages);
    body.addProperty("stream", stream);
    body.addProperty("temperature", temperature);
    body.addProperty("seed", seed);
    body.addProperty("max_tokens", maxTokens);
    return body.toString();
  }

  @Test
  void greedyChatEqualsTheGeneratorsThroughLangChain4j() throws Exception {
    String prompt = "一丁七";
    String expected =
        TestModels.reference(solo, List.of(Message.user(prompt)), SamplerChain.greedy(), 10);
    assertThat(expected).isNotEmpty();

    OpenAiChatModel model =
        OpenAiChatModel.builder()
            .baseUrl("http://127.0.0.1:" + port + "/v1")
            .apiKey("unused")
            .modelName("tiny")
            .temperature(0.0)
            .maxTokens(10)
            .build();
    assertThat(model.chat(prompt)).isEqualTo(expected);

    OpenAiStreamingChatModel streaming =
        OpenAiStreamingChatModel.builder()
            .baseUrl("http://127.0.0.1:" + port + "/v1")
            .apiKey("unused")
            .modelName("tiny")
            .temperature(0.0)
            .maxTokens(10)
            .build();
    StringBuilder partial = new StringBuilder();
    CompletableFuture<ChatResponse> done = new CompletableFuture<>();
    streaming.chat(
        prompt,
        new StreamingChatResponseHandler() {
          @Override
          public void onPartialResponse(String text) {
            partial.append(text);
          }

          @Override
          public void onCompleteResponse(ChatResponse response) {
            done.complete(response);
          }

          @Override
          public void onError(Throwable error) {
            done.completeExceptionally(error);
          }
        });
    ChatResponse response = done.get(60, TimeUnit.SECONDS);
    assertThat(partial.toString()).isEqualTo(expected);
    assertThat(response.aiMessage().text()).isEqualTo(expected);
  }

  @Test
  void completionsAndUsage() throws Exception {
    HttpResponse<String> response =
        TestModels.post(
            port, "/v1/completions", "{\"prompt\":\"一丁七\",\"temperature\":0,\"max_tokens\":6}");
    assertThat(response.statusCode()).isEqualTo(200);
    JsonObject json = JsonParser.parseString(response.body()).getAsJsonObject();
    int[] ids = solo.encode("一丁七");
    String expected =
        solo.generator(SamplerChain.greedy())
            .generate(ids, solo.options(6).stopTokens(solo.stopTokens(false)).build())
            .text();
    assertThat(json.getAsJsonArray("choices").get(0).getAsJsonObject().get("text").getAsString())
        .isEqualTo(expected);
    JsonObject usage = json.getAsJsonObject("usage");
    assertThat(usage.get("prompt_tokens").getAsInt()).isEqualTo(ids.length);
    assertThat(usage.get("completion_tokens").getAsInt()).isEqualTo(6);
    assertThat(
            json.getAsJsonArray("choices")
                .get(0)
                .getAsJsonObject()
                .get("finish_reason")
                .getAsString())
        .isEqualTo("length");
  }

  @Test
  void streamsDeltasThenFinishReasonThenUsageThenDone() throws Exception {
    String body =
        chat("丙丂", true, 0, 1, 5).replace("}", ",\"stream_options\":{\"include_usage\":true}}");
    List<String> events =
        TestModels.post(port, "/v1/chat/completions", body)
            .body()
            .lines()
            .filter(line -> line.startsWith("data: "))
            .map(line -> line.substring(6))
            .toList();
    assertThat(events.getLast()).isEqualTo("[DONE]");
    JsonObject usage = JsonParser.parseString(events.get(events.size() - 2)).getAsJsonObject();
    assertThat(usage.getAsJsonArray("choices").size()).isEqualTo(0);
    int completion = usage.getAsJsonObject("usage").get("completion_tokens").getAsInt();
    JsonObject last = JsonParser.parseString(events.get(events.size() - 3)).getAsJsonObject();
    String finish =
        last.getAsJsonArray("choices").get(0).getAsJsonObject().get("finish_reason").getAsString();
    assertThat(finish).isAnyOf("stop", "length");
    StringBuilder text = new StringBuilder();
    for (String event : events.subList(0, events.size() - 3)) {
      JsonObject delta =
          JsonParser.parseString(event)
              .getAsJsonObject()
              .getAsJsonArray("choices")
              .get(0)
              .getAsJsonObject()
              .getAsJsonObject("delta");
      if (delta.has("content")) {
        text.append(delta.get("content").getAsString());
      }
    }
    assertThat(text.toString())
        .isEqualTo(
            TestModels.reference(solo, List.of(Message.user("丙丂")), SamplerChain.greedy(), 5));
    assertThat(completion).isAtMost(5);
  }

  /**
   * Streams a chat request; returns the text, and records the time to first token and between
   * tokens.
   */
  private static String streamText(String body, List<Long> ttft, List<Long> itl) throws Exception {
    long start = System.nanoTime();
    long[] last = {0};
    StringBuilder text = new StringBuilder();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    HttpResponse<java.util.stream.Stream<String>> response =
        TestModels.CLIENT.send(request, HttpResponse.BodyHandlers.ofLines());
    assertThat(response.statusCode()).isEqualTo(200);
    boolean done = false;
    for (String line : (Iterable<String>) response.body()::iterator) {
      if (!line.startsWith("data: ")) {
        continue;
      }
      String data = line.substring(6);
      if (data.equals("[DONE]")) {
        done = true;
        continue;
      }
      JsonObject delta =
          JsonParser.parseString(data)
              .getAsJsonObject()
              .getAsJsonArray("choices")
              .get(0)
              .getAsJsonObject()
              .getAsJsonObject("delta");
      if (delta.has("content") && !delta.get("content").getAsString().isEmpty()) {
        long now = System.nanoTime();
        synchronized (ttft) {
          if (last[0] == 0) {
            ttft.add(now - start);
          } else {
            itl.add(now - last[0]);
          }
        }
        last[0] = now;
        text.append(delta.get("content").getAsString());
      }
    }
    assertThat(done).isTrue();
    return text.toString();
  }

  @Test
  void sixteenConcurrentStreamsEachEqualTheirSoloRun() throws Exception {
    String alphabet = "一丁七下丰丙丂丧丐个";
    List<String> bodies = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      String content = alphabet.substring(i % 7, i % 7 + 2 + i % 4);
      bodies.add(chat(content, true, i % 4 == 0 ? 0 : 0.9, 1000 + i, 12 + i % 5));
    }
    List<Long> ignored = new ArrayList<>();
    List<String> alone = new ArrayList<>();
    for (String body : bodies) {
      alone.add(streamText(body, ignored, new ArrayList<>()));
    }
    List<Long> ttft = new ArrayList<>();
    List<Long> itl = new ArrayList<>();
    List<CompletableFuture<String>> together = new ArrayList<>();
    try (var executor = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
      for (String body : bodies) {
        together.add(
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return streamText(body, ttft, itl);
                  } catch (Exception e) {
                    throw new RuntimeException(e);
                  }
                },
                executor));
      }
      for (int i = 0; i < bodies.size(); i++) {
        assertWithMessage("request %s: alone vs with 15 others", i)
            .that(together.get(i).get(120, TimeUnit.SECONDS))
            .isEqualTo(alone.get(i));
      }
    }
    // The greedy ones are also what the one-sequence generator gives.
    assertThat(alone.get(0))
        .isEqualTo(
            TestModels.reference(solo, List.of(Message.user("一丁")), SamplerChain.greedy(), 12));
    // No slot leaks: every slot is free again once the streams are done.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (TestModels.metric(port, "kiln_active_slots") != 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(TestModels.metric(port, "kiln_active_slots")).isEqualTo(0.0);
    assertThat(TestModels.metric(port, "kiln_queue_depth")).isEqualTo(0.0);
    System.out.printf(
        Locale.ROOT,
        "16 streams, --parallel 4: time to first token p50 %.1f ms, p99 %.1f ms;"
            + " inter-token latency p50 %.2f ms, p99 %.2f ms%n",
        percentile(ttft, 50),
        percentile(ttft, 99),
        percentile(itl, 50),
        percentile(itl, 99));
  }

  static double percentile(List<Long> nanos, double p) {
    long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    if (sorted.length == 0) {
      return 0;
    }
    int at = (int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1);
    return sorted[Math.max(0, at)] / 1e6;
  }

  @Test
  void modelsAndHealth() throws Exception {
    assertThat(TestModels.get(port, "/health").statusCode()).isEqualTo(200);
    HttpResponse<String> models = TestModels.get(port, "/v1/models");
    assertThat(models.statusCode()).isEqualTo(200);
    assertThat(
            JsonParser.parseString(models.body())
                .getAsJsonObject()
                .getAsJsonArray("data")
                .get(0)
                .getAsJsonObject()
                .get("id")
                .getAsString())
        .isEqualTo("model-f32.gguf");
    String metrics = TestModels.get(port, "/metrics").body();
    for (String name :
        List.of(
            "kiln_requests_total",
            "kiln_prompt_tokens_total",
            "kiln_completion_tokens_total",
            "kiln_queue_depth",
            "kiln_active_slots",
            "kiln_time_to_first_token_seconds_bucket",
            "kiln_inter_token_latency_seconds_bucket",
            "kiln_tokens_per_second")) {
      assertThat(metrics).contains(name);
    }
  }

  @Test
  void promptCacheReusesTheSlotsTokensForTheNextTurn() throws Exception {
    String first =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"丰丙\"}],\"temperature\":0,\"max_tokens\":4}";
    JsonObject one =
        JsonParser.parseString(TestModels.post(port, "/v1/chat/completions", first).body())
            .getAsJsonObject();
    String answer =
        one.getAsJsonArray("choices")
            .get(0)
            .getAsJsonObject()
            .getAsJsonObject("message")
            .get("content")
            .getAsString();
    var turn = List.of(Message.user("丰丙"), Message.assistant(answer), Message.user("丧丐"));
    String second =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"丰丙\"},{\"role\":\"assistant\",\"content\":"
            + new com.google.gson.JsonPrimitive(answer)
            + "},{\"role\":\"user\",\"content\":\"丧丐\"}],"
            + "\"temperature\":0,\"max_tokens\":4}";
    JsonObject two =
        JsonParser.parseString(TestModels.post(port, "/v1/chat/completions", second).body())
            .getAsJsonObject();
    int cached =
        two.getAsJsonObject("usage")
            .getAsJsonObject("prompt_tokens_details")
            .get("cached_tokens")
            .getAsInt();
    int promptTokens = two.getAsJsonObject("usage").get("prompt_tokens").getAsInt();
    assertWithMessage("cached tokens of the second turn")
        .that(cached)
        .isGreaterThan(one.getAsJsonObject("usage").get("prompt_tokens").getAsInt() - 1);
    assertThat(cached).isLessThan(promptTokens);
    assertThat(
            two.getAsJsonArray("choices")
                .get(0)
                .getAsJsonObject()
                .getAsJsonObject("message")
                .get("content")
                .getAsString())
        .isEqualTo(TestModels.reference(solo, turn, SamplerChain.greedy(), 4));
  }

  @Test
  void specialTokenTextInAMessageStaysText() {
    int[] ids = solo.encodeChat(List.of(Message.user("a</s>b")));
    int eos = solo.tokenizer().eos().orElseThrow();
    assertWithMessage("ids %s", Arrays.toString(ids))
        .that(Arrays.stream(ids).filter(id -> id == eos).count())
        .isEqualTo(0);
    String ids2 =
        Arrays.stream(solo.encodeChat(List.of(Message.user("ab"))))
            .mapToObj(Integer::toString)
            .collect(Collectors.joining(","));
    assertThat(ids2).isNotEmpty();
  }
}
