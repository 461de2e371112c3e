package dev.kiln.kernel;

import dev.kiln.Decoder;
import dev.kiln.DecoderInputs;
import dev.kiln.Greedy;
import dev.kiln.KvCache;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.ModelFiles;
import dev.kiln.weights.TensorKind;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Base class of generated decoders: validates input, reserves cache room, lays out the rows of a
 * call and splits them into chunks, then hands each chunk to the generated {@link #forward}. The
 * numerics live entirely in the generated subclass.
 */
public abstract class GeneratedDecoder implements Decoder {
  /**
   * Rows per {@link #forward} call for causal models (bounds activation memory during long
   * prefills), unless the backend's {@link #chunkRows()} says otherwise: the TornadoVM decoders'
   * device buffers hold this many rows.
   */
  public static final int CHUNK_ROWS = 64;

  /**
   * Rows per {@link #forward} call for causal models: {@link #CHUNK_ROWS} unless a backend takes
   * more (the Java backend's decoders take 128: each projection call, and so each meeting of the
   * threads, serves twice the rows, and a 128-token prompt runs in one call).
   */
  protected int chunkRows() {
    return CHUNK_ROWS;
  }

  private final ResolvedSpec spec;
  private final KvCache cache;

  /** Detects two threads in this decoder at once (see {@link dev.kiln.Decoder}). */
  private final dev.kiln.ExclusiveUse use =
      new dev.kiln.ExclusiveUse("decoder " + getClass().getSimpleName());

  /**
   * Time per kernel, when enabled: the Java backend's {@link #forward} takes a lap after each
   * kernel it calls.
   */
  protected final KernelProfile profile = new KernelProfile();

  protected GeneratedDecoder(ResolvedSpec spec) {
    this(spec, KvCache.forSpec(spec));
  }

  /**
   * @param cache the decoder's cache: {@link KvCache#forSpec}, or {@link KvCache#withoutStorage}
   *     for a backend that keeps keys and values on a device
   */
  protected GeneratedDecoder(ResolvedSpec spec, KvCache cache) {
    this.spec = spec;
    this.cache = cache;
  }

  /**
   * Whether {@code cache}, as given to {@link #forward}, is the decoder's own cache rather than the
   * scratch cache of a {@link #forwardNoCache} call.
   */
  protected final boolean isOwnCache(KvCache cache) {
    return cache == this.cache;
  }

  /**
   * Computes the rows: writes their keys and values into the cache, reads all positions each row
   * attends to, and fills the logits of rows that want them.
   */
  protected abstract void forward(Rows rows, KvCache cache);

  /**
   * This decoder's kernel timings: off unless {@link KernelProfile#enable}d (or the system property
   * {@code kiln.profile} was {@code true} when the decoder was made); stays empty for backends that
   * take no laps (TornadoVM, whose kernels run as one task graph on the device).
   */
  public final KernelProfile kernelProfile() {
    return profile;
  }

  /**
   * The weight matrices each kernel multiplies by, by kernel method name (as in the {@link
   * #kernelProfile}), so that a kernel's time can be read as bandwidth; empty where a backend does
   * not say.
   */
  public Map<String, List<TensorKind>> kernelMatrices() {
    return Map.of();
  }

  @Override
  public final ResolvedSpec spec() {
    return spec;
  }

  @Override
  public final float[][] prefill(int[][] prompts) {
    use.enter("prefill");
    try {
      DecoderInputs.checkChunks(spec, prompts, 0, null);
      DecoderInputs.checkNonEmpty(prompts);
      cache.reset(0);
      float[][][] logits = run(cache, prompts, false);
      float[][] last = new float[prompts.length][];
      for (int s = 0; s < prompts.length; s++) {
        last[s] = logits[s][prompts[s].length - 1];
      }
      return last;
    } finally {
      use.exit();
    }
  }

  @Override
  public final float[][] step(int[] tokens) {
    int[][] chunks = new int[tokens.length][];
    for (int s = 0; s < tokens.length; s++) {
      chunks[s] = new int[] {tokens[s]};
    }
    float[][][] logits = append(chunks);
    float[][] result = new float[tokens.length][];
    for (int s = 0; s < tokens.length; s++) {
      result[s] = logits[s][0];
    }
    return result;
  }

  @Override
  public final float[][][] append(int[][] chunks) {
    use.enter("append");
    try {
      DecoderInputs.checkChunks(spec, chunks, cache.batchSize(), cache::length);
      return run(cache, chunks, true);
    } finally {
      use.exit();
    }
  }

  @Override
  public final float[][][] forwardNoCache(int[][] sequences) {
    use.enter("forwardNoCache");
    try {
      DecoderInputs.checkChunks(spec, sequences, 0, null);
      DecoderInputs.checkNonEmpty(sequences);
      int longest = 0;
      for (int[] sequence : sequences) {
        longest = Math.max(longest, sequence.length);
      }
      // The K/V of positions being recomputed live only for this call.
      KvCache scratch =
          new KvCache(spec.numHiddenLayers(), sequences.length, longest, spec.kvDim());
      scratch.reset(0);
      return run(scratch, sequences, true);
    } finally {
      use.exit();
    }
  }

  @Override
  public final void truncate(int sequence, int length) {
    use.enter("truncate");
    try {
      cache.truncate(sequence, length);
    } finally {
      use.exit();
    }
  }

  @Override
  public final void reset() {
    use.enter("reset");
    try {
      cache.reset(0);
    } finally {
      use.exit();
    }
  }

  @Override
  public final int batchSize() {
    return cache.batchSize();
  }

  @Override
  public final int length(int sequence) {
    return cache.length(sequence);
  }

  @Override
  public final long kvCacheBytes() {
    return cache.bytes();
  }

  /** Decode steps of each batch size in one {@link #warmUp} round. */
  static final int WARMUP_STEPS = 8;

  /** The most {@link #warmUp} rounds, however long the JIT keeps compiling. */
  static final int MAX_WARMUP_ROUNDS = 12;

  /**
   * Runs every kernel shape that prompts of {@code promptLength} tokens and decode batches up to
   * {@code maxBatch} sequences use, so that the JIT has compiled them (with a profile that has seen
   * them all) before anything is timed or served: each round prefills one prompt, then {@code
   * maxBatch} prompts (every prefill chunk size, batched projections, the LM head on a prompt's
   * last rows), then takes {@link #WARMUP_STEPS} decode steps at batch 1 and at {@code maxBatch}.
   * At least {@code minRounds} rounds, then more (up to {@link #MAX_WARMUP_ROUNDS}) while the JIT
   * still compiled during the last one: on a loaded machine its compiler threads lag behind, and a
   * pass timed while they catch up runs several times slower. Leaves the cache empty. Returns the
   * rounds run.
   */
  public final int warmUp(int promptLength, int maxBatch, int minRounds) {
    int batch = Math.max(1, Math.min(maxBatch, spec.maxBatchSize()));
    int length = Math.max(1, Math.min(promptLength, spec.maxPositionEmbeddings() - WARMUP_STEPS));
    var random = new java.util.SplittableRandom(17);
    int[][] prompts = new int[batch][];
    for (int s = 0; s < batch; s++) {
      prompts[s] = random.ints(length, 0, spec.vocabSize()).toArray();
    }
    var compiler = java.lang.management.ManagementFactory.getCompilationMXBean();
    boolean timed = compiler != null && compiler.isCompilationTimeMonitoringSupported();
    int rounds = 0;
    while (rounds < MAX_WARMUP_ROUNDS) {
      long compiledBefore = timed ? compiler.getTotalCompilationTime() : 0;
      for (int b : batch == 1 ? new int[] {1} : new int[] {1, batch}) {
        float[][] logits = prefill(Arrays.copyOf(prompts, b));
        for (int step = 0; step < WARMUP_STEPS; step++) {
          logits = step(Greedy.argmax(logits));
        }
      }
      rounds++;
      boolean stillCompiling = timed && compiler.getTotalCompilationTime() > compiledBefore;
      if (rounds >= minRounds && !stillCompiling) {
        break;
      }
    }
    reset();
    return rounds;
  }

  /**
   * Feeds input already checked; {@code allLogits} false computes logits for each chunk's last
   * position only.
   */
  private float[][][] run(KvCache target, int[][] chunks, boolean allLogits) {
    ModelFiles.requireMappedFilesUnchanged();
    if (target.batchSize() == 0) {
      target.reset(chunks.length);
    }
    int batch = chunks.length;
    int[] start = new int[batch];
    int total = 0;
    for (int s = 0; s < batch; s++) {
      start[s] = target.length(s);
      total += chunks[s].length;
    }
    for (int s = 0; s < batch; s++) {
      target.advance(s, chunks[s].length);
    }

    float[][][] logits = new float[batch][][];
    int[] tokens = new int[total];
    int[] positions = new int[total];
    int[] cacheOffsets = new int[total];
    int[] sequenceStarts = new int[total];
    int[] attendEnds = new int[total];
    float[][] rowLogits = new float[total][];
    int r = 0;
    for (int s = 0; s < batch; s++) {
      logits[s] = new float[chunks[s].length][];
      for (int i = 0; i < chunks[s].length; i++, r++) {
        int position = start[s] + i;
        tokens[r] = chunks[s][i];
        positions[r] = position;
        cacheOffsets[r] = target.offset(s, position);
        sequenceStarts[r] = target.offset(s, 0);
        attendEnds[r] = spec.causalMask() ? position + 1 : target.length(s);
        if (allLogits || i == chunks[s].length - 1) {
          rowLogits[r] = new float[spec.vocabSize()];
          logits[s][i] = rowLogits[r];
        }
      }
    }

    int chunkRows = spec.causalMask() ? chunkRows() : Math.max(total, 1);
    try {
      for (int from = 0; from < total; from += chunkRows) {
        int to = Math.min(total, from + chunkRows);
        forward(
            slice(from, to, tokens, positions, cacheOffsets, sequenceStarts, attendEnds, rowLogits),
            target);
      }
    } catch (InternalError e) {
      throw ModelFiles.changedWhileMapped(e);
    }
    return logits;
  }

  private static Rows slice(
      int from,
      int to,
      int[] tokens,
      int[] positions,
      int[] cacheOffsets,
      int[] sequenceStarts,
      int[] attendEnds,
      float[][] logits) {
    return new Rows(
        to - from,
        Arrays.copyOfRange(tokens, from, to),
        Arrays.copyOfRange(positions, from, to),
        Arrays.copyOfRange(cacheOffsets, from, to),
        Arrays.copyOfRange(sequenceStarts, from, to),
        Arrays.copyOfRange(attendEnds, from, to),
        Arrays.copyOfRange(logits, from, to));
  }
}
