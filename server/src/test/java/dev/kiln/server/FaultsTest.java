package dev.kiln.server;

import static com.google.common.truth.Truth.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Refusals and faults: 400s, 401, 413, 429, a client that goes away, shutdown. The scheduler's
 * steps are gated where the test must decide when the decoder runs (no timing).
 */
class FaultsTest {
  private static final String CHAT =
      "{\"messages\":[{\"role\":\"user\",\"content\":\"一丁\"}],\"temperature\":0,"
          + "\"max_tokens\":%d%s}";

  private static JsonObject error(HttpResponse<String> response) {
    JsonObject error =
        JsonParser.parseString(response.body()).getAsJsonObject().getAsJsonObject("error");
    assertThat(error.keySet()).containsAtLeast("message", "type", "param", "code");
    return error;
  }

  @Test
  void badRequestsAre400sWithOpenAisErrorShape() throws Exception {
    try (KilnServer server =
        TestModels.serve(KilnServer.config().parallel(1).maxBodyBytes(4096), TestModels.tiny())) {
      int port = server.port();
      record Case(String body, String param, String says) {}
      List<Case> cases =
          List.of(
              new Case("{not json", null, "not valid JSON"),
              new Case("[1,2]", null, "JSON object"),
              new Case("{\"messages\":[]}", "messages", "non-empty"),
              new Case(
                  CHAT.formatted(
                      5, ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"),
                  "tools",
                  "not supported"),
              new Case(CHAT.formatted(5, ",\"n\":2"), "n", "n = 1"),
              new Case(CHAT.formatted(5, ",\"logprobs\":true"), "logprobs", "not supported"),
              new Case(
                  CHAT.formatted(
                      5, ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{}}"),
                  "response_format",
                  "json_schema"),
              new Case(CHAT.formatted(5, ",\"temperature\":3"), "temperature", "between 0 and 2"),
              new Case(CHAT.formatted(0, ""), "max_tokens", "at least 1"),
              new Case(
                  CHAT.formatted(5, ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"),
                  "stop",
                  "at most 4"),
              new Case(
                  "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
                  "messages[0].role",
                  "tool"),
              new Case(
                  "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "一".repeat(100) + "\"}]}",
                  "messages",
                  "the context holds 64 positions"));
      for (Case c : cases) {
        HttpResponse<String> response = TestModels.post(port, "/v1/chat/completions", c.body);
        assertThat(response.statusCode()).isEqualTo(400);
        JsonObject error = error(response);
        assertThat(error.get("type").getAsString()).isEqualTo("invalid_request_error");
        if (c.param != null) {
          assertThat(error.get("param").getAsString()).isEqualTo(c.param);
        }
        assertThat(error.get("message").getAsString()).contains(c.says);
      }
      // Both lengths are named.
      String tooLong =
          error(
                  TestModels.post(
                      port, "/v1/completions", "{\"prompt\":\"" + "一".repeat(100) + "\"}"))
              .get("message")
              .getAsString();
      assertThat(tooLong).containsMatch("has 10\\d tokens but the context holds 64");
      // Oversize bodies: 413.
      HttpResponse<String> big =
          TestModels.post(port, "/v1/chat/completions", "{\"x\":\"" + "a".repeat(5000) + "\"}");
      assertThat(big.statusCode()).isEqualTo(413);
      assertThat(error(big).get("code").getAsString()).isEqualTo("request_too_large");
      assertThat(TestModels.get(port, "/nowhere").statusCode()).isEqualTo(404);
      assertThat(TestModels.get(port, "/v1/chat/completions").statusCode()).isEqualTo(405);
    }
  }

  @Test
  void apiKeyIsRequiredWhenSet() throws Exception {
    try (KilnServer server =
        TestModels.serve(KilnServer.config().parallel(1).apiKey("sesame"), TestModels.tiny())) {
      int port = server.port();
      HttpResponse<String> none =
          TestModels.post(port, "/v1/chat/completions", CHAT.formatted(3, ""));
      assertThat(none.statusCode()).isEqualTo(401);
      assertThat(error(none).get("code").getAsString()).isEqualTo("invalid_api_key");
      assertThat(
              TestModels.post(
                      port,
                      "/v1/chat/completions",
                      CHAT.formatted(3, ""),
                      "Authorization",
                      "Bearer nope")
                  .statusCode())
          .isEqualTo(401);
      assertThat(TestModels.get(port, "/v1/models").statusCode()).isEqualTo(401);
      assertThat(
              TestModels.post(
                      port,
                      "/v1/chat/completions",
                      CHAT.formatted(3, ""),
                      "Authorization",
                      "Bearer sesame")
                  .statusCode())
          .isEqualTo(200);
      assertThat(TestModels.get(port, "/health").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aFullQueueIs429WithRetryAfter() throws Exception {
    try (KilnServer server =
        TestModels.serve(KilnServer.config().parallel(1).queueCapacity(1), TestModels.tiny())) {
      int port = server.port();
      Semaphore gate = new Semaphore(0);
      server.scheduler().gate = gate;
      // The first request takes the slot (admitted, but its steps wait at the gate), the second
      // waits in the queue.
      CompletableFuture<HttpResponse<String>> first =
          CompletableFuture.supplyAsync(() -> post(port, CHAT.formatted(3, "")));
      awaitMetric(port, "kiln_active_slots", 1);
      CompletableFuture<HttpResponse<String>> second =
          CompletableFuture.supplyAsync(() -> post(port, CHAT.formatted(3, "")));
      awaitMetric(port, "kiln_queue_depth", 1);
      HttpResponse<String> third =
          TestModels.post(port, "/v1/chat/completions", CHAT.formatted(3, ""));
      assertThat(third.statusCode()).isEqualTo(429);
      assertThat(third.headers().firstValue("Retry-After")).hasValue("1");
      assertThat(error(third).get("type").getAsString()).isEqualTo("rate_limit_error");
      server.scheduler().gate = null;
      gate.release(1000);
      assertThat(first.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(second.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(TestModels.metric(port, "kiln_requests_rejected_total")).isEqualTo(1.0);
    }
  }

  @Test
  void aClientThatDisconnectsMidStreamFreesItsSlot() throws Exception {
    try (KilnServer server = TestModels.serve(KilnServer.config().parallel(1), TestModels.tiny())) {
      int port = server.port();
      Semaphore gate = new Semaphore(0);
      server.scheduler().gate = gate;
      String body = CHAT.formatted(50, ",\"stream\":true");
      try (Socket socket = new Socket("127.0.0.1", port)) {
        OutputStream out = socket.getOutputStream();
        out.write(
            ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.getBytes(StandardCharsets.UTF_8).length
                    + "\r\n\r\n"
                    + body)
                .getBytes(StandardCharsets.UTF_8));
        out.flush();
        BufferedReader in =
            new BufferedReader(
                new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        assertThat(in.readLine()).contains("200");
        gate.release(2); // the prompt, then one more token
        String line;
        int contentChunks = 0;
        while (contentChunks < 2 && (line = in.readLine()) != null) {
          if (line.startsWith("data: ")
              && line.contains("\"content\"")
              && !line.contains("\"content\":\"\"")) {
            contentChunks++;
          }
        }
        assertThat(contentChunks).isEqualTo(2);
      } // the client goes away
      // Each further step writes a token to the closed connection; the write fails, the slot is
      // freed.
      int steps = 0;
      while (TestModels.metric(port, "kiln_requests_cancelled_total") == 0 && steps < 40) {
        gate.release();
        steps++;
        awaitStep(port, 2 + steps);
      }
      assertThat(TestModels.metric(port, "kiln_requests_cancelled_total")).isEqualTo(1.0);
      assertThat(steps).isLessThan(40);
      awaitMetric(port, "kiln_active_slots", 0);
      server.scheduler().gate = null;
      gate.release(1000);
      assertThat(TestModels.post(port, "/v1/chat/completions", CHAT.formatted(3, "")).statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void shutdownStopsAdmittingAndLetsRunningStreamsFinish() throws Exception {
    KilnServer server =
        TestModels.serve(
            KilnServer.config().parallel(2).shutdownGraceMillis(60_000), TestModels.tiny());
    int port = server.port();
    Semaphore gate = new Semaphore(0);
    server.scheduler().gate = gate;
    List<CompletableFuture<HttpResponse<String>>> running = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      running.add(
          CompletableFuture.supplyAsync(() -> post(port, CHAT.formatted(6, ",\"stream\":true"))));
    }
    awaitMetric(port, "kiln_active_slots", 2);
    CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
    while (TestModels.get(port, "/health").statusCode() != 503) {
      Thread.sleep(5);
    }
    HttpResponse<String> late =
        TestModels.post(port, "/v1/chat/completions", CHAT.formatted(3, ""));
    assertThat(late.statusCode()).isEqualTo(503);
    assertThat(error(late).get("code").getAsString()).isEqualTo("shutting_down");
    gate.release(1000);
    for (var future : running) {
      String stream = future.get(60, TimeUnit.SECONDS).body();
      assertThat(stream).contains("\"finish_reason\":\"length\"");
      assertThat(stream.strip()).endsWith("data: [DONE]");
    }
    closing.get(60, TimeUnit.SECONDS);
  }

  @Test
  void shutdownAfterTheGraceCutsStreamsCleanly() throws Exception {
    KilnServer server =
        TestModels.serve(KilnServer.config().parallel(1).shutdownGraceMillis(0), TestModels.tiny());
    int port = server.port();
    server.scheduler().gate = new Semaphore(0);
    CompletableFuture<HttpResponse<String>> running =
        CompletableFuture.supplyAsync(() -> post(port, CHAT.formatted(6, ",\"stream\":true")));
    awaitMetric(port, "kiln_active_slots", 1);
    server.close();
    String stream = running.get(60, TimeUnit.SECONDS).body();
    assertThat(stream).contains("\"code\":null");
    assertThat(stream).contains("shutting down");
    assertThat(stream.strip()).endsWith("data: [DONE]");
  }

  private static HttpResponse<String> post(int port, String body) {
    try {
      return TestModels.post(port, "/v1/chat/completions", body);
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  private static void awaitMetric(int port, String name, double value) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (TestModels.metric(port, name) != value) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            name + " never became " + value + ": " + TestModels.metric(port, name));
      }
      Thread.sleep(2);
    }
  }

  private static void awaitStep(int port, int steps) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (TestModels.metric(port, "kiln_scheduler_steps_total") < steps
        && TestModels.metric(port, "kiln_active_slots") > 0) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("step " + steps + " never ran");
      }
      Thread.sleep(2);
    }
    Thread.sleep(5); // let the handler write the step's token
  }
}
