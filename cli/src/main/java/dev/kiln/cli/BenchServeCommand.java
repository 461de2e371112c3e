package dev.kiln.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.InvalidInputException;
import dev.kiln.model.KilnModel;
import dev.kiln.server.KilnServer;
import dev.kiln.spec.ResolvedSpec;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kiln bench-serve}: streaming clients against an in-process {@code kiln serve} over HTTP
 * (loopback): aggregate tokens/s at each client count, time to first token and inter-token latency,
 * and the time to first token of a prompt that arrives while other streams run, against its solo
 * time.
 */
@Command(
    name = "bench-serve",
    mixinStandardHelpOptions = true,
    description =
        "Benchmarks kiln serve: N concurrent streaming clients, aggregate tokens/s and latencies.")
final class BenchServeCommand implements Callable<Integer> {
  @Option(
      names = {"-m", "--model"},
      paramLabel = "FILE",
      description = "A model file (prompts are random token ids).")
  Path model;

  @Option(
      names = "--random",
      paramLabel = "SHAPE",
      description =
          "Random weights of a shape instead (as kiln bench:"
              + " stories110m, llama1b, or key=value pairs); default stories110m.")
  String random;

  @Option(
      names = "--clients",
      split = ",",
      defaultValue = "1,2,4,8",
      description = "Client counts (default ${DEFAULT-VALUE}).")
  int[] clients;

  @Option(
      names = "--prompt",
      defaultValue = "128",
      description = "Prompt tokens per request (default ${DEFAULT-VALUE}).")
  int prompt;

  @Option(
      names = "--tokens",
      defaultValue = "128",
      description = "Tokens generated per request (default ${DEFAULT-VALUE}).")
  int tokens;

  @Option(
      names = "--rounds",
      defaultValue = "2",
      description = "Requests per client at each count (default ${DEFAULT-VALUE}).")
  int rounds;

  @Mixin Kiln.Common common = new Kiln.Common();

  @Spec CommandSpec command;

  private final HttpClient http = HttpClient.newHttpClient();
  private int port;
  private int vocab;

  /** One streamed request: when it was sent, when each token came. */
  private record Stream(long sent, List<Long> tokenTimes) {
    long ttft() {
      return tokenTimes.getFirst() - sent;
    }
  }

  @Override
  public Integer call() throws Exception {
    common.apply();
    PrintWriter out = command.commandLine().getOut();
    PrintWriter err = command.commandLine().getErr();
    int parallel = Arrays.stream(clients).max().orElse(1);
    if (prompt < 1 || tokens < 2 || rounds < 1 || Arrays.stream(clients).anyMatch(c -> c < 1)) {
      throw new InvalidInputException(
          "--prompt, --rounds and --clients must be positive, --tokens at least 2");
    }
    parallel = Math.max(parallel, 4);
    int context = prompt + tokens + 8;
    KilnServer.Config config =
        KilnServer.config().port(0).parallel(parallel).context(context).log(err::println);
    KilnModel.Options options =
        config.modelOptions().cacheRoot(common.cacheRoot()).progress(err::println);
    String name;
    if (model != null) {
      name = model.getFileName().toString();
      server(config, () -> KilnModel.open(model, options));
    } else {
      name = random == null ? "stories110m" : random;
      ResolvedSpec spec =
          BenchCommand.shape(name, parallel).toBuilder().maxPositionEmbeddings(context).build();
      server(config, () -> KilnModel.random(spec, 1, options));
    }
    try {
      out.printf(
          Locale.ROOT,
          "kiln bench-serve: %s, %d slots, %d-token prompts, %d tokens each, %d threads%n",
          name,
          parallel,
          prompt,
          tokens,
          Runtime.getRuntime().availableProcessors());
      concurrent(Math.min(4, parallel), 0, 16); // warm-up: prefill, batched decode, JIT
      stream(tokens, 1).get();
      out.println(
          "| clients | aggregate tokens/s | vs 1 client | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms |");
      out.println("|---:|---:|---:|---:|---:|---:|---:|");
      double single = 0;
      for (int n : clients) {
        List<Stream> all = new ArrayList<>();
        double rate = 0;
        for (int round = 0; round < rounds; round++) {
          long start = System.nanoTime();
          List<Stream> streams = concurrent(n, round * 1000 + n, tokens);
          long end = streams.stream().mapToLong(s -> s.tokenTimes.getLast()).max().orElseThrow();
          long generated = streams.stream().mapToLong(s -> s.tokenTimes.size()).sum();
          rate += generated / ((end - start) / 1e9) / rounds;
          all.addAll(streams);
        }
        if (single == 0) {
          single = rate;
        }
        List<Long> ttft = all.stream().map(Stream::ttft).toList();
        List<Long> itl = new ArrayList<>();
        for (Stream s : all) {
          for (int i = 1; i < s.tokenTimes.size(); i++) {
            itl.add(s.tokenTimes.get(i) - s.tokenTimes.get(i - 1));
          }
        }
        out.printf(
            Locale.ROOT,
            "| %d | %.1f | %.2fx | %.1f | %.1f | %.1f | %.1f |%n",
            n,
            rate,
            rate / single,
            pct(ttft, 50),
            pct(ttft, 99),
            pct(itl, 50),
            pct(itl, 99));
        out.flush();
      }
      // A prompt that arrives while three streams decode, against the same prompt alone.
      List<Long> solo = new ArrayList<>();
      List<Long> busy = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        solo.add(stream(1, 500 + i).get().ttft());
      }
      try (ExecutorService background = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int i = 0; i < 3; i++) {
          List<CompletableFuture<Stream>> others = new ArrayList<>();
          java.util.concurrent.CountDownLatch decoding = new java.util.concurrent.CountDownLatch(3);
          for (int k = 0; k < 3; k++) {
            int seed = 700 + 10 * i + k;
            others.add(
                CompletableFuture.supplyAsync(
                    () -> stream(tokens, seed, decoding).join(), background));
          }
          decoding.await(); // all three have read their prompts and are decoding
          busy.add(stream(1, 500 + i).get().ttft());
          for (var other : others) {
            other.get();
          }
        }
      }
      out.printf(
          Locale.ROOT,
          "time to first token of a %d-token prompt: alone p50 %.1f ms; with 3 streams decoding"
              + " p50 %.1f ms (%.2fx)%n",
          prompt,
          pct(solo, 50),
          pct(busy, 50),
          pct(busy, 50) / pct(solo, 50));
      out.flush();
    } finally {
      serverInstance.close();
    }
    return 0;
  }

  private KilnServer serverInstance;

  private void server(KilnServer.Config config, java.util.function.Supplier<KilnModel> loader)
      throws Exception {
    serverInstance = KilnServer.start(config, loader);
    port = serverInstance.port();
    vocab = serverInstance.model().spec().vocabSize();
  }

  private List<Stream> concurrent(int n, int seed, int maxTokens) throws Exception {
    List<CompletableFuture<Stream>> futures = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      futures.add(stream(maxTokens, seed * 31 + i));
    }
    List<Stream> streams = new ArrayList<>();
    for (var future : futures) {
      streams.add(future.get());
    }
    return streams;
  }

  /** Sends one streaming completion of a random prompt; completes when its stream ends. */
  private CompletableFuture<Stream> stream(int maxTokens, long seed) {
    return stream(maxTokens, seed, null);
  }

  /** {@link #stream(int, long)}, counting {@code firstToken} down when the first token arrives. */
  private CompletableFuture<Stream> stream(
      int maxTokens, long seed, java.util.concurrent.CountDownLatch firstToken) {
    SplittableRandom random = new SplittableRandom(seed);
    JsonArray ids = new JsonArray();
    for (int i = 0; i < prompt; i++) {
      ids.add(random.nextInt(vocab));
    }
    JsonObject body = new JsonObject();
    body.add("prompt", ids);
    body.addProperty("max_tokens", maxTokens);
    body.addProperty("temperature", 0);
    body.addProperty("stream", true);
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
            .build();
    long sent = System.nanoTime();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofLines())
        .thenApply(
            response -> {
              List<Long> times = new ArrayList<>();
              response
                  .body()
                  .forEach(
                      line -> {
                        if (line.startsWith("data: ") && line.contains("\"finish_reason\":null")) {
                          times.add(System.nanoTime());
                          if (times.size() == 1 && firstToken != null) {
                            firstToken.countDown();
                          }
                        }
                      });
              if (times.isEmpty()) {
                throw new IllegalStateException(
                    "no tokens streamed (HTTP " + response.statusCode() + ")");
              }
              return new Stream(sent, times);
            });
  }

  private static double pct(List<Long> nanos, double p) {
    long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    int at = (int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1));
    return sorted[at] / 1e6;
  }
}
