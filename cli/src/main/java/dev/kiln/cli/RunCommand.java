package dev.kiln.cli;

import dev.kiln.model.ModelTokenizer;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.Decoder;
import dev.kiln.InvalidInputException;
import dev.kiln.KilnException;
import dev.kiln.generate.ChatTemplate;
import dev.kiln.generate.GenerationListener;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.GenerationResult;
import dev.kiln.generate.Generator;
import dev.kiln.generate.Message;
import dev.kiln.bench.BenchRunner;
import dev.kiln.generate.SamplerChain;
import dev.kiln.kernel.GeneratedDecoder;
import dev.kiln.kernel.KernelProfile;
import dev.kiln.tokenizer.TokenType;
import dev.kiln.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kiln run}: generation from a model file, streamed, through a decoder specialized to it. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Generates from a model file through a decoder specialized to it, streaming the text.")
final class RunCommand implements Callable<Integer> {
  @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "The model file.")
  Path model;

  @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "The prompt (with --chat: the user's message).")
  String prompt;

  @Option(names = "--prompt-file", paramLabel = "FILE", description = "The prompt as the text of a file (UTF-8)."
      + " Arguments are never read from files otherwise: -p @notes.txt is that text.")
  Path promptFile;

  @Option(names = "--prompt-ids", split = ",", paramLabel = "ID",
      description = "The prompt as token ids (1,2,3); greedy unless --temperature is given.")
  int[] promptIds;

  @Option(names = "--chat", description = "Chat: with --prompt one turn, else an interactive conversation on standard"
      + " input that keeps the KV cache across turns.")
  boolean chat;

  @Option(names = "--system", paramLabel = "TEXT", description = "A system message for --chat.")
  String system;

  @Option(names = "--chat-template", paramLabel = "NAME", description = "llama2, llama3, chatml, qwen3, gemma or mistral"
      + " (default: chosen from the model's tokenizer).")
  String chatTemplate;

  @Option(names = "--tokenizer", paramLabel = "PATH", description = "Tokenizer, if the model file has none beside it.")
  Path tokenizerPath;

  @Option(names = {"-n", "--max-tokens"}, defaultValue = "256", description = "Tokens to generate (default ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--temperature", description = "Sampling temperature; 0 is greedy (default 0.8, or 0 with --prompt-ids).")
  Double temperature;

  @Option(names = "--top-k", defaultValue = "40", description = "Keep the k most likely tokens; 0 is off (default ${DEFAULT-VALUE}).")
  int topK;

  @Option(names = "--top-p", defaultValue = "0.95", description = "Nucleus sampling mass (default ${DEFAULT-VALUE}).")
  double topP;

  @Option(names = "--min-p", defaultValue = "0.05", description = "Drop tokens below min-p x the best one's probability"
      + " (default ${DEFAULT-VALUE}).")
  double minP;

  @Option(names = "--repeat-penalty", defaultValue = "1.1", description = "Repetition penalty over the last 64 tokens"
      + " (default ${DEFAULT-VALUE}; 1 is off).")
  double repeatPenalty;

  @Option(names = "--seed", description = "Sampling seed (default: random).")
  Long seed;

  @Option(names = "--stop", paramLabel = "TEXT", description = "A stop string (repeatable).")
  List<String> stops = new ArrayList<>();

  @Option(names = "--backend", defaultValue = "java", description = "java (specialized), interpreter, or tornado.")
  String backend;

  @Option(names = "--context", description = "Positions the decoder holds (default: the model's, up to 4096).")
  Integer context;

  @Option(names = "--json", description = "Print ids, top logits of the last position and timings as JSON.")
  boolean json;

  @Option(names = "--top-logits", defaultValue = "5", description = "Top logits of the last position in --json.")
  int topLogits;

  @Option(names = "--logits-out", paramLabel = "FILE", description = "Write the raw logits as little-endian float32:"
      + " a row of vocab floats per prompt position, then one per decode step (the row each next token is sampled"
      + " from); with --prompt or --prompt-ids.")
  Path logitsOut;

  /** With --logits-out: the file the run's logits go to. */
  private LogitsFile logitsFile;

  @Option(names = "--profile", description = "Time each kernel of the specialized decoder and print each one's calls and"
      + " milliseconds after the run (with --json: kernel_profile).")
  boolean profile;

  /** The decoder's kernel profile with --profile (null otherwise, or for a backend that takes no laps). */
  private KernelProfile kernelProfile;

  /** With --profile: the bytes of each kernel's weight matrices, read once per call. */
  private Map<String, Long> kernelBytes = Map.of();

  @Mixin Kiln.Common common = new Kiln.Common();

  @Mixin Kiln.SpecOverrides overrides = new Kiln.SpecOverrides();

  @Spec CommandSpec command;

  @Override
  public Integer call() throws IOException {
    common.apply();
    PrintWriter out = command.commandLine().getOut();
    PrintWriter err = command.commandLine().getErr();
    int prompts = (prompt != null ? 1 : 0) + (promptFile != null ? 1 : 0) + (promptIds != null ? 1 : 0);
    if (prompts > 1 || (prompts == 0 && !chat)) {
      throw new InvalidInputException("give one prompt: --prompt TEXT, --prompt-file FILE or --prompt-ids 1,2,3 (or"
          + " --chat)");
    }
    if (promptFile != null) {
      prompt = readPrompt(promptFile);
    }
    if (maxTokens < 0) {
      throw new InvalidInputException("--max-tokens must not be negative, was " + maxTokens);
    }
    if (topLogits < 0) {
      throw new InvalidInputException("--top-logits must not be negative, was " + topLogits);
    }
    if (logitsOut != null && chat) {
      throw new InvalidInputException("--logits-out works with --prompt or --prompt-ids, not --chat");
    }
    SamplerChain sampler = sampler();
    // Opened before the model loads, so a path that cannot be written fails before any work; deleted
    // unless the run completes.
    try (LogitsFile logits = logitsOut == null ? null : LogitsFile.create(logitsOut)) {
      logitsFile = logits;
      return run(sampler, out, err);
    }
  }

  /** The prompt file's text: a regular file of UTF-8, at most {@value #MAX_PROMPT_FILE_BYTES} bytes. */
  static String readPrompt(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new InvalidInputException("--prompt-file " + file + ": " + (Files.exists(file) ? "not a regular file"
          : "no such file"));
    }
    try {
      if (Files.size(file) > MAX_PROMPT_FILE_BYTES) {
        throw new InvalidInputException("--prompt-file " + file + ": larger than " + MAX_PROMPT_FILE_BYTES + " bytes");
      }
      return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new InvalidInputException("--prompt-file " + file + ": not UTF-8 text");
    } catch (IOException e) {
      throw new InvalidInputException("--prompt-file " + file + ": cannot be read: " + e.getMessage());
    }
  }

  static final long MAX_PROMPT_FILE_BYTES = 64L << 20;

  private int run(SamplerChain sampler, PrintWriter out, PrintWriter err) throws IOException {
    // Token ids are checked against the file's vocabulary and context before the decoder is built.
    LoadedModel loaded = LoadedModel.open(model, overrides, context, 1, backend, common.cacheRoot(),
        json ? s -> {} : err::println, err::println, promptIds == null ? spec -> {} : spec -> checkPrompt(promptIds, spec));
    backend = loaded.backend(); // what runs: java where the TornadoVM backend was asked for but is unavailable
    if (profile) {
      if (loaded.decoder() instanceof GeneratedDecoder generated && backend.equals("java")) {
        kernelProfile = generated.kernelProfile();
        kernelProfile.reset();
        kernelProfile.enable(true);
        kernelBytes = BenchRunner.kernelBytes(generated.kernelMatrices(), loaded.weights());
      } else {
        err.println("--profile: the " + backend + " backend does not time its kernels; running without a profile");
      }
    }
    if (promptIds != null) {
      return runIds(loaded, sampler, out, err);
    }
    Tokenizer tokenizer = ModelTokenizer.of(model, loaded.checkpoint(), tokenizerPath, loaded.spec().vocabSize());
    Generator generator = new Generator(decoder(loaded), sampler);
    if (chat) {
      return chat(tokenizer, generator, out, err);
    }
    int[] ids = tokenizer.encode(prompt, tokenizer.addBosByDefault(), false);
    checkPrompt(ids, loaded.spec()); // before the prompt is echoed
    if (!json) {
      out.print(prompt);
      Kiln.flush(out);
    }
    GenerationResult result = generator.generate(ids, options(tokenizer), json ? GenerationListener.NONE : text(out));
    if (logitsFile != null && maxTokens == 0) {
      generator.decoder().prefill(new int[][] {ids}); // -n 0 feeds nothing; the prompt rows are still asked for
    }
    commitLogits();
    report(result, ids, out, err);
    return 0;
  }

  /** The loaded decoder, or with --logits-out one that records its logits. */
  private Decoder decoder(LoadedModel loaded) {
    return logitsFile == null ? loaded.decoder() : logitsFile.recording(loaded.decoder());
  }

  /** With --logits-out: moves the complete file into place. */
  private void commitLogits() {
    if (logitsFile != null) {
      logitsFile.commit();
    }
  }

  /** With --logits-out: the file, its rows and their length, as JSON. */
  private void addLogits(JsonObject object) {
    if (logitsFile != null) {
      JsonObject logits = new JsonObject();
      logits.addProperty("path", logitsFile.target().toString());
      logits.addProperty("rows", logitsFile.rows());
      logits.addProperty("vocab", logitsFile.vocab());
      object.add("logits_out", logits);
    }
  }

  /** With --logits-out: what was written, on standard error. */
  private void printLogits(PrintWriter err) {
    if (logitsFile != null) {
      err.printf(Locale.ROOT, "[logits: %d rows of %d float32 written to %s]%n", logitsFile.rows(), logitsFile.vocab(),
          logitsFile.target());
    }
  }

  /**
   * The whole prompt against the model, before anything is printed or run: not empty, no longer
   * than the context, every id in the vocabulary.
   */
  static void checkPrompt(int[] ids, dev.kiln.spec.ResolvedSpec spec) {
    if (ids.length == 0) {
      throw new InvalidInputException("the prompt is empty (no tokens)");
    }
    if (ids.length > spec.maxPositionEmbeddings()) {
      throw new InvalidInputException("the prompt has " + ids.length + " tokens, more than the context of "
          + spec.maxPositionEmbeddings() + " positions (--context)");
    }
    for (int id : ids) {
      if (id < 0 || id >= spec.vocabSize()) {
        throw new InvalidInputException("prompt token id " + id + " is outside the vocabulary [0, " + spec.vocabSize()
            + ")");
      }
    }
  }

  /** The sampler; every sampling option is checked, whether or not the temperature uses it. */
  private SamplerChain sampler() {
    double t = temperature != null ? temperature : promptIds != null ? 0 : 0.8;
    checkRange("--temperature", t, 0, Double.MAX_VALUE, "a finite number >= 0 (0 is greedy)");
    if (topK < 0) {
      throw new InvalidInputException("--top-k must be >= 0 (0 turns it off), was " + topK);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new InvalidInputException("--top-p must be in (0, 1] (1 turns it off), was " + topP);
    }
    checkRange("--min-p", minP, 0, 1, "in [0, 1] (0 turns it off)");
    if (!(Double.isFinite(repeatPenalty) && repeatPenalty > 0)) {
      throw new InvalidInputException("--repeat-penalty must be a finite number > 0 (1 turns it off), was "
          + repeatPenalty);
    }
    if (t == 0) {
      return SamplerChain.greedy();
    }
    var builder = SamplerChain.builder();
    if (repeatPenalty != 1.0) {
      builder.repetitionPenalty(repeatPenalty, 64);
    }
    builder.temperature(t);
    if (topK > 0) {
      builder.topK(topK);
    }
    builder.topP(topP).minP(minP);
    return builder.seed(seed != null ? seed : System.nanoTime()).build();
  }

  private static void checkRange(String option, double value, double low, double high, String rule) {
    if (!(value >= low && value <= high)) {
      throw new InvalidInputException(option + " must be " + rule + ", was " + value);
    }
  }

  private GenerationOptions options(Tokenizer tokenizer) {
    return options(tokenizer, OptionalInt.empty());
  }

  /** The generation options; {@code endOfTurn}, a chat format's end-of-turn token, stops it too. */
  private GenerationOptions options(Tokenizer tokenizer, OptionalInt endOfTurn) {
    List<Integer> stopIds = new ArrayList<>();
    tokenizer.eos().ifPresent(stopIds::add);
    tokenizer.eot().ifPresent(stopIds::add);
    endOfTurn.ifPresent(stopIds::add);
    return GenerationOptions.builder().maxTokens(maxTokens)
        .stopTokens(stopIds.stream().mapToInt(Integer::intValue).toArray())
        .stopStrings(stops)
        .tokenText(id -> tokenizer.tokenBytes(id))
        .build();
  }

  private static GenerationListener text(PrintWriter out) {
    return new GenerationListener() {
      @Override
      public void onText(String piece) {
        out.print(piece);
        Kiln.flush(out); // a closed pipe or full disk stops the generation
      }
    };
  }

  private int chat(Tokenizer tokenizer, Generator generator, PrintWriter out, PrintWriter err) throws IOException {
    // Control and user-defined tokens: Qwen 3's <think> is one of the latter.
    Set<String> specials = new HashSet<>();
    for (int id = 0; id < tokenizer.vocabSize(); id++) {
      if (tokenizer.isSpecial(id) || tokenizer.tokenType(id) == TokenType.USER_DEFINED) {
        specials.add(tokenizer.tokenText(id));
      }
    }
    ChatTemplate template = chatTemplate != null ? template(chatTemplate)
        : ChatTemplate.detect(tokenizer.chatTemplate().orElse(null), specials);
    checkSpecialTokens(template, tokenizer);
    OptionalInt endOfTurn = tokenizer.id(template.endOfTurn());
    List<Message> messages = new ArrayList<>();
    if (system != null) {
      messages.add(Message.system(system));
    }
    List<Integer> fed = new ArrayList<>(); // tokens in the KV cache, in order
    BufferedReader input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    boolean interactive = prompt == null;
    if (interactive) {
      err.println("chat (" + template + " template); an empty line or end of input ends it");
    }
    while (true) {
      String user;
      if (interactive) {
        out.print("> ");
        Kiln.flush(out);
        user = input.readLine();
        if (user == null || user.isBlank()) {
          return 0;
        }
      } else {
        user = prompt;
      }
      messages.add(Message.user(user));
      int[] ids = template.encode(tokenizer, messages, true); // contents stay text: no special tokens injected
      // Keep what the cache holds up to where this turn's tokens differ from it (re-tokenizing the
      // answer may differ from the sampled tokens), and feed only the rest.
      int cached = Math.min(commonPrefix(fed, ids), ids.length - 1);
      if (cached > 0 && cached < generator.decoder().length(0)) {
        generator.decoder().truncate(0, cached);
      }
      StringBuilder answer = new StringBuilder();
      GenerationListener listener = new GenerationListener() {
        @Override
        public void onText(String piece) {
          answer.append(piece);
          if (!json) {
            out.print(piece);
            Kiln.flush(out);
          }
        }
      };
      boolean reuse = cached > 0 && cached == generator.decoder().length(0) && cached < ids.length;
      GenerationResult result = reuse
          ? generator.generateContinuing(ids, cached, options(tokenizer, endOfTurn), listener)
          : generator.generate(ids, options(tokenizer, endOfTurn), listener);
      if (!json) {
        // The turn is the number of user messages so far (a --system message is not one).
        long turn = messages.stream().filter(message -> message.role().equals(Message.USER)).count();
        err.printf(Locale.ROOT, "%n[turn %d: %d prompt tokens, %d of them already in the KV cache]", turn, ids.length,
            reuse ? cached : 0);
      }
      // The cache now holds the prompt and every generated token but the last.
      fed.clear();
      int[] generated = result.tokens();
      for (int i = 0; i < generator.decoder().length(0); i++) {
        fed.add(i < ids.length ? ids[i] : generated[i - ids.length]);
      }
      if (!json) {
        out.println();
      }
      report(result, ids, out, err);
      messages.add(Message.assistant(answer.toString()));
      if (!interactive) {
        return 0;
      }
      if (generator.decoder().length(0) >= generator.decoder().spec().maxPositionEmbeddings()) {
        err.println("the context is full; the conversation ends here (--context for more)");
        return 0;
      }
    }
  }

  /**
   * A format whose special tokens are not tokens of the model's vocabulary would be encoded as plain
   * text (with a small vocabulary, as unknown tokens) and could not stop at the end of a turn: an
   * error that names them, rather than a prompt the model cannot read.
   */
  private void checkSpecialTokens(ChatTemplate template, Tokenizer tokenizer) {
    List<String> missing = template.specialTokens().stream().filter(token -> tokenizer.id(token).isEmpty()).toList();
    if (!missing.isEmpty()) {
      throw new InvalidInputException((chatTemplate != null ? "--chat-template " + chatTemplate : "the chat format "
          + template.name().toLowerCase(Locale.ROOT)) + ": this model's vocabulary has no " + String.join(", ", missing)
          + " token" + (missing.size() == 1 ? "" : "s") + " (the format's special tokens would be read as plain text);"
          + " use a format the model was trained with");
    }
  }

  /** The chat format {@code --chat-template} names. */
  static ChatTemplate template(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "llama2", "llama-2" -> ChatTemplate.LLAMA_2;
      case "llama3", "llama-3" -> ChatTemplate.LLAMA_3;
      case "chatml" -> ChatTemplate.CHATML;
      case "qwen3", "qwen-3" -> ChatTemplate.QWEN_3;
      case "gemma" -> ChatTemplate.GEMMA;
      case "mistral" -> ChatTemplate.MISTRAL;
      default -> throw new InvalidInputException("--chat-template " + name
          + ": use llama2, llama3, chatml, qwen3, gemma or mistral");
    };
  }

  private static int commonPrefix(List<Integer> fed, int[] ids) {
    int n = 0;
    while (n < fed.size() && n < ids.length && fed.get(n) == ids[n]) {
      n++;
    }
    return n;
  }

  private void report(GenerationResult result, int[] promptTokens, PrintWriter out, PrintWriter err) {
    if (json) {
      JsonObject object = new JsonObject();
      object.addProperty("model", model.toString());
      object.addProperty("backend", backend);
      object.add("prompt_ids", ids(promptTokens));
      object.add("generated_ids", ids(result.tokens()));
      if (result.text() != null) {
        object.addProperty("text", result.text());
      }
      object.addProperty("stop", result.stopReason().name().toLowerCase(Locale.ROOT));
      object.add("timings", timings(result.promptTokensPerSecond(), result.decodeTokensPerSecond()));
      addLogits(object);
      addProfile(object);
      out.println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(object));
      out.flush();
    } else {
      err.printf(Locale.ROOT, "%n[prompt %d tokens, %.1f tokens/s; generated %d tokens, %.1f tokens/s; stop: %s]%n",
          promptTokens.length, result.promptTokensPerSecond(), result.generatedTokens(), result.decodeTokensPerSecond(),
          result.stopReason().name().toLowerCase(Locale.ROOT).replace('_', ' '));
      printLogits(err);
      printProfile(err);
      err.flush();
    }
  }

  /** With --profile: each kernel's calls and milliseconds since the last report, as JSON; then starts over. */
  private void addProfile(JsonObject object) {
    if (kernelProfile == null) {
      return;
    }
    JsonArray kernels = new JsonArray();
    for (KernelProfile.Entry entry : kernelProfile.entries()) {
      JsonObject kernel = new JsonObject();
      kernel.addProperty("kernel", entry.kernel());
      kernel.addProperty("calls", entry.calls());
      kernel.addProperty("milliseconds", entry.nanos() / 1e6);
      kernels.add(kernel);
    }
    object.add("kernel_profile", kernels);
    kernelProfile.reset();
  }

  /** With --profile: each kernel's calls and milliseconds since the last report, as a table; then starts over. */
  private void printProfile(PrintWriter err) {
    if (kernelProfile == null) {
      return;
    }
    err.println("[kernel profile, prompt and generation: calls, milliseconds in all, share, weight matrices read per"
        + " call over the time]");
    kernelProfile.table(1, kernelBytes).forEach(line -> err.println("  " + line));
    kernelProfile.reset();
  }

  /** Token ids in, ids out: the prompt is prefilled, then each step's pick is fed back. */
  private int runIds(LoadedModel loaded, SamplerChain sampler, PrintWriter out, PrintWriter err) {
    int contextLength = loaded.spec().maxPositionEmbeddings();
    checkPrompt(promptIds, loaded.spec());
    Decoder decoder = decoder(loaded);
    long start = System.nanoTime();
    float[] logits = decoder.prefill(new int[][] {promptIds})[0];
    long prefilled = System.nanoTime();
    int[] history = Arrays.copyOf(promptIds, promptIds.length + maxTokens);
    int generated = 0;
    String stop = "max_tokens";
    while (generated < maxTokens) {
      int next = sampler.next(logits, history, promptIds.length + generated);
      history[promptIds.length + generated++] = next;
      if (!json) {
        out.print(generated == 1 ? Integer.toString(next) : "," + next);
        Kiln.flush(out);
      }
      if (generated == maxTokens) {
        break;
      }
      if (decoder.length(0) >= contextLength) {
        stop = "context_full";
        break;
      }
      logits = decoder.step(new int[] {next})[0];
    }
    double prefillSeconds = (prefilled - start) / 1e9;
    double decodeSeconds = (System.nanoTime() - prefilled) / 1e9;
    int steps = Math.max(0, generated - 1);
    double promptRate = promptIds.length / prefillSeconds;
    double decodeRate = steps == 0 ? 0 : steps / decodeSeconds;
    commitLogits();
    if (json) {
      JsonObject result = new JsonObject();
      result.addProperty("model", model.toString());
      result.addProperty("backend", backend);
      result.add("prompt_ids", ids(promptIds));
      result.add("generated_ids", ids(Arrays.copyOfRange(history, promptIds.length, promptIds.length + generated)));
      result.addProperty("stop", stop);
      result.add("top_logits", top(logits, topLogits));
      result.add("timings", timings(promptRate, decodeRate));
      addLogits(result);
      addProfile(result);
      out.println(new GsonBuilder().setPrettyPrinting().create().toJson(result));
    } else {
      out.println();
      err.printf(Locale.ROOT, "[prompt %d tokens, %.1f tokens/s; generated %d tokens, %.1f tokens/s; stop: %s]%n",
          promptIds.length, promptRate, generated, decodeRate, stop.replace('_', ' '));
      printLogits(err);
      printProfile(err);
    }
    out.flush();
    return 0;
  }

  private static JsonObject timings(double promptRate, double decodeRate) {
    JsonObject timings = new JsonObject();
    timings.addProperty("prompt_tokens_per_second", promptRate);
    timings.addProperty("decode_tokens_per_second", decodeRate);
    return timings;
  }

  private static JsonArray ids(int[] values) {
    JsonArray array = new JsonArray();
    for (int value : values) {
      array.add(value);
    }
    return array;
  }

  /** The {@code k} largest logits, largest first (lowest id first on ties). */
  private static JsonArray top(float[] logits, int k) {
    Integer[] order = IntStream.range(0, logits.length).boxed().toArray(Integer[]::new);
    Arrays.sort(order, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
    JsonArray array = new JsonArray();
    for (int i = 0; i < Math.min(k, order.length); i++) {
      JsonObject entry = new JsonObject();
      entry.addProperty("id", order[i]);
      entry.addProperty("logit", logits[order[i]]);
      array.add(entry);
    }
    return array;
  }
}
