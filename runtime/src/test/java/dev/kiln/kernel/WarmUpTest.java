package dev.kiln.kernel;

import static com.google.common.truth.Truth.assertThat;

import dev.kiln.KvCache;
import dev.kiln.spec.ResolvedSpec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link GeneratedDecoder#warmUp} runs every shape a run uses and leaves the decoder as it found
 * it.
 */
class WarmUpTest {
  private static final ResolvedSpec SPEC =
      ResolvedSpec.builder()
          .vocabSize(16)
          .hiddenSize(16)
          .intermediateSize(32)
          .numHiddenLayers(2)
          .numAttentionHeads(2)
          .maxPositionEmbeddings(256)
          .maxBatchSize(4)
          .build();

  /** Records each forward call's rows: how many, and how many want logits. */
  private static final class Recording extends GeneratedDecoder {
    final List<int[]> calls = new ArrayList<>();

    Recording() {
      super(SPEC);
    }

    @Override
    protected void forward(Rows rows, KvCache cache) {
      int wanting = 0;
      for (int r = 0; r < rows.count(); r++) {
        if (rows.wantsLogits(r)) {
          rows.logits(r)[(rows.token(r) + 1) % SPEC.vocabSize()] = 1f;
          wanting++;
        }
      }
      calls.add(new int[] {rows.count(), wanting});
    }
  }

  @Test
  void coversPrefillChunksAndEveryDecodeBatchThenResets() {
    Recording decoder = new Recording();
    int rounds = decoder.warmUp(100, 4, 2);
    assertThat(rounds).isAtLeast(2);
    assertThat(rounds).isAtMost(GeneratedDecoder.MAX_WARMUP_ROUNDS);
    List<String> shapes = decoder.calls.stream().map(c -> c[0] + "/" + c[1]).distinct().toList();
    // Prefill of one prompt of 100 tokens: a chunk of 64 rows, then 36 with the last wanting
    // logits;
    // of four prompts: 400 rows in chunks of 64, the last row of each prompt wanting logits;
    // decode steps: 1 row and 4 rows, all wanting logits.
    assertThat(shapes).containsAtLeast("64/0", "36/1", "1/1", "4/4");
    assertThat(shapes.stream().anyMatch(s -> s.startsWith("64/") && !s.equals("64/0"))).isTrue();
    long steps = decoder.calls.stream().filter(c -> c[0] == c[1]).count();
    assertThat(steps).isEqualTo(2L * GeneratedDecoder.WARMUP_STEPS * rounds);
    assertThat(decoder.batchSize()).isEqualTo(0);
  }

  @Test
  void aPromptLongerThanTheContextIsCut() {
    Recording decoder = new Recording();
    decoder.warmUp(10_000, 1, 1);
    int longest = decoder.calls.stream().mapToInt(c -> c[0]).sum() / decoder.calls.size();
    assertThat(longest).isAtMost(SPEC.maxPositionEmbeddings());
    assertThat(decoder.batchSize()).isEqualTo(0);
  }
}
