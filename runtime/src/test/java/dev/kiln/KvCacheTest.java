package dev.kiln;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.spec.ResolvedSpec;
import org.junit.jupiter.api.Test;

/** The preallocated KV cache: its size, layout and length bookkeeping. */
class KvCacheTest {
  /** 3 layers, 4 heads of 4 with 2 KV heads (kv_dim 8), 10 positions, batches of 2. */
  private static final ResolvedSpec SPEC =
      ResolvedSpec.builder()
          .vocabSize(20)
          .hiddenSize(16)
          .intermediateSize(8)
          .numHiddenLayers(3)
          .numAttentionHeads(4)
          .numKeyValueHeads(2)
          .maxPositionEmbeddings(10)
          .maxBatchSize(2)
          .build();

  @Test
  void forSpecTakesTheSpecsSizes() {
    KvCache cache = KvCache.forSpec(SPEC);
    assertThat(cache.layers()).isEqualTo(3);
    assertThat(cache.batchCapacity()).isEqualTo(2);
    assertThat(cache.maxPositions()).isEqualTo(10);
    assertThat(cache.kvDim()).isEqualTo(8);
    // 2 x 3 layers x 2 sequences x 10 positions x 8 x 4 bytes
    assertThat(cache.bytes()).isEqualTo(3840);
    assertThat(cache.bytes()).isEqualTo(SPEC.kvCacheBytes());
    for (int layer = 0; layer < 3; layer++) {
      assertThat(cache.keys(layer)).hasLength(2 * 10 * 8);
      assertThat(cache.values(layer)).hasLength(2 * 10 * 8);
      assertThat(cache.values(layer)).isNotSameInstanceAs(cache.keys(layer));
    }
    assertThat(cache.keys(1)).isNotSameInstanceAs(cache.keys(0));
  }

  /**
   * A device backend's cache: the same bookkeeping, and a clear error if anyone asks for host
   * arrays.
   */
  @Test
  void withoutStorageKeepsLengthsAndOffsetsOnly() {
    KvCache cache = KvCache.withoutStorage(SPEC);
    KvCache full = KvCache.forSpec(SPEC);
    cache.reset(2);
    cache.advance(1, 4);
    assertThat(cache.length(1)).isEqualTo(4);
    assertThat(cache.offset(1, 3)).isEqualTo(full.offset(1, 3));
    assertThat(cache.bytes()).isEqualTo(full.bytes());
    var e = assertThrows(IllegalStateException.class, () -> cache.keys(0));
    assertThat(e).hasMessageThat().contains("live on a device");
    assertThrows(IllegalStateException.class, () -> cache.values(2));
  }

  @Test
  void offsetsTileTheArrayWithoutOverlap() {
    KvCache cache = new KvCache(1, 3, 5, 4);
    boolean[] used = new boolean[3 * 5 * 4];
    for (int s = 0; s < 3; s++) {
      for (int p = 0; p < 5; p++) {
        int offset = cache.offset(s, p);
        assertThat(offset).isEqualTo((s * 5 + p) * 4);
        for (int i = 0; i < 4; i++) {
          assertThat(used[offset + i]).isFalse();
          used[offset + i] = true;
        }
      }
    }
  }

  @Test
  void constructorRejectsEmptyAndOversizedCaches() {
    assertThrows(IllegalArgumentException.class, () -> new KvCache(0, 1, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new KvCache(1, 0, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new KvCache(1, 1, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> new KvCache(1, 1, 1, -1));
    // 2^16 x 2^16 x 1 floats per layer is past any Java array; refused before allocating.
    var e = assertThrows(IllegalArgumentException.class, () -> new KvCache(2, 1 << 16, 1 << 16, 1));
    assertThat(e)
        .hasMessageThat()
        .isEqualTo(
            "KV cache of 2 layers x 65536 sequences x 65536 positions x 1 does not fit Java arrays");
  }

  @Test
  void startsEmpty() {
    KvCache cache = KvCache.forSpec(SPEC);
    assertThat(cache.batchSize()).isEqualTo(0);
    var e = assertThrows(IndexOutOfBoundsException.class, () -> cache.length(0));
    assertThat(e).hasMessageThat().isEqualTo("sequence 0 of a batch of 0");
  }

  @Test
  void resetChecksTheBatchSize() {
    KvCache cache = KvCache.forSpec(SPEC);
    cache.reset(2);
    assertThat(cache.batchSize()).isEqualTo(2);
    cache.reset(0);
    assertThat(cache.batchSize()).isEqualTo(0);
    var e = assertThrows(IllegalArgumentException.class, () -> cache.reset(3));
    assertThat(e).hasMessageThat().isEqualTo("batch of 3 in a cache for 2");
    assertThrows(IllegalArgumentException.class, () -> cache.reset(-1));
    assertThat(cache.batchSize()).isEqualTo(0);
  }

  @Test
  void advanceCountsPositionsPerSequence() {
    KvCache cache = KvCache.forSpec(SPEC);
    cache.reset(2);
    assertThat(cache.length(0)).isEqualTo(0);
    assertThat(cache.length(1)).isEqualTo(0);
    cache.advance(0, 3);
    cache.advance(0, 2);
    cache.advance(1, 0);
    cache.advance(1, 7);
    assertThat(cache.length(0)).isEqualTo(5);
    assertThat(cache.length(1)).isEqualTo(7);
    assertThrows(IndexOutOfBoundsException.class, () -> cache.advance(2, 1));
    assertThrows(IndexOutOfBoundsException.class, () -> cache.length(-1));

    cache.reset(1);
    assertThat(cache.length(0)).isEqualTo(0);
    assertThrows(IndexOutOfBoundsException.class, () -> cache.length(1));
  }

  @Test
  void fillingExactlyToTheEndIsFine() {
    KvCache cache = KvCache.forSpec(SPEC);
    cache.reset(1);
    cache.advance(0, 10);
    assertThat(cache.length(0)).isEqualTo(10);
    cache.advance(0, 0);
    assertThat(cache.length(0)).isEqualTo(10);
  }

  @Test
  void overflowIsAContextOverflowAndRecordsNothing() {
    KvCache cache = KvCache.forSpec(SPEC);
    cache.reset(2);
    cache.advance(1, 6);
    var e = assertThrows(ContextOverflowException.class, () -> cache.advance(1, 5));
    assertThat(e)
        .hasMessageThat()
        .isEqualTo("sequence 1 would hold 11 positions; the cache holds 10");
    assertThat(e).isInstanceOf(KilnException.class);
    assertThat(cache.length(1)).isEqualTo(6);
    assertThat(cache.length(0)).isEqualTo(0);
    // A count so large the sum overflows int is still an overflow, not a negative length.
    assertThrows(ContextOverflowException.class, () -> cache.advance(1, Integer.MAX_VALUE));
    assertThat(cache.length(1)).isEqualTo(6);
  }

  @Test
  void negativeAdvanceIsRejected() {
    KvCache cache = KvCache.forSpec(SPEC);
    cache.reset(1);
    cache.advance(0, 2);
    var e = assertThrows(IllegalArgumentException.class, () -> cache.advance(0, -1));
    assertThat(e).hasMessageThat().contains("-1");
    assertThat(cache.length(0)).isEqualTo(2);
  }
}
