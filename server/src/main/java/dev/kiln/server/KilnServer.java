package dev.kiln.server;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.kiln.KilnException;
import dev.kiln.generate.Message;
import dev.kiln.generate.SamplerChain;
import dev.kiln.model.KilnModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * An OpenAI-compatible HTTP server over one {@link KilnModel}, on the JDK's {@code
 * com.sun.net.httpserver} with a virtual thread per request: {@code POST /v1/chat/completions} and
 * {@code /v1/completions} (with Server-Sent Events streaming), {@code GET /v1/models}, {@code
 * /health}, {@code /metrics} (Prometheus) and a chat page at {@code /}. Requests are run by a
 * {@link Scheduler} that batches up to the decoder's {@code maxBatchSize} of them continuously.
 *
 * <pre>{@code
 * KilnServer server = KilnServer.start(KilnServer.config().port(8080).parallel(4),
 *     () -> KilnModel.open(path, KilnModel.options().batchSize(4)));
 * }</pre>
 */
public final class KilnServer implements AutoCloseable {
  /** Settings; each has a default. */
  public static final class Config {
    String host = "127.0.0.1";
    int port = 8080;

    /**
     * The most slots (sequences decoded together); their KV caches are checked against the heap
     * too.
     */
    public static final int MAX_PARALLEL = 1024;

    /** The most requests that may wait (the queue is preallocated). */
    public static final int MAX_QUEUE = 1_000_000;

    /** The longest shutdown grace: a day. */
    public static final long MAX_GRACE_MILLIS = 86_400_000L;

    int parallel = 4;
    Integer context;
    String apiKey;
    int queueCapacity = 64;
    int maxBodyBytes = 1 << 20;
    int prefillChunk = 256;
    long shutdownGraceMillis = 10_000;
    String modelName;
    Consumer<String> log = System.err::println;

    /** The address to bind (default 127.0.0.1: loopback only). */
    public Config host(String host) {
      this.host = Objects.requireNonNull(host);
      return this;
    }

    /** The port (default 8080; 0 picks a free one, see {@link KilnServer#port()}). */
    public Config port(int port) {
      this.port = port;
      return this;
    }

    /** Requests generated together: the decoder's batch slots (default 4). */
    public Config parallel(int parallel) {
      if (parallel < 1 || parallel > MAX_PARALLEL) {
        throw new KilnException(
            "--parallel must be between 1 and " + MAX_PARALLEL + ", was " + parallel);
      }
      this.parallel = parallel;
      return this;
    }

    /** Positions of each slot's KV cache (default: the model's, up to 4096). */
    public Config context(Integer context) {
      this.context = context;
      return this;
    }

    /** A bearer token every /v1 request must carry (default none). */
    public Config apiKey(String apiKey) {
      this.apiKey = apiKey;
      return this;
    }

    /** Requests that may wait for a slot; more get 429 (default 64). */
    public Config queueCapacity(int capacity) {
      if (capacity < 1 || capacity > MAX_QUEUE) {
        throw new KilnException(
            "the queue capacity (--queue) must be between 1 and "
                + MAX_QUEUE
                + ", was "
                + capacity);
      }
      this.queueCapacity = capacity;
      return this;
    }

    /** The largest request body; larger ones get 413 (default 1 MiB). */
    public Config maxBodyBytes(int bytes) {
      if (bytes < 1) {
        throw new KilnException(
            "the largest request body (--max-body) must be at least 1 byte, was " + bytes);
      }
      this.maxBodyBytes = bytes;
      return this;
    }

    /** Prompt tokens a slot feeds per step while reading its prompt (default 256). */
    public Config prefillChunk(int tokens) {
      if (tokens < 1) {
        throw new KilnException("the prefill chunk must be at least 1 token, was " + tokens);
      }
      this.prefillChunk = tokens;
      return this;
    }

    /** How long running generations may go on after a shutdown starts (default 10 s). */
    public Config shutdownGraceMillis(long millis) {
      if (millis < 0 || millis > MAX_GRACE_MILLIS) {
        throw new KilnException(
            "the shutdown grace (--shutdown-grace) must be between 0 and "
                + MAX_GRACE_MILLIS / 1000
                + " seconds, was "
                + millis / 1000.0);
      }
      this.shutdownGraceMillis = millis;
      return this;
    }

    /** The model's name in the API (default: the file's name). */
    public Config modelName(String name) {
      this.modelName = name;
      return this;
    }

    /** Where the server's messages go (default standard error). */
    public Config log(Consumer<String> log) {
      this.log = Objects.requireNonNull(log);
      return this;
    }

    /** The KilnModel options that go with these settings: {@code parallel} slots, the context. */
    public KilnModel.Options modelOptions() {
      KilnModel.Options options = KilnModel.options().batchSize(parallel);
      if (context != null) {
        options.context(context);
      }
      return options;
    }
  }

  public static Config config() {
    return new Config();
  }

  /**
   * Fields that change what is generated and that Kiln does not implement: a 400, never ignored.
   */
  private static final Set<String> REFUSED =
      Set.of(
          "tools",
          "tool_choice",
          "functions",
          "function_call",
          "logit_bias",
          "logprobs",
          "top_logprobs",
          "audio",
          "modalities",
          "prediction",
          "suffix",
          "echo",
          "best_of",
          "web_search_options",
          "reasoning_effort");

  private final Config config;
  private final HttpServer http;
  private final ExecutorService executor;
  private final Metrics metrics = new Metrics();
  private final String created = Long.toString(System.currentTimeMillis() / 1000);
  private final byte[] chatPage;
  private volatile KilnModel model;
  private volatile Scheduler scheduler;
  private volatile String modelName;
  private volatile boolean stopping;

  private KilnServer(Config config) throws IOException {
    this.config = config;
    try (InputStream in = KilnServer.class.getResourceAsStream("chat.html")) {
      this.chatPage =
          in == null
              ? "<p>no chat page in this build</p>".getBytes(StandardCharsets.UTF_8)
              : in.readAllBytes();
    }
    this.http = HttpServer.create(new InetSocketAddress(config.host, config.port), 128);
    this.executor = Executors.newVirtualThreadPerTaskExecutor();
    http.setExecutor(executor);
    http.createContext("/", this::handle);
    http.start();
  }

  /**
   * Binds the port (so {@code /health} answers 503 while loading), loads the model with {@code
   * loader} (whose decoder must have {@code maxBatchSize} slots, e.g. from {@link
   * Config#modelOptions()}), then admits requests.
   */
  public static KilnServer start(Config config, Supplier<KilnModel> loader) throws IOException {
    KilnServer server = new KilnServer(config);
    try {
      server.load(loader.get());
    } catch (RuntimeException | Error e) {
      server.http.stop(0);
      server.executor.shutdownNow();
      throw e;
    }
    return server;
  }

  private void load(KilnModel loaded) {
    if (loaded.hasTokenizer()) {
      loaded.tokenizer(); // fail now, not at the first request, when there is none
    }
    Scheduler s =
        new Scheduler(
            loaded.decoder(), metrics, config.queueCapacity, config.prefillChunk, config.log);
    modelName =
        config.modelName != null ? config.modelName : loaded.file().getFileName().toString();
    model = loaded;
    s.start();
    scheduler = s;
  }

  /** The port the server listens on. */
  public int port() {
    return http.getAddress().getPort();
  }

  /** Tests only: the scheduler, to gate its steps. */
  Scheduler scheduler() {
    return scheduler;
  }

  /** The model the server runs. */
  public KilnModel model() {
    return model;
  }

  /**
   * Graceful shutdown: stops admitting (new requests get 503), lets running generations finish
   * within the grace period, cuts the rest with an error event, then closes the listener.
   */
  @Override
  public void close() {
    stopping = true;
    Scheduler s = scheduler;
    try {
      if (s != null) {
        s.shutdown(config.shutdownGraceMillis * 1_000_000L);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    http.stop(1);
    executor.shutdown();
  }

  // ---------------------------------------------------------------------------------------------

  private void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    String method = exchange.getRequestMethod();
    int status = 500;
    try {
      status = route(exchange, path, method);
    } catch (ApiException e) {
      status = e.status;
      error(exchange, e);
    } catch (RuntimeException | Error e) {
      status = 500;
      config.log.accept("kiln serve: " + method + " " + path + ": " + e);
      error(
          exchange,
          new ApiException(500, "server_error", null, null, String.valueOf(e.getMessage())));
    } finally {
      metrics.request(endpoint(path), status);
      exchange.close();
    }
  }

  private static String endpoint(String path) {
    return switch (path) {
      case "/", "/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions" ->
          path;
      default -> "other";
    };
  }

  private int route(HttpExchange exchange, String path, String method) throws IOException {
    switch (path) {
      case "/", "/index.html" -> {
        allow(method, "GET");
        exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
        return send(exchange, 200, chatPage);
      }
      case "/health" -> {
        allow(method, "GET");
        if (stopping) {
          return json(exchange, 503, status("shutting down"));
        }
        return scheduler == null
            ? json(exchange, 503, status("loading model"))
            : json(exchange, 200, status("ok"));
      }
      case "/metrics" -> {
        allow(method, "GET");
        Scheduler s = scheduler;
        String text =
            metrics.render(
                () -> s == null ? 0 : s.queueDepth(),
                () -> s == null ? 0 : s.activeSlots(),
                config.parallel,
                s != null && !stopping);
        exchange
            .getResponseHeaders()
            .set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        return send(exchange, 200, text.getBytes(StandardCharsets.UTF_8));
      }
      case "/v1/models" -> {
        allow(method, "GET");
        authorize(exchange);
        ready();
        JsonObject entry = new JsonObject();
        entry.addProperty("id", modelName);
        entry.addProperty("object", "model");
        entry.addProperty("created", Long.parseLong(created));
        entry.addProperty("owned_by", "kiln");
        JsonObject meta = new JsonObject();
        meta.addProperty("context_length", scheduler.contextLength());
        meta.addProperty("parallel", scheduler.slots());
        entry.add("meta", meta);
        JsonArray data = new JsonArray();
        data.add(entry);
        JsonObject list = new JsonObject();
        list.addProperty("object", "list");
        list.add("data", data);
        return json(exchange, 200, list);
      }
      case "/v1/chat/completions" -> {
        allow(method, "POST");
        authorize(exchange);
        ready();
        return complete(exchange, body(exchange), true);
      }
      case "/v1/completions" -> {
        allow(method, "POST");
        authorize(exchange);
        ready();
        return complete(exchange, body(exchange), false);
      }
      default ->
          throw new ApiException(
              404,
              "invalid_request_error",
              null,
              "not_found",
              "no such endpoint: " + method + " " + path);
    }
  }

  private static JsonObject status(String text) {
    JsonObject object = new JsonObject();
    object.addProperty("status", text);
    return object;
  }

  private static void allow(String method, String allowed) {
    if (!method.equals(allowed)) {
      throw new ApiException(
          405, "invalid_request_error", null, "method_not_allowed", "use " + allowed);
    }
  }

  private void authorize(HttpExchange exchange) {
    if (config.apiKey == null) {
      return;
    }
    String header = exchange.getRequestHeaders().getFirst("Authorization");
    if (header == null
        || !java.security.MessageDigest.isEqual(
            ("Bearer " + config.apiKey).getBytes(StandardCharsets.UTF_8),
            header.trim().getBytes(StandardCharsets.UTF_8))) {
      throw new ApiException(
          401,
          "invalid_request_error",
          null,
          "invalid_api_key",
          header == null ? "missing API key: send Authorization: Bearer KEY" : "incorrect API key");
    }
  }

  private void ready() {
    if (stopping) {
      throw new ApiException(
          503, "server_error", null, "shutting_down", "the server is shutting down");
    }
    if (scheduler == null) {
      throw new ApiException(503, "server_error", null, "loading", "the model is loading");
    }
  }

  /** The request's JSON object; 413 beyond the size limit, 400 for anything but a JSON object. */
  private JsonObject body(HttpExchange exchange) throws IOException {
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    if (length != null) {
      try {
        if (Long.parseLong(length.trim()) > config.maxBodyBytes) {
          throw tooLarge();
        }
      } catch (NumberFormatException e) {
        throw ApiException.invalid(null, "bad Content-Length");
      }
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (InputStream in = exchange.getRequestBody()) {
      byte[] buffer = new byte[8192];
      int n;
      while ((n = in.read(buffer)) > 0) {
        bytes.write(buffer, 0, n);
        if (bytes.size() > config.maxBodyBytes) {
          throw tooLarge();
        }
      }
    }
    JsonElement element;
    try {
      element = JsonParser.parseString(bytes.toString(StandardCharsets.UTF_8));
    } catch (JsonParseException e) {
      throw ApiException.invalid(null, "the body is not valid JSON: " + e.getMessage());
    }
    if (!element.isJsonObject()) {
      throw ApiException.invalid(null, "the body must be a JSON object");
    }
    return element.getAsJsonObject();
  }

  private ApiException tooLarge() {
    return new ApiException(
        413,
        "invalid_request_error",
        null,
        "request_too_large",
        "the request body is larger than " + config.maxBodyBytes + " bytes");
  }

  // ---------------------------------------------------------------------------------------------

  /** A parsed request: prompt ids and how to generate. */
  private record Request(
      int[] prompt,
      SamplerChain sampler,
      int maxTokens,
      int[] stopTokens,
      List<String> stops,
      boolean stream,
      boolean includeUsage) {}

  private int complete(HttpExchange exchange, JsonObject body, boolean chat) throws IOException {
    Request request = parse(body, chat);
    // Without a tokenizer (random weights), each token is shown as " ID".
    dev.kiln.generate.TokenText text =
        model.hasTokenizer()
            ? model.tokenizer()::tokenBytes
            : id -> (" " + id).getBytes(StandardCharsets.UTF_8);
    Job job =
        new Job(
            request.prompt,
            request.sampler,
            request.maxTokens,
            request.stopTokens,
            request.stops,
            text);
    switch (scheduler.submit(job)) {
      case QUEUE_FULL -> {
        metrics.rejected.incrementAndGet();
        exchange.getResponseHeaders().set("Retry-After", "1");
        throw new ApiException(
            429,
            "rate_limit_error",
            null,
            "queue_full",
            "all "
                + scheduler.slots()
                + " slots are busy and "
                + config.queueCapacity
                + " requests are waiting; retry later");
      }
      case CLOSED ->
          throw new ApiException(
              503, "server_error", null, "shutting_down", "the server is shutting down");
      case ACCEPTED -> {}
    }
    String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    long createdAt = System.currentTimeMillis() / 1000;
    try {
      return request.stream
          ? stream(exchange, job, request, chat, id, createdAt)
          : whole(exchange, job, chat, id, createdAt);
    } catch (InterruptedException e) {
      job.cancel();
      Thread.currentThread().interrupt();
      throw new ApiException(503, "server_error", null, null, "interrupted");
    }
  }

  private int whole(HttpExchange exchange, Job job, boolean chat, String id, long createdAt)
      throws IOException, InterruptedException {
    StringBuilder text = new StringBuilder();
    Job.Done done;
    while (true) {
      Job.Event event = job.events.take();
      if (event instanceof Job.Text piece) {
        text.append(piece.text());
      } else {
        done = (Job.Done) event;
        break;
      }
    }
    if (done.error() != null) {
      throw new ApiException(503, "server_error", null, null, done.error());
    }
    JsonObject choice = new JsonObject();
    choice.addProperty("index", 0);
    if (chat) {
      JsonObject message = new JsonObject();
      message.addProperty("role", "assistant");
      message.addProperty("content", text.toString());
      choice.add("message", message);
    } else {
      choice.addProperty("text", text.toString());
    }
    choice.add("logprobs", JsonNull.INSTANCE);
    choice.addProperty("finish_reason", done.finishReason());
    JsonObject response = envelope(id, chat ? "chat.completion" : "text_completion", createdAt);
    JsonArray choices = new JsonArray();
    choices.add(choice);
    response.add("choices", choices);
    response.add("usage", usage(done));
    return json(exchange, 200, response);
  }

  private int stream(
      HttpExchange exchange, Job job, Request request, boolean chat, String id, long createdAt)
      throws IOException, InterruptedException {
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
    exchange.sendResponseHeaders(200, 0);
    OutputStream out = exchange.getResponseBody();
    String object = chat ? "chat.completion.chunk" : "text_completion";
    try {
      if (chat) {
        JsonObject delta = new JsonObject();
        delta.addProperty("role", "assistant");
        delta.addProperty("content", "");
        event(out, chunk(id, object, createdAt, chat, delta, null));
      }
      while (true) {
        Job.Event event = job.events.take();
        if (event instanceof Job.Text piece) {
          JsonObject delta = new JsonObject();
          delta.addProperty(chat ? "content" : "text", piece.text());
          event(out, chunk(id, object, createdAt, chat, delta, null));
          continue;
        }
        Job.Done done = (Job.Done) event;
        if (done.error() != null) {
          JsonObject error = new JsonObject();
          error.add(
              "error", errorBody(new ApiException(503, "server_error", null, null, done.error())));
          event(out, error);
        } else {
          event(out, chunk(id, object, createdAt, chat, new JsonObject(), done.finishReason()));
          if (request.includeUsage) {
            JsonObject usage = envelope(id, object, createdAt);
            usage.add("choices", new JsonArray());
            usage.add("usage", usage(done));
            event(out, usage);
          }
        }
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
        return 200;
      }
    } catch (IOException e) {
      job.cancel(); // the client went away: the scheduler frees its slot at the next step
      return 499;
    }
  }

  private JsonObject envelope(String id, String object, long createdAt) {
    JsonObject response = new JsonObject();
    response.addProperty("id", id);
    response.addProperty("object", object);
    response.addProperty("created", createdAt);
    response.addProperty("model", modelName);
    response.addProperty("system_fingerprint", "kiln");
    return response;
  }

  private JsonObject chunk(
      String id, String object, long createdAt, boolean chat, JsonObject delta, String finish) {
    JsonObject response = envelope(id, object, createdAt);
    JsonObject choice = new JsonObject();
    choice.addProperty("index", 0);
    if (chat) {
      choice.add("delta", delta);
    } else {
      choice.addProperty("text", delta.has("text") ? delta.get("text").getAsString() : "");
    }
    choice.add("logprobs", JsonNull.INSTANCE);
    choice.add("finish_reason", finish == null ? JsonNull.INSTANCE : new JsonPrimitive(finish));
    JsonArray choices = new JsonArray();
    choices.add(choice);
    response.add("choices", choices);
    return response;
  }

  private static JsonObject usage(Job.Done done) {
    JsonObject usage = new JsonObject();
    usage.addProperty("prompt_tokens", done.promptTokens());
    usage.addProperty("completion_tokens", done.completionTokens());
    usage.addProperty("total_tokens", done.promptTokens() + done.completionTokens());
    JsonObject details = new JsonObject();
    details.addProperty("cached_tokens", done.cachedTokens());
    usage.add("prompt_tokens_details", details);
    return usage;
  }

  private static void event(OutputStream out, JsonObject data) throws IOException {
    out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  // ---------------------------------------------------------------------------------------------

  private Request parse(JsonObject body, boolean chat) {
    for (String field : REFUSED) {
      if (body.has(field) && !body.get(field).isJsonNull() && !harmless(field, body.get(field))) {
        throw ApiException.unsupported(field, "'" + field + "' is not supported by Kiln");
      }
    }
    if (body.has("n") && !body.get("n").isJsonNull() && integer(body, "n") != 1) {
      throw ApiException.unsupported("n", "only n = 1 is supported");
    }
    if (body.has("response_format") && !body.get("response_format").isJsonNull()) {
      JsonElement format = body.get("response_format");
      String type =
          format.isJsonObject() && format.getAsJsonObject().has("type")
              ? format.getAsJsonObject().get("type").getAsString()
              : "";
      if (!type.equals("text")) {
        throw ApiException.unsupported(
            "response_format", "response_format '" + type + "' is not supported (only text)");
      }
    }
    int[] prompt;
    if (chat && !model.hasTokenizer()) {
      throw ApiException.unsupported(
          "messages", "this model has no tokenizer: use /v1/completions with token ids");
    }
    if (chat) {
      List<Message> messages = messages(body);
      try {
        prompt = model.encodeChat(messages);
      } catch (KilnException e) {
        throw ApiException.invalid("messages", e.getMessage());
      }
    } else {
      prompt = completionPrompt(body);
    }
    int context = scheduler.contextLength();
    if (prompt.length == 0) {
      throw ApiException.invalid(chat ? "messages" : "prompt", "the prompt is empty");
    }
    if (prompt.length >= context) {
      throw new ApiException(
          400,
          "invalid_request_error",
          chat ? "messages" : "prompt",
          "context_length_exceeded",
          "the prompt has "
              + prompt.length
              + " tokens but the context holds "
              + context
              + " positions, which leaves"
              + " no room to generate");
    }
    int room = context - prompt.length;
    int maxTokens = room;
    for (String field : List.of("max_completion_tokens", "max_tokens")) {
      if (body.has(field) && !body.get(field).isJsonNull()) {
        int value = integer(body, field);
        if (value < 1) {
          throw ApiException.invalid(field, field + " must be at least 1, was " + value);
        }
        maxTokens = Math.min(value, room);
        break;
      }
    }
    if (!chat && !body.has("max_tokens")) {
      maxTokens = Math.min(16, room); // the legacy endpoint's default
    }
    double temperature = number(body, "temperature", 1.0, 0, 2);
    double topP = number(body, "top_p", 1.0, 0, 1);
    if (topP == 0) {
      throw ApiException.invalid("top_p", "top_p must be greater than 0");
    }
    double frequency = number(body, "frequency_penalty", 0, -2, 2);
    double presence = number(body, "presence_penalty", 0, -2, 2);
    long seed;
    if (body.has("seed") && !body.get("seed").isJsonNull()) {
      try {
        seed = body.get("seed").getAsLong();
      } catch (RuntimeException e) {
        throw ApiException.invalid("seed", "seed must be an integer");
      }
    } else {
      seed = ThreadLocalRandom.current().nextLong();
    }
    SamplerChain.Builder sampler = SamplerChain.builder();
    if (frequency != 0 || presence != 0) {
      sampler.add(new Penalties(prompt.length, frequency, presence));
    }
    if (temperature == 0) {
      sampler.greedy();
    } else {
      sampler.temperature(temperature);
      if (topP < 1) {
        sampler.topP(topP);
      }
    }
    List<String> stops = stops(body);
    boolean stream = bool(body, "stream");
    boolean includeUsage = false;
    if (body.has("stream_options") && !body.get("stream_options").isJsonNull()) {
      if (!stream) {
        throw ApiException.invalid(
            "stream_options", "stream_options is only allowed with stream: true");
      }
      JsonElement options = body.get("stream_options");
      if (!options.isJsonObject()) {
        throw ApiException.invalid("stream_options", "stream_options must be an object");
      }
      includeUsage = bool(options.getAsJsonObject(), "include_usage");
    }
    return new Request(
        prompt,
        sampler.seed(seed).build(),
        maxTokens,
        model.stopTokens(chat),
        stops,
        stream,
        includeUsage);
  }

  /**
   * A refused field sent with its "off" value (tools: [], logprobs: false, echo: false, best_of:
   * 1).
   */
  private static boolean harmless(String field, JsonElement value) {
    if (value.isJsonArray() && value.getAsJsonArray().isEmpty()) {
      return true;
    }
    if (value.isJsonPrimitive()) {
      JsonPrimitive p = value.getAsJsonPrimitive();
      if (p.isBoolean() && !p.getAsBoolean()) {
        return true;
      }
      if (field.equals("best_of") && p.isNumber() && p.getAsDouble() == 1) {
        return true;
      }
      if (field.equals("tool_choice") && p.isString() && p.getAsString().equals("none")) {
        return true;
      }
    }
    return value.isJsonObject() && value.getAsJsonObject().isEmpty() && field.equals("logit_bias");
  }

  private List<Message> messages(JsonObject body) {
    if (!body.has("messages")
        || !body.get("messages").isJsonArray()
        || body.getAsJsonArray("messages").isEmpty()) {
      throw ApiException.invalid("messages", "messages must be a non-empty array");
    }
    List<Message> messages = new ArrayList<>();
    JsonArray array = body.getAsJsonArray("messages");
    for (int i = 0; i < array.size(); i++) {
      String param = "messages[" + i + "]";
      if (!array.get(i).isJsonObject()) {
        throw ApiException.invalid(param, param + " must be an object");
      }
      JsonObject message = array.get(i).getAsJsonObject();
      String role =
          message.has("role") && message.get("role").isJsonPrimitive()
              ? message.get("role").getAsString()
              : "";
      switch (role) {
        case "system", "developer" -> role = Message.SYSTEM;
        case "user" -> role = Message.USER;
        case "assistant" -> role = Message.ASSISTANT;
        case "tool", "function" ->
            throw ApiException.unsupported(param + ".role", "tool messages are not supported");
        default ->
            throw ApiException.invalid(
                param + ".role",
                "role must be system, developer, user or assistant, was '" + role + "'");
      }
      if (message.has("tool_calls") && !message.get("tool_calls").isJsonNull()) {
        throw ApiException.unsupported(param + ".tool_calls", "tool calls are not supported");
      }
      messages.add(new Message(role, content(message.get("content"), param + ".content")));
    }
    try {
      model.chatTemplate().render(messages, true); // the template's own checks (role order)
    } catch (KilnException e) {
      throw ApiException.invalid("messages", e.getMessage());
    }
    return messages;
  }

  /** A message's text: a string, or an array of text parts (other parts are refused). */
  private static String content(JsonElement content, String param) {
    if (content == null || content.isJsonNull()) {
      return "";
    }
    if (content.isJsonPrimitive() && content.getAsJsonPrimitive().isString()) {
      return content.getAsString();
    }
    if (content.isJsonArray()) {
      StringBuilder text = new StringBuilder();
      for (JsonElement part : content.getAsJsonArray()) {
        if (!part.isJsonObject()
            || !part.getAsJsonObject().has("type")
            || !part.getAsJsonObject().get("type").getAsString().equals("text")
            || !part.getAsJsonObject().has("text")) {
          throw ApiException.unsupported(param, "only text content parts are supported");
        }
        text.append(part.getAsJsonObject().get("text").getAsString());
      }
      return text.toString();
    }
    throw ApiException.invalid(param, param + " must be a string or an array of text parts");
  }

  private int[] completionPrompt(JsonObject body) {
    JsonElement prompt = body.get("prompt");
    if (prompt == null || prompt.isJsonNull()) {
      throw ApiException.invalid("prompt", "prompt is required");
    }
    if (prompt.isJsonPrimitive() && prompt.getAsJsonPrimitive().isString()) {
      if (!model.hasTokenizer()) {
        throw ApiException.unsupported(
            "prompt", "this model has no tokenizer: give the prompt as token ids");
      }
      return model.encode(prompt.getAsString());
    }
    if (prompt.isJsonArray()) {
      JsonArray array = prompt.getAsJsonArray();
      if (array.size() == 1
          && array.get(0).isJsonPrimitive()
          && array.get(0).getAsJsonPrimitive().isString()) {
        return model.encode(array.get(0).getAsString());
      }
      int vocab = model.spec().vocabSize();
      int[] ids = new int[array.size()];
      for (int i = 0; i < ids.length; i++) {
        JsonElement e = array.get(i);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
          throw ApiException.unsupported(
              "prompt",
              "prompt must be a string, one string in an array, or token ids"
                  + " (batches of prompts are not supported)");
        }
        ids[i] = e.getAsInt();
        if (ids[i] < 0 || ids[i] >= vocab) {
          throw ApiException.invalid(
              "prompt", "token id " + ids[i] + " is outside the vocabulary [0, " + vocab + ")");
        }
      }
      return ids;
    }
    throw ApiException.invalid("prompt", "prompt must be a string or an array");
  }

  private static List<String> stops(JsonObject body) {
    JsonElement stop = body.get("stop");
    List<String> stops = new ArrayList<>();
    if (stop == null || stop.isJsonNull()) {
      return stops;
    }
    if (stop.isJsonPrimitive() && stop.getAsJsonPrimitive().isString()) {
      stops.add(stop.getAsString());
    } else if (stop.isJsonArray()) {
      for (JsonElement e : stop.getAsJsonArray()) {
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
          throw ApiException.invalid("stop", "stop must be a string or an array of strings");
        }
        stops.add(e.getAsString());
      }
    } else {
      throw ApiException.invalid("stop", "stop must be a string or an array of strings");
    }
    if (stops.size() > 4) {
      throw ApiException.invalid("stop", "at most 4 stop sequences, got " + stops.size());
    }
    if (stops.stream().anyMatch(String::isEmpty)) {
      throw ApiException.invalid("stop", "stop sequences must not be empty");
    }
    return stops;
  }

  private static int integer(JsonObject body, String field) {
    JsonElement e = body.get(field);
    if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
      throw ApiException.invalid(field, field + " must be an integer");
    }
    double value = e.getAsDouble();
    if (value != Math.rint(value) || Math.abs(value) > Integer.MAX_VALUE) {
      throw ApiException.invalid(field, field + " must be an integer");
    }
    return (int) value;
  }

  private static double number(
      JsonObject body, String field, double fallback, double min, double max) {
    JsonElement e = body.get(field);
    if (e == null || e.isJsonNull()) {
      return fallback;
    }
    if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
      throw ApiException.invalid(field, field + " must be a number");
    }
    double value = e.getAsDouble();
    if (!(value >= min && value <= max)) {
      throw ApiException.invalid(
          field,
          String.format(
              Locale.ROOT,
              "%s must be between %s and %s, was %s",
              field,
              trim(min),
              trim(max),
              trim(value)));
    }
    return value;
  }

  private static String trim(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }

  private static boolean bool(JsonObject body, String field) {
    JsonElement e = body.get(field);
    if (e == null || e.isJsonNull()) {
      return false;
    }
    if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
      throw ApiException.invalid(field, field + " must be true or false");
    }
    return e.getAsBoolean();
  }

  // ---------------------------------------------------------------------------------------------

  private static JsonObject errorBody(ApiException e) {
    JsonObject error = new JsonObject();
    error.addProperty("message", e.getMessage());
    error.addProperty("type", e.type);
    error.add("param", e.param == null ? JsonNull.INSTANCE : new JsonPrimitive(e.param));
    error.add("code", e.code == null ? JsonNull.INSTANCE : new JsonPrimitive(e.code));
    return error;
  }

  private static void error(HttpExchange exchange, ApiException e) {
    JsonObject object = new JsonObject();
    object.add("error", errorBody(e));
    try {
      json(exchange, e.status, object);
    } catch (IOException | RuntimeException ignored) {
      // headers already sent (a stream), or the client is gone
    }
  }

  private static int json(HttpExchange exchange, int status, JsonObject object) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    return send(exchange, status, object.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static int send(HttpExchange exchange, int status, byte[] bytes) throws IOException {
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
    return status;
  }
}
