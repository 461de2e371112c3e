package dev.kiln.model;

import dev.kiln.Decoder;
import dev.kiln.KilnException;
import dev.kiln.generate.ChatTemplate;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.Generator;
import dev.kiln.generate.Message;
import dev.kiln.generate.SamplerChain;
import dev.kiln.interpreter.Interpreter;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.tokenizer.TokenType;
import dev.kiln.tokenizer.Tokenizer;
import dev.kiln.weights.Checkpoint;
import dev.kiln.weights.ModelFiles;
import dev.kiln.weights.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Any model file, opened in one call with a decoder specialized to it at run time (what {@code kiln
 * run} does): the spec is derived from the file, Kiln's processor generates and compiles the
 * decoder once (cached under {@link Specializer#defaultCacheRoot()}), the weights are
 * memory-mapped.
 *
 * <pre>{@code
 * KilnModel model = KilnModel.open(Path.of("model.gguf"));
 * Generator generator = model.generator(SamplerChain.greedy());
 * int[] prompt = model.encodeChat(List.of(Message.user("Hi")));
 * String answer = generator.generate(prompt, model.options(128).build()).text();
 * }</pre>
 *
 * <p>The decoder (and so a generator over it) is for one thread at a time.
 */
public final class KilnModel {
  /** Positions a decoder holds when not said: the file's context, up to this many. */
  public static final int DEFAULT_CONTEXT_LIMIT = 4096;

  private final Path file;
  private final Checkpoint checkpoint;
  private final ResolvedSpec spec;
  private final Weights weights;
  private final Decoder decoder;
  private final Path tokenizerPath;
  private Tokenizer tokenizer;
  private ChatTemplate chatTemplate;

  private KilnModel(
      Path file,
      Checkpoint checkpoint,
      ResolvedSpec spec,
      Weights weights,
      Decoder decoder,
      Path tokenizerPath,
      ChatTemplate chatTemplate) {
    this.file = file;
    this.checkpoint = checkpoint;
    this.spec = spec;
    this.weights = weights;
    this.decoder = decoder;
    this.tokenizerPath = tokenizerPath;
    this.chatTemplate = chatTemplate;
  }

  /** How to open a model; every setting has a default. */
  public static final class Options {
    Integer context;
    int batchSize = 1;
    String backend = "java";
    Path cacheRoot;
    Path tokenizer;
    ChatTemplate chatTemplate;
    Consumer<String> progress = s -> {};

    /**
     * Positions the KV cache holds (default: the file's context, up to {@value
     * #DEFAULT_CONTEXT_LIMIT}).
     */
    public Options context(int positions) {
      this.context = positions;
      return this;
    }

    /** Sequences decoded together: the specialized decoder's {@code maxBatchSize} (default 1). */
    public Options batchSize(int sequences) {
      if (sequences < 1) {
        throw new KilnException("the batch size must be at least 1, was " + sequences);
      }
      this.batchSize = sequences;
      return this;
    }

    /** {@code java} (specialized, the default) or {@code interpreter} (the reference). */
    public Options backend(String backend) {
      this.backend = Objects.requireNonNull(backend);
      return this;
    }

    /** Where specialized decoders are cached (default {@link Specializer#defaultCacheRoot()}). */
    public Options cacheRoot(Path cacheRoot) {
      this.cacheRoot = cacheRoot;
      return this;
    }

    /** The tokenizer, if the model file has none in or beside it. */
    public Options tokenizer(Path tokenizer) {
      this.tokenizer = tokenizer;
      return this;
    }

    /** The chat format (default: detected from the tokenizer). */
    public Options chatTemplate(ChatTemplate template) {
      this.chatTemplate = template;
      return this;
    }

    /** Progress messages (loading, specializing); default none. */
    public Options progress(Consumer<String> progress) {
      this.progress = Objects.requireNonNull(progress);
      return this;
    }
  }

  public static Options options() {
    return new Options();
  }

  /** Opens {@code file} with the defaults: a decoder for one sequence, specialized to the file. */
  public static KilnModel open(Path file) {
    return open(file, new Options());
  }

  /** Opens {@code file}: derives its spec, maps its weights and builds the decoder. */
  public static KilnModel open(Path file, Options options) {
    if (!Files.exists(file)) {
      throw new KilnException(file + ": no such file or folder");
    }
    if (!Files.isReadable(file)) {
      throw new KilnException(file + ": not readable");
    }
    Checkpoint checkpoint = ModelFiles.open(file);
    ResolvedSpec derived = ModelFiles.deriveSpec(checkpoint).spec();
    int fileContext = derived.maxPositionEmbeddings();
    int positions =
        options.context != null ? options.context : Math.min(fileContext, DEFAULT_CONTEXT_LIMIT);
    if (positions < 1) {
      throw new KilnException("the context must be positive, was " + positions);
    }
    if (positions > fileContext) {
      throw new KilnException(
          "a context of " + positions + " is longer than the model's (" + fileContext + ")");
    }
    ResolvedSpec spec =
        derived.toBuilder()
            .maxPositionEmbeddings(positions)
            .maxBatchSize(options.batchSize)
            .build();
    checkHeap(spec, Runtime.getRuntime());
    Weights weights = Weights.from(spec, checkpoint);
    Path cache = options.cacheRoot != null ? options.cacheRoot : Specializer.defaultCacheRoot();
    Decoder decoder =
        switch (options.backend) {
          case "java" -> new Specializer(cache, options.progress).specialize(spec).create(weights);
          case "interpreter" -> new Interpreter(weights);
          default ->
              throw new KilnException(
                  "unknown backend " + options.backend + "; use java or interpreter");
        };
    return new KilnModel(
        file, checkpoint, spec, weights, decoder, options.tokenizer, options.chatTemplate);
  }

  /**
   * Refuses, before anything is compiled or allocated, a spec whose KV cache (float32,
   * preallocated: {@code maxBatchSize x maxPositionEmbeddings} positions) cannot fit in the Java
   * heap still free, with a message that says how much it needs. An estimate: other allocations
   * come on top.
   */
  public static void checkHeap(ResolvedSpec spec, Runtime runtime) {
    long needed = spec.kvCacheBytes();
    long max = runtime.maxMemory();
    long free = max - (runtime.totalMemory() - runtime.freeMemory());
    if (needed > free) {
      double gib = 1L << 30;
      throw new KilnException(
          String.format(
              java.util.Locale.ROOT,
              "a KV cache for %,d positions x %d sequence%s needs"
                  + " %.2f GiB (2 x %d layers x %d kv_dim x 4 bytes a position), more than the %.2f GiB of Java heap free"
                  + " (maximum %.2f GiB): use a smaller context (--context)%s, or a larger heap (KILN_JAVA_OPTS=-Xmx%dg)",
              spec.maxPositionEmbeddings(),
              spec.maxBatchSize(),
              spec.maxBatchSize() == 1 ? "" : "s",
              needed / gib,
              spec.numHiddenLayers(),
              spec.kvDim(),
              free / gib,
              max / gib,
              spec.maxBatchSize() == 1 ? "" : ", fewer sequences (--parallel)",
              (long) Math.ceil((needed + (max - free)) / gib) + 1));
    }
  }

  /**
   * A model of {@code spec}'s shape with seeded random weights and no tokenizer (benchmarks:
   * prompts are token ids), its decoder specialized to {@code spec} as given.
   */
  public static KilnModel random(ResolvedSpec spec, long seed, Options options) {
    Weights weights = Weights.random(spec, seed);
    Path cache = options.cacheRoot != null ? options.cacheRoot : Specializer.defaultCacheRoot();
    Decoder decoder = new Specializer(cache, options.progress).specialize(spec).create(weights);
    KilnModel model = new KilnModel(Path.of("random"), null, spec, weights, decoder, null, null);
    model.tokenizerless = true;
    return model;
  }

  private boolean tokenizerless;

  /**
   * Whether the model has a tokenizer (all but {@link #random} models; a file without one fails at
   * {@link #tokenizer()}).
   */
  public boolean hasTokenizer() {
    return !tokenizerless;
  }

  public Path file() {
    return file;
  }

  public Checkpoint checkpoint() {
    return checkpoint;
  }

  /**
   * The spec the decoder was specialized to (the file's, with the chosen context and batch size).
   */
  public ResolvedSpec spec() {
    return spec;
  }

  public Weights weights() {
    return weights;
  }

  public Decoder decoder() {
    return decoder;
  }

  /** The model's tokenizer (loaded on first use); a {@link KilnException} when there is none. */
  public synchronized Tokenizer tokenizer() {
    if (tokenizerless) {
      throw new KilnException(
          "this model has random weights and no tokenizer; give prompts as token ids");
    }
    if (tokenizer == null) {
      tokenizer = ModelTokenizer.of(file, checkpoint, tokenizerPath, spec.vocabSize());
    }
    return tokenizer;
  }

  /**
   * The chat format: the one given, else detected from the tokenizer's template or special tokens.
   */
  public synchronized ChatTemplate chatTemplate() {
    if (chatTemplate == null) {
      Tokenizer tokenizer = tokenizer();
      Set<String> specials = new HashSet<>();
      for (int id = 0; id < tokenizer.vocabSize(); id++) {
        if (tokenizer.isSpecial(id) || tokenizer.tokenType(id) == TokenType.USER_DEFINED) {
          specials.add(tokenizer.tokenText(id));
        }
      }
      chatTemplate = ChatTemplate.detect(tokenizer.chatTemplate().orElse(null), specials);
    }
    return chatTemplate;
  }

  /**
   * The prompt of a chat: the template rendered with an open assistant turn, each message's content
   * as plain text (special-token texts in it stay text), the template's special tokens by id.
   */
  public int[] encodeChat(List<Message> messages) {
    return chatTemplate().encode(tokenizer(), messages, true);
  }

  /**
   * {@code text} as a plain prompt: the tokenizer's BOS if it adds one, no special-token parsing.
   */
  public int[] encode(String text) {
    Tokenizer tokenizer = tokenizer();
    return tokenizer.encode(text, tokenizer.addBosByDefault(), false);
  }

  /**
   * The ids that end a generation: EOS, the tokenizer's end of turn, and the chat format's if
   * {@code chat}.
   */
  public int[] stopTokens(boolean chat) {
    if (tokenizerless) {
      return new int[0];
    }
    Tokenizer tokenizer = tokenizer();
    List<Integer> ids = new ArrayList<>();
    tokenizer.eos().ifPresent(ids::add);
    tokenizer.eot().ifPresent(ids::add);
    if (chat) {
      OptionalInt endOfTurn = tokenizer.id(chatTemplate().endOfTurn());
      endOfTurn.ifPresent(ids::add);
    }
    return ids.stream().distinct().mapToInt(Integer::intValue).toArray();
  }

  /** Generation options with {@code maxTokens}, the stop tokens of a chat, and text decoding. */
  public GenerationOptions.Builder options(int maxTokens) {
    Tokenizer tokenizer = tokenizer();
    return GenerationOptions.builder()
        .maxTokens(maxTokens)
        .stopTokens(stopTokens(true))
        .tokenText(tokenizer::tokenBytes);
  }

  /** A generator over this model's decoder. */
  public Generator generator(SamplerChain sampler) {
    return new Generator(decoder, sampler);
  }
}
