package dev.kiln.kernel;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The persistent worker threads generated kernels split their loops over. A kernel calls {@link
 * #forRange} with its number of independent items (output rows of a projection, heads x rows of
 * attention); the calling thread and {@link #THREADS}{@code - 1} workers take chunks of the range
 * until it is done. Workers are started once, spin between kernels (a decode step runs dozens of
 * kernels back to back) and park after {@link #SPIN_NANOS} idle, so no thread is started per op and
 * an idle decoder soon costs no CPU.
 *
 * <p>Chunks shrink as the range runs out (guided self-scheduling): each takes a share of what is
 * left, never less than the kernel's smallest worthwhile chunk. Large first chunks keep the shared
 * counter quiet; small last ones make the threads finish together, so no thread waits long at the
 * end of a kernel for one that took a large chunk late.
 *
 * <p>The thread count is the system property {@code kiln.threads} (default: available processors).
 * Calls from several application threads at once, or from inside a kernel, run on the calling
 * thread alone rather than wait: results never depend on the thread count, only speed does.
 *
 * <p>The caller waits at the end of a kernel only for chunks a worker has taken, never for a worker
 * that has not woken up yet: on a loaded machine (more runnable threads than cores) a worker is
 * often descheduled, and waiting for it at each of a prefill's hundred-odd kernels cost more than
 * the second thread brought (2 threads ran a stories110m prefill 2.3x slower than 1 thread).
 */
public final class Parallel {
  /** Threads a kernel runs on, the caller included. */
  public static final int THREADS = threadCount();

  /**
   * Nanoseconds a worker spins for the next kernel before it parks. Longer than any gap between the
   * kernels of a step (or between steps), so that a running decoder never waits for a parked thread
   * to wake; at 50 us a third of a 110M-shape decode step's kernels found the worker parked.
   */
  private static final long SPIN_NANOS = 2_000_000;

  /** Each chunk takes this fraction (1 / (share x threads)) of the items not yet taken. */
  private static final int GUIDED_SHARE = 2;

  /** A loop body over items {@code [first, last)}. */
  @FunctionalInterface
  public interface RangeBody {
    void run(int first, int last);
  }

  private static final Pool POOL = THREADS > 1 ? new Pool(THREADS - 1) : null;

  private Parallel() {}

  /**
   * Multiply-adds below which handing a chunk to another thread costs more than it saves (32K:
   * about 128 KB of F32 weights, a few microseconds).
   */
  static final long MIN_CHUNK_WORK = 1 << 15;

  /** The smallest chunk worth a thread when each item costs {@code workPerItem} multiply-adds. */
  public static int minChunk(long workPerItem) {
    return (int)
        Math.max(1, Math.min(Integer.MAX_VALUE, MIN_CHUNK_WORK / Math.max(1, workPerItem)));
  }

  private static int threadCount() {
    String property = System.getProperty("kiln.threads", "").trim();
    if (property.isEmpty()) {
      return Runtime.getRuntime().availableProcessors();
    }
    try {
      int threads = Integer.parseInt(property);
      if (threads >= 1) {
        return threads;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        "kiln.threads must be a positive integer, was \"" + property + "\"");
  }

  /**
   * The row kernels' block: projections' chunks are multiples of it, so their blocks stay whole.
   */
  public static final int ROW_BLOCK = 4;

  /**
   * Runs {@code body} over {@code [0, items)}, split into chunks of at least {@code minChunk}
   * items, all but the last a multiple of {@link #ROW_BLOCK}, across the threads; returns when
   * every item is done. Ranges too small to split run on the calling thread.
   */
  public static void forRange(int items, int minChunk, RangeBody body) {
    forRange(items, minChunk, ROW_BLOCK, body);
  }

  /**
   * {@link #forRange(int, int, RangeBody)} with chunks (but for the last) a multiple of {@code
   * multiple} items rather than of {@link #ROW_BLOCK}: 1 where items are independent tasks
   * (attention heads), the number of query heads sharing a key/value head where those go together.
   */
  public static void forRange(int items, int minChunk, int multiple, RangeBody body) {
    if (multiple < 1) {
      throw new IllegalArgumentException(
          "chunks must be a multiple of at least 1 item, not " + multiple);
    }
    if (items <= 0) {
      return;
    }
    if (POOL == null || items < 2 * minChunk || !POOL.tryEnter()) {
      body.run(0, items);
      return;
    }
    try {
      POOL.run(items, minChunk, multiple, body);
    } finally {
      POOL.exit();
    }
  }

  /** The worker threads and the one job they share at a time. */
  private static final class Pool {
    private final Thread[] workers;

    /**
     * Held by the one caller whose job the workers share (not reentrant: a nested call runs
     * inline).
     */
    private final AtomicBoolean busy = new AtomicBoolean();

    /** The job now posted (each call its own, so a worker that wakes late cannot mix two jobs). */
    private volatile Job job;

    Pool(int count) {
      workers = new Thread[count];
      for (int i = 0; i < count; i++) {
        workers[i] =
            Thread.ofPlatform().daemon().name("kiln-worker-" + (i + 1)).unstarted(this::work);
        workers[i].start();
      }
    }

    boolean tryEnter() {
      if (Thread.currentThread().getName().startsWith("kiln-worker-")) {
        return false; // a kernel inside a kernel: run it here
      }
      return busy.compareAndSet(false, true);
    }

    void exit() {
      busy.set(false);
    }

    void run(int items, int minChunk, int multiple, RangeBody body) {
      Job current = new Job(body, items, minChunk, multiple, workers.length + 1);
      job = current; // publishes the job
      for (Thread worker : workers) {
        LockSupport.unpark(worker);
      }
      Throwable mine = null;
      try {
        current.takeChunks();
      } catch (Throwable t) {
        mine = t;
        current.next.set(Integer.MAX_VALUE);
      }
      // Every chunk is taken: wait only for the workers still inside the job (a worker that has not
      // woken yet, or was descheduled before it took a chunk, holds nothing up).
      for (int spins = 0; current.inside.get() > 0; spins++) {
        if (spins < 1 << 12) {
          Thread.onSpinWait();
        } else {
          Thread.yield(); // a worker is late, perhaps descheduled: let it have this core
        }
      }
      Throwable theirs = current.failure;
      if (mine != null || theirs != null) {
        Throwable thrown = mine != null ? mine : theirs;
        if (thrown instanceof RuntimeException e) {
          throw e;
        }
        if (thrown instanceof Error e) {
          throw e;
        }
        throw new IllegalStateException(thrown);
      }
    }

    private void work() {
      Job done = null;
      while (true) {
        long deadline = System.nanoTime() + SPIN_NANOS;
        Job current;
        while ((current = job) == done) {
          if (System.nanoTime() < deadline) {
            Thread.onSpinWait();
          } else {
            LockSupport.park(this);
          }
        }
        done = current;
        current.inside.incrementAndGet();
        try {
          current.takeChunks();
        } catch (Throwable t) {
          current.failure = t;
          current.next.set(Integer.MAX_VALUE); // stop handing out chunks
        } finally {
          current.inside.decrementAndGet();
        }
      }
    }
  }

  /**
   * One {@code forRange} call shared with the workers: its range, the next item to hand out, who is
   * inside.
   */
  private static final class Job {
    private final RangeBody body;
    private final int items;
    private final int minChunk;
    private final int multiple;
    private final int divisor;
    private final AtomicInteger next = new AtomicInteger();

    /**
     * Workers that have joined the job and not yet left it (a worker joins before it takes a
     * chunk).
     */
    private final AtomicInteger inside = new AtomicInteger();

    private volatile Throwable failure;

    Job(RangeBody body, int items, int minChunk, int multiple, int threads) {
      this.body = body;
      this.items = items;
      this.minChunk = minChunk;
      this.multiple = multiple;
      this.divisor = GUIDED_SHARE * threads;
    }

    /**
     * Takes chunks until none is left: each {@code 1 / (GUIDED_SHARE x threads)} of the remaining
     * items, at least {@code minChunk}, rounded up to a multiple of {@code multiple} (the last
     * chunk ends at the range's end).
     */
    void takeChunks() {
      while (true) {
        int first = next.get();
        if (first >= items) {
          return;
        }
        int share = Math.max(1, Math.max(minChunk, (items - first) / divisor));
        int size =
            (int) Math.min(Integer.MAX_VALUE, ((long) share + multiple - 1) / multiple * multiple);
        int last = (int) Math.min(items, (long) first + size);
        if (next.compareAndSet(first, last)) {
          body.run(first, last);
        }
      }
    }
  }
}
