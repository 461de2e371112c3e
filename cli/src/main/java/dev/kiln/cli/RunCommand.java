package dev.kiln.cli;

import dev.kiln.Decoder;
import dev.kiln.InvalidInputException;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.Generator;
import dev.kiln.generate.SamplerChain;
import dev.kiln.model.ModelTokenizer;
import dev.kiln.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kiln run}: generation from a model file, streamed, through a decoder specialized to it.
 * This class holds the options and checks them; {@link OneShotRun} generates from a prompt, {@link
 * ChatLoop} holds a conversation, and {@link RunReport} reports each generation.
 */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description =
        "Generates from a model file through a decoder specialized to it, streaming the text.")
final class RunCommand implements Callable<Integer> {
  @Mixin ModelFileOptions files = new ModelFileOptions();

  @Option(
      names = {"-p", "--prompt"},
      paramLabel = "TEXT",
      description = "The prompt (with --chat: the user's message).")
  String prompt;

  @Option(
      names = "--prompt-file",
      paramLabel = "FILE",
      description =
          "The prompt as the text of a file (UTF-8)."
              + " Arguments are never read from files otherwise: -p @notes.txt is that text.")
  Path promptFile;

  @Option(
      names = "--prompt-ids",
      split = ",",
      paramLabel = "ID",
      description = "The prompt as token ids (1,2,3); greedy unless --temperature is given.")
  int[] promptIds;

  @Option(
      names = "--chat",
      description =
          "Chat: with --prompt one turn, else an interactive conversation on standard"
              + " input that keeps the KV cache across turns.")
  boolean chat;

  @Option(names = "--system", paramLabel = "TEXT", description = "A system message for --chat.")
  String system;

  @Option(
      names = {"-n", "--max-tokens"},
      defaultValue = "256",
      description = "Tokens to generate (default ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(
      names = "--temperature",
      description = "Sampling temperature; 0 is greedy (default 0.8, or 0 with --prompt-ids).")
  Double temperature;

  @Option(
      names = "--top-k",
      defaultValue = "40",
      description = "Keep the k most likely tokens; 0 is off (default ${DEFAULT-VALUE}).")
  int topK;

  @Option(
      names = "--top-p",
      defaultValue = "0.95",
      description = "Nucleus sampling mass (default ${DEFAULT-VALUE}).")
  double topP;

  @Option(
      names = "--min-p",
      defaultValue = "0.05",
      description =
          "Drop tokens below min-p x the best one's probability" + " (default ${DEFAULT-VALUE}).")
  double minP;

  @Option(
      names = "--repeat-penalty",
      defaultValue = "1.1",
      description =
          "Repetition penalty over the last 64 tokens" + " (default ${DEFAULT-VALUE}; 1 is off).")
  double repeatPenalty;

  @Option(names = "--seed", description = "Sampling seed (default: random).")
  Long seed;

  @Option(names = "--stop", paramLabel = "TEXT", description = "A stop string (repeatable).")
  List<String> stops = new ArrayList<>();

  @Option(
      names = "--backend",
      defaultValue = "java",
      description = "java (specialized), interpreter, or tornado.")
  String backend;

  @Option(
      names = "--context",
      description = "Positions the decoder holds (default: the model's, up to 4096).")
  Integer context;

  @Option(
      names = "--json",
      description = "Print ids, top logits of the last position and timings as JSON.")
  boolean json;

  @Option(
      names = "--top-logits",
      defaultValue = "5",
      description = "Top logits of the last position in --json.")
  int topLogits;

  @Option(
      names = "--logits-out",
      paramLabel = "FILE",
      description =
          "Write the raw logits as little-endian float32:"
              + " a row of vocab floats per prompt position, then one per decode step (the row each next token is sampled"
              + " from); with --prompt or --prompt-ids.")
  Path logitsOut;

  /** With --logits-out: the file the run's logits go to. */
  private LogitsFile logitsFile;

  @Option(
      names = "--profile",
      description =
          "Time each kernel of the specialized decoder and print each one's calls and"
              + " milliseconds after the run (with --json: kernel_profile).")
  boolean profile;

  @Mixin Kiln.Common common = new Kiln.Common();

  @Mixin Kiln.SpecOverrides overrides = new Kiln.SpecOverrides();

  @Spec CommandSpec command;

  @Override
  public Integer call() throws IOException {
    common.apply();
    PrintWriter out = command.commandLine().getOut();
    PrintWriter err = command.commandLine().getErr();
    int prompts =
        (prompt != null ? 1 : 0) + (promptFile != null ? 1 : 0) + (promptIds != null ? 1 : 0);
    if (prompts > 1 || (prompts == 0 && !chat)) {
      throw new InvalidInputException(
          "give one prompt: --prompt TEXT, --prompt-file FILE or --prompt-ids 1,2,3 (or"
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
      throw new InvalidInputException(
          "--logits-out works with --prompt or --prompt-ids, not --chat");
    }
    SamplerChain sampler = sampler();
    // Opened before the model loads, so a path that cannot be written fails before any work;
    // deleted
    // unless the run completes.
    try (LogitsFile logits = logitsOut == null ? null : LogitsFile.create(logitsOut)) {
      logitsFile = logits;
      return run(sampler, out, err);
    }
  }

  /**
   * The prompt file's text: a regular file of UTF-8, at most {@value #MAX_PROMPT_FILE_BYTES} bytes.
   */
  static String readPrompt(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new InvalidInputException(
          "--prompt-file "
              + file
              + ": "
              + (Files.exists(file) ? "not a regular file" : "no such file"));
    }
    try {
      if (Files.size(file) > MAX_PROMPT_FILE_BYTES) {
        throw new InvalidInputException(
            "--prompt-file " + file + ": larger than " + MAX_PROMPT_FILE_BYTES + " bytes");
      }
      return StandardCharsets.UTF_8
          .newDecoder()
          .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file)))
          .toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new InvalidInputException("--prompt-file " + file + ": not UTF-8 text");
    } catch (IOException e) {
      throw new InvalidInputException(
          "--prompt-file " + file + ": cannot be read: " + e.getMessage());
    }
  }

  static final long MAX_PROMPT_FILE_BYTES = 64L << 20;

  private int run(SamplerChain sampler, PrintWriter out, PrintWriter err) throws IOException {
    // Token ids are checked against the file's vocabulary and context before the decoder is built.
    LoadedModel loaded =
        LoadedModel.open(
            files.model,
            overrides,
            context,
            1,
            backend,
            common.cacheRoot(),
            json ? s -> {} : err::println,
            err::println,
            promptIds == null ? spec -> {} : spec -> checkPrompt(promptIds, spec));
    backend = loaded.backend(); // what runs: java where the TornadoVM backend was asked for but is
    // unavailable
    RunReport report = new RunReport(out, err, json, files.model, backend, logitsFile);
    if (profile) {
      report.startProfile(loaded);
    }
    if (promptIds != null) {
      return new OneShotRun(this, report, out).ids(loaded, sampler);
    }
    Tokenizer tokenizer =
        ModelTokenizer.of(
            files.model, loaded.checkpoint(), files.tokenizerPath, loaded.spec().vocabSize());
    Generator generator = new Generator(decoder(loaded), sampler);
    if (chat) {
      return new ChatLoop(this, tokenizer, generator, report, out, err).chat();
    }
    return new OneShotRun(this, report, out).text(loaded, tokenizer, generator);
  }

  /** The loaded decoder, or with --logits-out one that records its logits. */
  Decoder decoder(LoadedModel loaded) {
    return logitsFile == null ? loaded.decoder() : logitsFile.recording(loaded.decoder());
  }

  /** Whether the run writes its logits (--logits-out). */
  boolean logsLogits() {
    return logitsFile != null;
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
      throw new InvalidInputException(
          "the prompt has "
              + ids.length
              + " tokens, more than the context of "
              + spec.maxPositionEmbeddings()
              + " positions (--context)");
    }
    for (int id : ids) {
      if (id < 0 || id >= spec.vocabSize()) {
        throw new InvalidInputException(
            "prompt token id " + id + " is outside the vocabulary [0, " + spec.vocabSize() + ")");
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
      throw new InvalidInputException(
          "--repeat-penalty must be a finite number > 0 (1 turns it off), was " + repeatPenalty);
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

  private static void checkRange(
      String option, double value, double low, double high, String rule) {
    if (!(value >= low && value <= high)) {
      throw new InvalidInputException(option + " must be " + rule + ", was " + value);
    }
  }

  GenerationOptions options(Tokenizer tokenizer) {
    return options(tokenizer, OptionalInt.empty());
  }

  /** The generation options; {@code endOfTurn}, a chat format's end-of-turn token, stops it too. */
  GenerationOptions options(Tokenizer tokenizer, OptionalInt endOfTurn) {
    List<Integer> stopIds = new ArrayList<>();
    tokenizer.eos().ifPresent(stopIds::add);
    tokenizer.eot().ifPresent(stopIds::add);
    endOfTurn.ifPresent(stopIds::add);
    return GenerationOptions.builder()
        .maxTokens(maxTokens)
        .stopTokens(stopIds.stream().mapToInt(Integer::intValue).toArray())
        .stopStrings(stops)
        .tokenText(id -> tokenizer.tokenBytes(id))
        .build();
  }
}
