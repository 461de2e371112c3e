package dev.kiln.examples;

import dev.kiln.Decoder;
import dev.kiln.examples.specs.AllBiasesTornadoDecoder;
import dev.kiln.examples.specs.AllBiasesWeights;
import dev.kiln.examples.specs.AttentionOnlyResidualTornadoDecoder;
import dev.kiln.examples.specs.AttentionOnlyResidualWeights;
import dev.kiln.examples.specs.ConformanceGemma2TornadoDecoder;
import dev.kiln.examples.specs.ConformanceGemma2Weights;
import dev.kiln.examples.specs.ConformanceGqaTornadoDecoder;
import dev.kiln.examples.specs.ConformanceGqaWeights;
import dev.kiln.examples.specs.ConformanceLlama3RopeTornadoDecoder;
import dev.kiln.examples.specs.ConformanceLlama3RopeWeights;
import dev.kiln.examples.specs.ConformanceQwen2TornadoDecoder;
import dev.kiln.examples.specs.ConformanceQwen2Weights;
import dev.kiln.examples.specs.ConformanceQwen3TornadoDecoder;
import dev.kiln.examples.specs.ConformanceQwen3Weights;
import dev.kiln.examples.specs.ConformanceSeedTornadoDecoder;
import dev.kiln.examples.specs.ConformanceSeedWeights;
import dev.kiln.examples.specs.ConformanceTinyTornadoDecoder;
import dev.kiln.examples.specs.ConformanceTinyWeights;
import dev.kiln.examples.specs.GemmaLikeTornadoDecoder;
import dev.kiln.examples.specs.GemmaLikeWeights;
import dev.kiln.examples.specs.GqaTwoKvHeadsTornadoDecoder;
import dev.kiln.examples.specs.GqaTwoKvHeadsWeights;
import dev.kiln.examples.specs.HeadDim40TornadoDecoder;
import dev.kiln.examples.specs.HeadDim40Weights;
import dev.kiln.examples.specs.HeadDim96TornadoDecoder;
import dev.kiln.examples.specs.HeadDim96Weights;
import dev.kiln.examples.specs.MistralLikeTornadoDecoder;
import dev.kiln.examples.specs.MistralLikeWeights;
import dev.kiln.examples.specs.MultiQueryTornadoDecoder;
import dev.kiln.examples.specs.MultiQueryWeights;
import dev.kiln.examples.specs.QwenLikeTornadoDecoder;
import dev.kiln.examples.specs.QwenLikeWeights;
import dev.kiln.examples.specs.TiedEmbeddingsTornadoDecoder;
import dev.kiln.examples.specs.TiedEmbeddingsWeights;
import dev.kiln.weights.Weights;
import java.util.Map;
import java.util.function.Function;

/** The generated TornadoVM decoder of each test model, by {@link TestModel#name()}. */
final class TornadoModels {
  static final Map<String, Function<Weights, Decoder>> BY_NAME =
      Map.ofEntries(
          Map.entry("SeedLlama", w -> new SeedLlamaTornadoDecoder(SeedLlamaWeights.from(w))),
          Map.entry(
              "SeedSingleHead",
              w -> new SeedSingleHeadTornadoDecoder(SeedSingleHeadWeights.from(w))),
          Map.entry(
              "GqaTwoKvHeads", w -> new GqaTwoKvHeadsTornadoDecoder(GqaTwoKvHeadsWeights.from(w))),
          Map.entry("MultiQuery", w -> new MultiQueryTornadoDecoder(MultiQueryWeights.from(w))),
          Map.entry("HeadDim40", w -> new HeadDim40TornadoDecoder(HeadDim40Weights.from(w))),
          Map.entry("HeadDim96", w -> new HeadDim96TornadoDecoder(HeadDim96Weights.from(w))),
          Map.entry(
              "TiedEmbeddings",
              w -> new TiedEmbeddingsTornadoDecoder(TiedEmbeddingsWeights.from(w))),
          Map.entry("AllBiases", w -> new AllBiasesTornadoDecoder(AllBiasesWeights.from(w))),
          Map.entry(
              "AttentionOnlyResidual",
              w -> new AttentionOnlyResidualTornadoDecoder(AttentionOnlyResidualWeights.from(w))),
          Map.entry("GemmaLike", w -> new GemmaLikeTornadoDecoder(GemmaLikeWeights.from(w))),
          Map.entry("QwenLike", w -> new QwenLikeTornadoDecoder(QwenLikeWeights.from(w))),
          Map.entry("MistralLike", w -> new MistralLikeTornadoDecoder(MistralLikeWeights.from(w))),
          Map.entry("tiny", w -> new ConformanceTinyTornadoDecoder(ConformanceTinyWeights.from(w))),
          Map.entry("seed", w -> new ConformanceSeedTornadoDecoder(ConformanceSeedWeights.from(w))),
          Map.entry("gqa", w -> new ConformanceGqaTornadoDecoder(ConformanceGqaWeights.from(w))),
          Map.entry(
              "llama3rope",
              w -> new ConformanceLlama3RopeTornadoDecoder(ConformanceLlama3RopeWeights.from(w))),
          Map.entry(
              "qwen2", w -> new ConformanceQwen2TornadoDecoder(ConformanceQwen2Weights.from(w))),
          Map.entry(
              "qwen3", w -> new ConformanceQwen3TornadoDecoder(ConformanceQwen3Weights.from(w))),
          Map.entry(
              "gemma2",
              w -> new ConformanceGemma2TornadoDecoder(ConformanceGemma2Weights.from(w))));

  private TornadoModels() {}

  static Decoder create(String name, Weights weights) {
    Function<Weights, Decoder> factory = BY_NAME.get(name);
    if (factory == null) {
      throw new IllegalArgumentException("no TornadoVM decoder registered for " + name);
    }
    return factory.apply(weights);
  }

  /** Frees the decoder's device memory. */
  static void close(Decoder decoder) throws Exception {
    ((AutoCloseable) decoder).close();
  }
}
