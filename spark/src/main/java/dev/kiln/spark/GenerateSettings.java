package dev.kiln.spark;

import dev.kiln.generate.SamplerChain;
import java.io.Serializable;
import java.util.List;

/**
 * Everything an executor needs to generate, shipped with each task: which model and how to open it
 * ({@link ModelKey}), and how to generate from a row.
 */
record GenerateSettings(
    ModelKey model,
    String promptColumn,
    String outputColumn,
    int maxTokens,
    double temperature,
    int topK,
    double topP,
    double minP,
    double repeatPenalty,
    long seed,
    String seedColumn,
    List<String> stops,
    boolean chat,
    String system,
    boolean failFast)
    implements Serializable {

  /**
   * How a model is opened on an executor; models of equal keys are one model per JVM.
   *
   * @param path the path an executor opens, or the name of a file shipped with {@code
   *     SparkContext.addFile}
   * @param batchSize sequences one executor JVM decodes together (its scheduler's slots)
   * @param context positions of the KV cache, 0 for the model's (up to 4096)
   * @param backend {@code java} (specialized) or {@code interpreter}
   * @param cacheDir where specialized decoders are cached on executors; null for Kiln's default
   * @param tokenizer a tokenizer file beside which the model has none; null for the model's own
   * @param prefillChunk prompt tokens a slot reads per step
   */
  record ModelKey(
      String path,
      int batchSize,
      int context,
      String backend,
      String cacheDir,
      String tokenizer,
      int prefillChunk)
      implements Serializable {}

  /** The sampler of one row: greedy at temperature 0, else {@code kiln run}'s chain, seeded. */
  SamplerChain sampler(long rowSeed) {
    if (temperature == 0) {
      return SamplerChain.greedy();
    }
    SamplerChain.Builder builder = SamplerChain.builder();
    if (repeatPenalty != 1.0) {
      builder.repetitionPenalty(repeatPenalty, 64);
    }
    builder.temperature(temperature);
    if (topK > 0) {
      builder.topK(topK);
    }
    builder.topP(topP).minP(minP);
    return builder.seed(rowSeed).build();
  }
}
