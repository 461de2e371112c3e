package dev.kiln.kernel;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.Decoder;
import dev.kiln.KvCache;
import dev.kiln.interpreter.Interpreter;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.Weights;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A decoder used by two threads at once throws, naming the rule; one thread after another is fine.
 */
class ConcurrentUseTest {
  private static final ResolvedSpec SPEC =
      ResolvedSpec.builder()
          .vocabSize(16)
          .hiddenSize(16)
          .intermediateSize(32)
          .numHiddenLayers(2)
          .numAttentionHeads(2)
          .maxPositionEmbeddings(64)
          .maxBatchSize(2)
          .build();

  /** A decoder whose forward waits inside until released. */
  private static final class Blocking extends GeneratedDecoder {
    final CountDownLatch inside = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    Blocking() {
      super(SPEC);
    }

    @Override
    protected void forward(Rows rows, KvCache cache) {
      inside.countDown();
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Test
  void generatedDecoderDetectsASecondThread() throws Exception {
    Blocking decoder = new Blocking();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread first =
        new Thread(
            () -> {
              try {
                decoder.prefill(new int[][] {{1, 2}});
              } catch (Throwable t) {
                failure.set(t);
              }
            },
            "first");
    first.start();
    assertThat(decoder.inside.await(10, TimeUnit.SECONDS)).isTrue();
    for (Runnable call :
        new Runnable[] {
          () -> decoder.prefill(new int[][] {{1}}),
          () -> decoder.step(new int[] {1}),
          () -> decoder.reset(),
          () -> decoder.forwardNoCache(new int[][] {{1}}),
          () -> decoder.append(new int[][] {{1}}),
          () -> decoder.truncate(0, 0)
        }) {
      var e = assertThrows(IllegalStateException.class, call::run);
      assertThat(e)
          .hasMessageThat()
          .contains("while thread \"first\" is using it: a decoder is not thread-safe");
    }
    decoder.release.countDown();
    first.join(10_000);
    assertThat(failure.get()).isNull();
    // Now free again, from any thread, and a step nests its append.
    assertThat(decoder.step(new int[] {1})).hasLength(1);
    assertThat(decoder.length(0)).isEqualTo(3);
  }

  @Test
  void interpreterDetectsASecondThread() throws Exception {
    Decoder decoder = new Interpreter(Weights.random(SPEC, 1));
    int[][] prompt = {new int[48]};
    AtomicReference<Throwable> seen = new AtomicReference<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    Runnable hammer =
        () -> {
          while (seen.get() == null && System.nanoTime() < deadline) {
            try {
              decoder.prefill(prompt);
            } catch (Throwable t) {
              seen.compareAndSet(null, t);
            }
          }
        };
    Thread first = new Thread(hammer, "first");
    first.start();
    hammer.run();
    first.join(30_000);
    assertThat(seen.get()).isInstanceOf(IllegalStateException.class);
    assertThat(seen.get()).hasMessageThat().contains("a decoder is not thread-safe");
  }
}
