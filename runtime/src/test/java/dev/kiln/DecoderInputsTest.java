package dev.kiln;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.spec.ResolvedSpec;
import org.junit.jupiter.api.Test;

/** Input checks shared by every decoder; each names the sequence and index at fault. */
class DecoderInputsTest {
  /** vocab 10, 8 positions, batches of up to 3. */
  private static final ResolvedSpec SPEC =
      ResolvedSpec.builder()
          .vocabSize(10)
          .hiddenSize(8)
          .intermediateSize(8)
          .numHiddenLayers(1)
          .numAttentionHeads(2)
          .maxPositionEmbeddings(8)
          .maxBatchSize(3)
          .build();

  private static void check(int[][] chunks) {
    DecoderInputs.checkChunks(SPEC, chunks, 0, null);
  }

  private static void checkCached(int[][] chunks, int... lengths) {
    DecoderInputs.checkChunks(SPEC, chunks, lengths.length, s -> lengths[s]);
  }

  @Test
  void goodInputPasses() {
    check(new int[][] {{0, 9}, {5}, {}});
    check(new int[][] {new int[8]});
    checkCached(new int[][] {{1}, {2, 3}}, 7, 6);
    checkCached(new int[][] {{}, {}}, 8, 8);
  }

  @Test
  void noSequences() {
    var e = assertThrows(InvalidInputException.class, () -> check(new int[0][]));
    assertThat(e).hasMessageThat().isEqualTo("no sequences given");
    assertThrows(InvalidInputException.class, () -> check(null));
  }

  @Test
  void moreSequencesThanMaxBatchSize() {
    var e = assertThrows(InvalidInputException.class, () -> check(new int[4][1]));
    assertThat(e).hasMessageThat().isEqualTo("4 sequences given but maxBatchSize is 3");
  }

  @Test
  void batchMustMatchTheCachedBatch() {
    var e = assertThrows(InvalidInputException.class, () -> checkCached(new int[][] {{1}}, 2, 2));
    assertThat(e)
        .hasMessageThat()
        .isEqualTo(
            "1 sequences given but the cache holds a batch of 2 (call reset() or prefill() to start a new batch)");
    assertThrows(InvalidInputException.class, () -> checkCached(new int[][] {{1}, {2}, {3}}, 2, 2));
  }

  @Test
  void nullSequence() {
    var e = assertThrows(InvalidInputException.class, () -> check(new int[][] {{1}, null}));
    assertThat(e).hasMessageThat().isEqualTo("sequence 1 is null");
  }

  @Test
  void tokenIdsOutsideTheVocabularyNameSequenceIndexAndId() {
    var above =
        assertThrows(InvalidInputException.class, () -> check(new int[][] {{1, 2}, {3, 4, 10}}));
    assertThat(above)
        .hasMessageThat()
        .isEqualTo("sequence 1, token 2: id 10 is outside the vocabulary [0, 10)");
    var below = assertThrows(InvalidInputException.class, () -> check(new int[][] {{-1}}));
    assertThat(below)
        .hasMessageThat()
        .isEqualTo("sequence 0, token 0: id -1 is outside the vocabulary [0, 10)");
    var cached =
        assertThrows(
            InvalidInputException.class,
            () -> checkCached(new int[][] {{0}, {Integer.MIN_VALUE}}, 1, 1));
    assertThat(cached).hasMessageThat().contains("sequence 1, token 0: id -2147483648");
    assertThat(above).isInstanceOf(KilnException.class);
  }

  @Test
  void tooLongWithoutACache() {
    var e =
        assertThrows(ContextOverflowException.class, () -> check(new int[][] {{1}, new int[9]}));
    assertThat(e)
        .hasMessageThat()
        .isEqualTo("sequence 1 would reach 9 positions, past maxPositionEmbeddings (8)");
  }

  @Test
  void tooLongWithWhatIsCached() {
    var e =
        assertThrows(
            ContextOverflowException.class,
            () -> checkCached(new int[][] {{1}, {1, 2, 3, 4}}, 0, 5));
    assertThat(e)
        .hasMessageThat()
        .isEqualTo(
            "sequence 1 would reach 9 positions, past maxPositionEmbeddings (8); 5 are cached");
    var full =
        assertThrows(ContextOverflowException.class, () -> checkCached(new int[][] {{1}}, 8));
    assertThat(full).hasMessageThat().contains("would reach 9 positions");
  }

  @Test
  void emptyPrompts() {
    DecoderInputs.checkNonEmpty(new int[][] {{1}, {2, 3}});
    var e =
        assertThrows(
            InvalidInputException.class, () -> DecoderInputs.checkNonEmpty(new int[][] {{1}, {}}));
    assertThat(e).hasMessageThat().isEqualTo("sequence 1 is empty; it needs at least one token");
  }
}
