package dev.kiln.examples;

import dev.kiln.Decoder;
import dev.kiln.examples.specs.AllBiasesDecoder;
import dev.kiln.examples.specs.AllBiasesWeights;
import dev.kiln.examples.specs.AttentionOnlyResidualDecoder;
import dev.kiln.examples.specs.AttentionOnlyResidualWeights;
import dev.kiln.examples.specs.GemmaLikeDecoder;
import dev.kiln.examples.specs.GemmaLikeWeights;
import dev.kiln.examples.specs.GqaTwoKvHeadsDecoder;
import dev.kiln.examples.specs.GqaTwoKvHeadsWeights;
import dev.kiln.examples.specs.HeadDim40Decoder;
import dev.kiln.examples.specs.HeadDim40Weights;
import dev.kiln.examples.specs.HeadDim96Decoder;
import dev.kiln.examples.specs.HeadDim96Weights;
import dev.kiln.examples.specs.MistralLikeDecoder;
import dev.kiln.examples.specs.MistralLikeWeights;
import dev.kiln.examples.specs.MultiQueryDecoder;
import dev.kiln.examples.specs.MultiQueryWeights;
import dev.kiln.examples.specs.QwenLikeDecoder;
import dev.kiln.examples.specs.QwenLikeWeights;
import dev.kiln.examples.specs.TiedEmbeddingsDecoder;
import dev.kiln.examples.specs.TiedEmbeddingsWeights;
import dev.kiln.interpreter.Interpreter;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.Weights;
import java.util.List;
import java.util.function.Function;

/** A generated decoder class under test, with the spec it was generated from. */
record TestModel(String name, ResolvedSpec spec, Function<Weights, Decoder> generated) {
  static final long SEED = 1234;

  /** The example specs and the test specs chosen to stress shapes. */
  static List<TestModel> all() {
    return List.of(
        new TestModel(
            "SeedLlama",
            SeedLlamaDecoder.SPEC,
            w -> new SeedLlamaDecoder(SeedLlamaWeights.from(w))),
        new TestModel(
            "SeedSingleHead",
            SeedSingleHeadDecoder.SPEC,
            w -> new SeedSingleHeadDecoder(SeedSingleHeadWeights.from(w))),
        new TestModel(
            "GqaTwoKvHeads",
            GqaTwoKvHeadsDecoder.SPEC,
            w -> new GqaTwoKvHeadsDecoder(GqaTwoKvHeadsWeights.from(w))),
        new TestModel(
            "MultiQuery",
            MultiQueryDecoder.SPEC,
            w -> new MultiQueryDecoder(MultiQueryWeights.from(w))),
        new TestModel(
            "HeadDim40",
            HeadDim40Decoder.SPEC,
            w -> new HeadDim40Decoder(HeadDim40Weights.from(w))),
        new TestModel(
            "HeadDim96",
            HeadDim96Decoder.SPEC,
            w -> new HeadDim96Decoder(HeadDim96Weights.from(w))),
        new TestModel(
            "TiedEmbeddings",
            TiedEmbeddingsDecoder.SPEC,
            w -> new TiedEmbeddingsDecoder(TiedEmbeddingsWeights.from(w))),
        new TestModel(
            "AllBiases",
            AllBiasesDecoder.SPEC,
            w -> new AllBiasesDecoder(AllBiasesWeights.from(w))),
        new TestModel(
            "AttentionOnlyResidual",
            AttentionOnlyResidualDecoder.SPEC,
            w -> new AttentionOnlyResidualDecoder(AttentionOnlyResidualWeights.from(w))),
        new TestModel(
            "GemmaLike",
            GemmaLikeDecoder.SPEC,
            w -> new GemmaLikeDecoder(GemmaLikeWeights.from(w))),
        new TestModel(
            "QwenLike", QwenLikeDecoder.SPEC, w -> new QwenLikeDecoder(QwenLikeWeights.from(w))),
        new TestModel(
            "MistralLike",
            MistralLikeDecoder.SPEC,
            w -> new MistralLikeDecoder(MistralLikeWeights.from(w))));
  }

  Weights randomWeights() {
    return Weights.random(spec, SEED);
  }

  /** The generated decoder and the interpreter over the same random weights. */
  Decoder[] generatedAndInterpreter() {
    Weights weights = randomWeights();
    return new Decoder[] {generated.apply(weights), new Interpreter(weights)};
  }

  @Override
  public String toString() {
    return name;
  }
}
