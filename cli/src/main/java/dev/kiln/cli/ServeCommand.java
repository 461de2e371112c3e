package dev.kiln.cli;

import dev.kiln.model.KilnModel;
import dev.kiln.server.KilnServer;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kiln serve}: the OpenAI-compatible server ({@link KilnServer}) over a model file. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description =
        "Serves a model file over an OpenAI-compatible HTTP API, batching requests continuously.")
final class ServeCommand implements Callable<Integer> {
  @Mixin ModelFileOptions files = new ModelFileOptions();

  @Option(
      names = "--host",
      defaultValue = "127.0.0.1",
      description = "Address to bind (default ${DEFAULT-VALUE}).")
  String host;

  @Option(
      names = "--port",
      defaultValue = "8080",
      description = "Port (default ${DEFAULT-VALUE}; 0 picks a free one).")
  int port;

  @Option(
      names = "--parallel",
      defaultValue = "4",
      description =
          "Requests generated together, the decoder's batch" + " slots (default ${DEFAULT-VALUE}).")
  int parallel;

  @Option(
      names = "--context",
      description = "Positions of each slot's KV cache (default: the model's, up to 4096).")
  Integer context;

  @Option(
      names = "--api-key",
      paramLabel = "KEY",
      description =
          "Require Authorization: Bearer KEY on /v1 requests"
              + " (default: $KILN_API_KEY, else none).")
  String apiKey;

  @Option(
      names = "--queue",
      defaultValue = "64",
      description =
          "Requests that may wait for a slot; more get 429" + " (default ${DEFAULT-VALUE}).")
  int queue;

  @Option(
      names = "--max-body",
      defaultValue = "1048576",
      description = "Largest request body in bytes" + " (default ${DEFAULT-VALUE}).")
  int maxBody;

  @Option(
      names = "--prefill-chunk",
      defaultValue = "256",
      description = "Prompt tokens a slot reads per step" + " (default ${DEFAULT-VALUE}).")
  int prefillChunk;

  @Option(
      names = "--shutdown-grace",
      defaultValue = "10",
      description =
          "Seconds running requests may go on after" + " SIGTERM (default ${DEFAULT-VALUE}).")
  double grace;

  @Option(
      names = "--model-name",
      description = "The model's id in the API (default: the file's name).")
  String modelName;

  @Mixin Kiln.Common common = new Kiln.Common();

  @Spec CommandSpec command;

  @Override
  public Integer call() throws Exception {
    common.apply();
    PrintWriter err = command.commandLine().getErr();
    if (apiKey == null) {
      String env = System.getenv("KILN_API_KEY");
      apiKey = env == null || env.isBlank() ? null : env;
    }
    if (!(grace >= 0 && grace <= KilnServer.Config.MAX_GRACE_MILLIS / 1000)) { // NaN too
      throw new dev.kiln.InvalidInputException(
          "--shutdown-grace must be between 0 and "
              + KilnServer.Config.MAX_GRACE_MILLIS / 1000
              + " seconds, was "
              + grace);
    }
    KilnServer.Config config =
        KilnServer.config()
            .host(host)
            .port(port)
            .parallel(parallel)
            .context(context)
            .apiKey(apiKey)
            .queueCapacity(queue)
            .maxBodyBytes(maxBody)
            .prefillChunk(prefillChunk)
            .shutdownGraceMillis((long) (grace * 1000))
            .modelName(modelName)
            .log(
                line -> {
                  err.println(line);
                  err.flush();
                });
    KilnModel.Options options =
        config
            .modelOptions()
            .cacheRoot(common.cacheRoot())
            .tokenizer(files.tokenizerPath)
            .progress(
                line -> {
                  err.println(line);
                  err.flush();
                });
    if (files.chatTemplate != null) {
      options.chatTemplate(ModelFileOptions.template(files.chatTemplate));
    }
    CountDownLatch stopped = new CountDownLatch(1);
    KilnServer server = KilnServer.start(config, () -> KilnModel.open(files.model, options));
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  err.println("kiln serve: shutting down (finishing running requests)");
                  err.flush();
                  server.close();
                  stopped.countDown();
                },
                "kiln-shutdown"));
    err.printf(
        "kiln serve: %s on http://%s:%d (%d slots, context %d)%s%n",
        files.model.getFileName(),
        host,
        server.port(),
        parallel,
        server.model().spec().maxPositionEmbeddings(),
        apiKey != null ? ", API key required" : "");
    err.flush();
    stopped.await();
    return 0;
  }
}
