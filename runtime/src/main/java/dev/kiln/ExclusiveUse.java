package dev.kiln;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Detects a decoder used by two threads at once. A decoder is not thread-safe (its cache and
 * buffers are shared by every call), and two threads in it at once compute silently wrong logits;
 * so each call {@link #enter}s (a compare-and-set) and {@link #exit}s, and a second thread that
 * enters while the first is inside gets an {@link IllegalStateException} naming the rule. Calls
 * from the thread already inside (a step that appends) nest.
 */
public final class ExclusiveUse {
  private final String what;
  private final AtomicReference<Thread> owner = new AtomicReference<>();

  /** Nesting depth of the owner's calls; read and written only by the owner. */
  private int depth;

  /** {@code what}: the object guarded, for the message ("decoder SeedLlamaDecoder"). */
  public ExclusiveUse(String what) {
    this.what = what;
  }

  /** Enters a call; throws {@link IllegalStateException} when another thread is inside. */
  public void enter(String call) {
    Thread me = Thread.currentThread();
    if (owner.get() == me) {
      depth++;
      return;
    }
    if (!owner.compareAndSet(null, me)) {
      Thread other = owner.get();
      throw new IllegalStateException(
          what
              + "."
              + call
              + " called from thread \""
              + me.getName()
              + "\" while thread \""
              + (other == null ? "?" : other.getName())
              + "\" is using it: a decoder is not thread-safe; use each decoder from"
              + " one thread at a time (one decoder per thread, or synchronize on it)");
    }
    depth = 1;
  }

  /** Leaves a call entered by {@link #enter}. */
  public void exit() {
    if (--depth == 0) {
      owner.set(null);
    }
  }
}
