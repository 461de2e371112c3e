package dev.kiln.generate;

import dev.kiln.ContextOverflowException;
import dev.kiln.Decoder;
import dev.kiln.InvalidInputException;
import dev.kiln.spec.ResolvedSpec;
import java.util.Arrays;

/**
 * The state machine behind {@link Generator} and {@link Generation}: one prefill of every prompt,
 * then one decoder call per {@link #advance()}, each giving every running sequence one token.
 * Sequences that have stopped get empty chunks ({@link Decoder#append}) so the others go on.
 */
final class Run {
  private final Decoder decoder;
  private final GenerationOptions options;
  private final BatchGenerationListener listener;
  private final int maxPositions;
  private final int[] stopTokens;
  private final int[][] prompts;
  private final Sequence[] sequences;
  private final long startNanos;
  private boolean started;
  private long promptNanos;

  private final class Sequence {
    final int index;
    final SamplerChain sampler;
    final TextStream text;
    int[] history;
    int length;
    int generated;
    StopReason stop;
    int stopToken = -1;
    int decodeSteps;
    long decodeNanos;
    long samplingNanos;
    long endNanos;

    Sequence(int index, int[] prompt, SamplerChain sampler) {
      this.index = index;
      this.sampler = sampler;
      this.history = Arrays.copyOf(prompt, Math.min(maxPositions, prompt.length + 16));
      this.length = prompt.length;
      this.text =
          options.tokenText() == null
              ? null
              : new TextStream(
                  options.tokenText(),
                  options.stopStrings(),
                  piece -> listener.onText(index, piece));
    }

    void end(StopReason reason) {
      stop = reason;
      if (text != null) {
        text.finish();
      }
      endNanos = System.nanoTime();
    }

    int last() {
      return history[length - 1];
    }

    void accept(float[] logits) {
      long t0 = System.nanoTime();
      int token = sampler.next(logits, history, length);
      samplingNanos += System.nanoTime() - t0;
      if (length == history.length) {
        history = Arrays.copyOf(history, (int) Math.min(maxPositions, 2L * history.length));
      }
      history[length++] = token;
      generated++;
      listener.onToken(index, token);
      if (GenerationOptions.contains(stopTokens, token)) {
        stopToken = token;
        end(StopReason.EOS);
      } else if (text != null && text.accept(token)) {
        stop = StopReason.STOP_STRING;
        endNanos = System.nanoTime();
      } else if (generated >= options.maxTokens()) {
        end(StopReason.MAX_TOKENS);
      } else if (length >= maxPositions) {
        checkContextFull();
      }
    }

    void checkContextFull() {
      if (!options.stopAtContextFull()) {
        throw new ContextOverflowException(
            "sequence "
                + index
                + " fills the context ("
                + length
                + " positions = maxPositionEmbeddings) before generation ended; set stopAtContextFull to end it with CONTEXT_FULL");
      }
      end(StopReason.CONTEXT_FULL);
    }

    GenerationResult result() {
      return new GenerationResult(
          Arrays.copyOfRange(history, prompts[index].length, length),
          text == null ? null : text.text(),
          stop,
          stopToken,
          text == null ? null : text.matchedStop(),
          prompts[index].length,
          promptNanos,
          decodeSteps,
          decodeNanos,
          samplingNanos,
          endNanos - startNanos);
    }
  }

  /**
   * Checks everything before anything runs. Samplers: one per prompt.
   *
   * @throws InvalidInputException for no prompts, more than {@code maxBatchSize}, an empty prompt,
   *     a prompt longer than the context, an id outside the vocabulary, a stop token outside it
   */
  /** Prompt tokens already in the cache when the run starts (0: prefill everything). */
  private final int cachedPrefix;

  Run(
      Decoder decoder,
      int[][] prompts,
      SamplerChain[] samplers,
      GenerationOptions options,
      BatchGenerationListener listener) {
    this(decoder, prompts, samplers, options, listener, 0);
  }

  /**
   * A run whose single prompt's first {@code cachedPrefix} tokens are already in the decoder's
   * cache (a conversation going on): the first step feeds only the rest ({@link Decoder#append})
   * instead of prefilling everything.
   */
  Run(
      Decoder decoder,
      int[][] prompts,
      SamplerChain[] samplers,
      GenerationOptions options,
      BatchGenerationListener listener,
      int cachedPrefix) {
    this.decoder = decoder;
    this.cachedPrefix = cachedPrefix;
    this.options = options;
    this.listener = listener;
    ResolvedSpec spec = decoder.spec();
    this.maxPositions = spec.maxPositionEmbeddings();
    this.stopTokens = options.stopTokens();
    if (prompts == null || prompts.length == 0) {
      throw new InvalidInputException("no prompts given");
    }
    if (prompts.length > spec.maxBatchSize()) {
      throw new InvalidInputException(
          prompts.length
              + " prompts given but the decoder's maxBatchSize is "
              + spec.maxBatchSize());
    }
    for (int id : stopTokens) {
      if (id >= spec.vocabSize()) {
        throw new InvalidInputException(
            "stop token id " + id + " is outside the vocabulary [0, " + spec.vocabSize() + ")");
      }
    }
    this.prompts = new int[prompts.length][];
    for (int s = 0; s < prompts.length; s++) {
      int[] prompt = prompts[s];
      String name = prompts.length == 1 ? "the prompt" : "prompt " + s;
      if (prompt == null || prompt.length == 0) {
        throw new InvalidInputException(name + " is empty; it needs at least one token");
      }
      if (prompt.length > maxPositions) {
        throw new InvalidInputException(
            name
                + " has "
                + prompt.length
                + " tokens but the context holds "
                + maxPositions
                + " (maxPositionEmbeddings)");
      }
      for (int i = 0; i < prompt.length; i++) {
        if (prompt[i] < 0 || prompt[i] >= spec.vocabSize()) {
          throw new InvalidInputException(
              name
                  + ", token "
                  + i
                  + ": id "
                  + prompt[i]
                  + " is outside the vocabulary [0, "
                  + spec.vocabSize()
                  + ")");
        }
      }
      this.prompts[s] = prompt.clone();
    }
    if (cachedPrefix != 0) {
      if (prompts.length != 1 || cachedPrefix < 0 || cachedPrefix >= this.prompts[0].length) {
        throw new InvalidInputException(
            "a continued generation needs one prompt longer than its cached prefix ("
                + cachedPrefix
                + ")");
      }
      if (decoder.batchSize() != 1 || decoder.length(0) != cachedPrefix) {
        throw new InvalidInputException(
            "the decoder's cache holds "
                + (decoder.batchSize() == 1 ? decoder.length(0) : 0)
                + " positions of one sequence, not the "
                + cachedPrefix
                + " the continued prompt says");
      }
    }
    this.startNanos = System.nanoTime();
    this.sequences = new Sequence[prompts.length];
    for (int s = 0; s < prompts.length; s++) {
      sequences[s] = new Sequence(s, this.prompts[s], samplers[s]);
    }
    for (Sequence sequence : sequences) {
      if (options.maxTokens() == 0) {
        sequence.end(StopReason.MAX_TOKENS);
      } else if (sequence.length >= maxPositions) {
        sequence.checkContextFull();
      }
    }
  }

  /** Whether every sequence has stopped. */
  boolean finished() {
    for (Sequence sequence : sequences) {
      if (sequence.stop == null) {
        return false;
      }
    }
    return true;
  }

  /** Gives every running sequence one more token (the first call prefills). */
  void advance() {
    if (finished()) {
      throw new IllegalStateException("the generation has ended");
    }
    if (!started) {
      started = true;
      long t0 = System.nanoTime();
      float[][] logits;
      if (cachedPrefix == 0) {
        logits = decoder.prefill(prompts);
      } else {
        int[] rest = Arrays.copyOfRange(prompts[0], cachedPrefix, prompts[0].length);
        float[][] all = decoder.append(new int[][] {rest})[0];
        logits = new float[][] {all[all.length - 1]};
      }
      promptNanos = System.nanoTime() - t0;
      for (Sequence sequence : sequences) {
        if (sequence.stop == null) {
          sequence.accept(logits[sequence.index]);
        }
      }
      return;
    }
    int running = 0;
    for (Sequence sequence : sequences) {
      running += sequence.stop == null ? 1 : 0;
    }
    float[][] logits = new float[sequences.length][];
    long t0 = System.nanoTime();
    if (running == sequences.length) {
      int[] tokens = new int[sequences.length];
      for (Sequence sequence : sequences) {
        tokens[sequence.index] = sequence.last();
      }
      logits = decoder.step(tokens);
    } else {
      int[][] chunks = new int[sequences.length][];
      for (Sequence sequence : sequences) {
        chunks[sequence.index] = sequence.stop == null ? new int[] {sequence.last()} : new int[0];
      }
      float[][][] all = decoder.append(chunks);
      for (Sequence sequence : sequences) {
        if (sequence.stop == null) {
          logits[sequence.index] = all[sequence.index][0];
        }
      }
    }
    long elapsed = System.nanoTime() - t0;
    for (Sequence sequence : sequences) {
      if (sequence.stop == null) {
        sequence.decodeSteps++;
        sequence.decodeNanos += elapsed;
        sequence.accept(logits[sequence.index]);
      }
    }
  }

  /** Runs until every sequence has stopped. */
  void runToEnd() {
    while (!finished()) {
      advance();
    }
  }

  /** The last token of sequence {@code s} (its most recent generated one after an advance). */
  int lastToken(int s) {
    return sequences[s].last();
  }

  int generated(int s) {
    return sequences[s].generated;
  }

  StopReason stopReason(int s) {
    return sequences[s].stop;
  }

  int[] tokens(int s) {
    return Arrays.copyOfRange(sequences[s].history, prompts[s].length, sequences[s].length);
  }

  String text(int s) {
    return sequences[s].text == null ? null : sequences[s].text.text();
  }

  GenerationResult result(int s) {
    if (sequences[s].stop == null) {
      throw new IllegalStateException("sequence " + s + " is still running");
    }
    return sequences[s].result();
  }
}
