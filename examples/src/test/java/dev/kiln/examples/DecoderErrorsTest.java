package dev.kiln.examples;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.ContextOverflowException;
import dev.kiln.InvalidInputException;
import dev.kiln.KilnException;
import dev.kiln.examples.specs.GqaTwoKvHeadsDecoder;
import dev.kiln.examples.specs.GqaTwoKvHeadsWeights;
import dev.kiln.testing.Repository;
import dev.kiln.weights.WeightLoadException;
import dev.kiln.weights.Weights;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Bad input to a generated decoder is a clear error, raised before anything is computed or cached.
 */
class DecoderErrorsTest {
  private final SeedSingleHeadDecoder decoder = SeedSingleHeadDecoder.random(3);

  @Test
  void tokenOutsideTheVocabularyNamesSequenceAndIndex() {
    var e =
        assertThrows(
            InvalidInputException.class, () -> decoder.prefill(new int[][] {{1, 2}, {3, 64, 5}}));
    assertThat(e)
        .hasMessageThat()
        .isEqualTo("sequence 1, token 1: id 64 is outside the vocabulary [0, 64)");
    assertThat(decoder.batchSize()).isEqualTo(0);
  }

  @Test
  void moreSequencesThanMaxBatchSize() {
    var e = assertThrows(InvalidInputException.class, () -> decoder.prefill(new int[5][1]));
    assertThat(e).hasMessageThat().contains("5 sequences given but maxBatchSize is 4");
  }

  @Test
  void emptyPrompt() {
    var e = assertThrows(InvalidInputException.class, () -> decoder.prefill(new int[][] {{1}, {}}));
    assertThat(e).hasMessageThat().contains("sequence 1 is empty");
  }

  @Test
  void stepWithTheWrongBatchSize() {
    decoder.prefill(new int[][] {{1}, {2}});
    var e = assertThrows(InvalidInputException.class, () -> decoder.step(new int[] {1, 2, 3}));
    assertThat(e).hasMessageThat().contains("3 sequences given but the cache holds a batch of 2");
  }

  @Test
  void runningPastTheContextIsAnErrorThatLeavesTheCacheIntact() {
    int max = SeedSingleHeadDecoder.SPEC.maxPositionEmbeddings();
    int[] prompt = IntStream.range(0, max - 1).map(i -> i % 64).toArray();
    decoder.prefill(new int[][] {prompt, prompt});
    float[][] lastGood = decoder.step(new int[] {7, 8});
    assertThat(decoder.length(0)).isEqualTo(max);

    var e = assertThrows(ContextOverflowException.class, () -> decoder.step(new int[] {1, 2}));
    assertThat(e)
        .hasMessageThat()
        .isEqualTo(
            "sequence 0 would reach "
                + (max + 1)
                + " positions, past maxPositionEmbeddings ("
                + max
                + "); "
                + max
                + " are cached");
    assertThat(decoder.length(0)).isEqualTo(max);
    assertThat(decoder.length(1)).isEqualTo(max);

    // The same prefix again gives the same logits: nothing was overwritten.
    decoder.prefill(new int[][] {prompt, prompt});
    float[][] again = decoder.step(new int[] {7, 8});
    Logits.assertClose("after overflow", again[0], lastGood[0]);
    Logits.assertClose("after overflow", again[1], lastGood[1]);
  }

  @Test
  void noCacheSequenceLongerThanTheContext() {
    int[] tooLong = new int[SeedSingleHeadDecoder.SPEC.maxPositionEmbeddings() + 1];
    assertThrows(
        ContextOverflowException.class, () -> decoder.forwardNoCache(new int[][] {tooLong}));
  }

  @Test
  void weightsOfAnotherSpecListEveryDifference() {
    var other = Weights.random(SeedLlamaDecoder.SPEC, 1);
    var e = assertThrows(KilnException.class, () -> GqaTwoKvHeadsWeights.from(other));
    assertThat(e).hasMessageThat().contains("vocabSize: 97 here, 100 there");
    assertThat(e).hasMessageThat().contains("numKeyValueHeads: 2 here, 4 there");
    assertThat(e).hasMessageThat().contains("maxBatchSize: 3 here, 1 there");
  }

  @Test
  void aFileForAnotherModelNamesTensorsAndBothShapes() {
    var file = Repository.bundledTiny().resolve("hf/model.safetensors");
    var e =
        assertThrows(
            WeightLoadException.class,
            () -> new GqaTwoKvHeadsDecoder(GqaTwoKvHeadsWeights.load(file)));
    assertThat(e).hasMessageThat().contains(file + " does not fit the spec");
    assertThat(e)
        .hasMessageThat()
        .contains(
            "tensor model.embed_tokens.weight has shape [64, 32] in the file but the spec needs [97, 64]");
    // 21 problems: the first 20 are listed, the last (missing tensor lm_head.weight) is counted.
    assertThat(e).hasMessageThat().endsWith("\n  ... and 1 more");
    assertThat(e.getMessage().split("\n")).hasLength(1 + 20 + 1);
  }
}
