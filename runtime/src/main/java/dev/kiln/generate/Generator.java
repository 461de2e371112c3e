package dev.kiln.generate;

import dev.kiln.Decoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Generates tokens with a {@link Decoder} and a {@link SamplerChain}: one batched prefill of the
 * prompt, then one decoder step per token, until a stop token, a stop string, the token limit or a
 * full context ({@link StopReason}).
 *
 * <pre>{@code
 * var generator = new Generator(decoder, SamplerChain.builder().temperature(0.7).topP(0.9).seed(1).build());
 * var options = GenerationOptions.builder().maxTokens(200).stopTokens(eosId)
 *     .tokenText(tokenizer::tokenBytes).stopStrings("\nUser:").build();
 * GenerationResult result = generator.generate(prompt, options, GenerationListener.text(System.out::print));
 * }</pre>
 *
 * <p>Context: the sequence (prompt and generated tokens) never grows past the model's {@code
 * maxPositionEmbeddings}; a generation that reaches it ends with {@link StopReason#CONTEXT_FULL},
 * and every generated token can still be fed back later. A prompt longer than the context, an empty
 * prompt or an id outside the vocabulary is an {@link dev.kiln.InvalidInputException} before
 * anything runs. A prompt that exactly fills the context ends at once with CONTEXT_FULL and no
 * tokens.
 *
 * <p>A generation owns the decoder's cache while it runs (it starts with a prefill, which empties
 * it); a generator, like its decoder and sampler, is for one thread at a time.
 */
public final class Generator {
  private final Decoder decoder;
  private final SamplerChain sampler;

  public Generator(Decoder decoder, SamplerChain sampler) {
    this.decoder = Objects.requireNonNull(decoder, "decoder");
    this.sampler = Objects.requireNonNull(sampler, "sampler");
  }

  public Decoder decoder() {
    return decoder;
  }

  public SamplerChain sampler() {
    return sampler;
  }

  /** Generates from one prompt, hearing nothing along the way. */
  public GenerationResult generate(int[] prompt, GenerationOptions options) {
    return generate(prompt, options, GenerationListener.NONE);
  }

  /**
   * Generates from one prompt, telling {@code listener} each token and text piece as it comes. The
   * sampler's random state carries on from call to call (build a fresh chain, or use {@link
   * SamplerChain#withSeed}, to repeat a run).
   */
  public GenerationResult generate(
      int[] prompt, GenerationOptions options, GenerationListener listener) {
    Generation generation = start(prompt, options, listener);
    return generation.result();
  }

  /**
   * Starts a generation to be pulled token by token ({@link Generation#nextInt()}); nothing runs
   * until the first pull, but the input is checked now.
   */
  public Generation start(int[] prompt, GenerationOptions options, GenerationListener listener) {
    Objects.requireNonNull(listener, "listener");
    Run run =
        new Run(
            decoder, new int[][] {prompt}, new SamplerChain[] {sampler}, options, single(listener));
    return new Generation(run);
  }

  /**
   * Goes on from the decoder's cache: its first {@code cachedPrefix} positions hold {@code prompt[0
   * .. cachedPrefix)} (an earlier turn of a conversation), so only the rest of the prompt is fed
   * before generating. This is how a chat keeps its KV cache across turns.
   */
  public GenerationResult generateContinuing(
      int[] prompt, int cachedPrefix, GenerationOptions options, GenerationListener listener) {
    Objects.requireNonNull(listener, "listener");
    Run run =
        new Run(
            decoder,
            new int[][] {prompt},
            new SamplerChain[] {sampler},
            options,
            single(listener),
            cachedPrefix);
    return new Generation(run).result();
  }

  /** {@link #start(int[], GenerationOptions, GenerationListener)} with no listener. */
  public Generation start(int[] prompt, GenerationOptions options) {
    return start(prompt, options, GenerationListener.NONE);
  }

  /**
   * Generates from several prompts at once (up to the decoder's {@code maxBatchSize}): one prefill
   * of all, then one decoder call per token for all that are still running (stopped ones are fed
   * nothing). Sequence {@code s} samples with {@code sampler().forSequence(s)}, a fresh copy, so a
   * batch run is reproducible and its sequence {@code s} picks what a single generation with that
   * copy would (given the decoder's logits do not depend on the batch). Timings in the results are
   * the batch's.
   *
   * @return one result per prompt, in order
   */
  public List<GenerationResult> generateBatch(
      int[][] prompts, GenerationOptions options, BatchGenerationListener listener) {
    Objects.requireNonNull(listener, "listener");
    SamplerChain[] samplers = new SamplerChain[prompts == null ? 0 : prompts.length];
    for (int s = 0; s < samplers.length; s++) {
      samplers[s] = sampler.forSequence(s);
    }
    Run run = new Run(decoder, prompts, samplers, options, listener);
    run.runToEnd();
    List<GenerationResult> results = new ArrayList<>();
    for (int s = 0; s < samplers.length; s++) {
      results.add(run.result(s));
    }
    return results;
  }

  /**
   * {@link #generateBatch(int[][], GenerationOptions, BatchGenerationListener)} with no listener.
   */
  public List<GenerationResult> generateBatch(int[][] prompts, GenerationOptions options) {
    return generateBatch(prompts, options, BatchGenerationListener.NONE);
  }

  /** The one-sequence listener as the batch listener {@link Run} speaks to. */
  private static BatchGenerationListener single(GenerationListener listener) {
    return new BatchGenerationListener() {
      @Override
      public void onToken(int sequence, int id) {
        listener.onToken(id);
      }

      @Override
      public void onText(int sequence, String text) {
        listener.onText(text);
      }
    };
  }
}
