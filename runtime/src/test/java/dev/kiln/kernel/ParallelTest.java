package dev.kiln.kernel;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelTest {
  @Test
  void everyItemRunsExactlyOnce() {
    for (int items : new int[] {0, 1, 2, 7, 64, 1000, 4097}) {
      for (int minChunk : new int[] {1, 3, 100}) {
        AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(1, items));
        Parallel.forRange(
            items,
            minChunk,
            (first, last) -> {
              assertThat(first).isAtLeast(0);
              assertThat(last).isAtMost(items);
              for (int i = first; i < last; i++) {
                hits.incrementAndGet(i);
              }
            });
        for (int i = 0; i < items; i++) {
          assertThat(hits.get(i)).isEqualTo(1);
        }
      }
    }
  }

  @Test
  void chunksShrinkButStayAtLeastTheMinimum() {
    int items = 10_000;
    int minChunk = 10;
    List<int[]> chunks = chunks(items, minChunk, Parallel.ROW_BLOCK);
    for (int i = 0; i < chunks.size() - 1; i++) { // only the very last chunk may be cut short
      assertThat(chunks.get(i)[1] - chunks.get(i)[0]).isAtLeast(minChunk);
    }
    if (Parallel.THREADS > 1) {
      int[] firstChunk = chunks.getFirst();
      int[] lastFull = chunks.get(chunks.size() - 2);
      assertThat(firstChunk[1] - firstChunk[0]).isGreaterThan(lastFull[1] - lastFull[0]);
      assertThat(firstChunk[1] - firstChunk[0]).isAtMost(items / 2);
    } else {
      assertThat(chunks).hasSize(1);
    }
  }

  @Test
  void chunksAreMultiplesOfTheGivenNumberOfItems() {
    for (int multiple : new int[] {1, 3, 4, 8}) {
      List<int[]> chunks = chunks(12 * multiple + 5, 1, multiple);
      for (int i = 0; i < chunks.size() - 1; i++) {
        int[] chunk = chunks.get(i);
        assertWithMessage("chunk %s of multiple %s", i, multiple)
            .that((chunk[1] - chunk[0]) % multiple)
            .isEqualTo(0);
      }
    }
    if (Parallel.THREADS == 2) {
      // 12 attention heads on 2 threads: chunks of 3 heads first (a quarter), not 4, so neither
      // thread is left with 8 of the 12
      assertThat(chunks(12, 1, 1).getFirst()[1]).isEqualTo(3);
    }
    assertThrows(
        IllegalArgumentException.class, () -> Parallel.forRange(4, 1, 0, (first, last) -> {}));
  }

  /**
   * The chunks {@code forRange} hands out, in order, after checking that they follow each other and
   * cover {@code [0, items)} exactly.
   */
  private static List<int[]> chunks(int items, int minChunk, int multiple) {
    List<int[]> chunks = java.util.Collections.synchronizedList(new ArrayList<>());
    Parallel.forRange(
        items, minChunk, multiple, (first, last) -> chunks.add(new int[] {first, last}));
    chunks.sort(java.util.Comparator.comparingInt(c -> c[0]));
    int expectedFirst = 0;
    for (int[] chunk : chunks) {
      assertThat(chunk[0]).isEqualTo(expectedFirst);
      expectedFirst = chunk[1];
    }
    assertThat(expectedFirst).isEqualTo(items);
    return chunks;
  }

  @Test
  void workIsSharedWhenThereIsMoreThanOneThread() {
    Set<String> threads = ConcurrentHashMap.newKeySet();
    for (int attempt = 0;
        attempt < 50 && threads.size() < Math.min(2, Parallel.THREADS);
        attempt++) {
      Parallel.forRange(
          10_000,
          1,
          (first, last) -> {
            threads.add(Thread.currentThread().getName());
            // long enough for a parked worker to wake and join on a loaded machine (the caller
            // no longer waits for a worker that has not taken a chunk)
            long spin = System.nanoTime() + 200_000;
            while (System.nanoTime() < spin) {
              Thread.onSpinWait();
            }
          });
    }
    assertThat(threads.size()).isEqualTo(Math.min(2, Parallel.THREADS));
  }

  @Test
  void anExceptionInAChunkReachesTheCaller() {
    var e =
        assertThrows(
            IllegalStateException.class,
            () ->
                Parallel.forRange(
                    1000,
                    1,
                    (first, last) -> {
                      if (first <= 500 && 500 < last) {
                        throw new IllegalStateException("item 500");
                      }
                    }));
    assertThat(e).hasMessageThat().isEqualTo("item 500");
    // The pool still works afterwards.
    AtomicIntegerArray hits = new AtomicIntegerArray(100);
    Parallel.forRange(
        100,
        1,
        (first, last) -> {
          for (int i = first; i < last; i++) {
            hits.incrementAndGet(i);
          }
        });
    for (int i = 0; i < 100; i++) {
      assertThat(hits.get(i)).isEqualTo(1);
    }
  }

  @Test
  void nestedAndConcurrentCallsComplete() throws Exception {
    try (var executor = Executors.newFixedThreadPool(4)) {
      List<Future<Long>> sums = new ArrayList<>();
      for (int caller = 0; caller < 4; caller++) {
        sums.add(
            executor.submit(
                () -> {
                  long[] total = new long[1];
                  for (int repeat = 0; repeat < 50; repeat++) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(64 * 64);
                    Parallel.forRange(
                        64,
                        1,
                        (first, last) -> {
                          for (int i = first; i < last; i++) {
                            int outer = i;
                            Parallel.forRange(
                                64,
                                1,
                                (a, b) -> {
                                  for (int j = a; j < b; j++) {
                                    hits.incrementAndGet(outer * 64 + j);
                                  }
                                });
                          }
                        });
                    for (int i = 0; i < hits.length(); i++) {
                      total[0] += hits.get(i);
                    }
                  }
                  return total[0];
                }));
      }
      for (Future<Long> sum : sums) {
        assertThat(sum.get()).isEqualTo(50L * 64 * 64);
      }
    }
  }

  @Test
  void minChunkKeepsSmallWorkOnOneThread() {
    assertThat(Parallel.minChunk(1)).isEqualTo((int) Parallel.MIN_CHUNK_WORK);
    assertThat(Parallel.minChunk(Parallel.MIN_CHUNK_WORK * 4)).isEqualTo(1);
    assertThat(Parallel.minChunk(0)).isEqualTo((int) Parallel.MIN_CHUNK_WORK);
  }
}
