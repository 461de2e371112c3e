package dev.kiln.interpreter;

import dev.kiln.Activation;
import dev.kiln.Decoder;
import dev.kiln.DecoderInputs;
import dev.kiln.PositionEncoding;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.FloatTensor;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.ModelFiles;
import dev.kiln.weights.TensorKind;
import dev.kiln.weights.WeightTensor;
import dev.kiln.weights.Weights;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The reference evaluation of any {@link ResolvedSpec}: the op graph {@link GraphBuilder} builds
 * for the spec, evaluated one op at a time over all rows of a chunk, unfused, in double precision,
 * with nothing specialized. Every generated kernel is checked against it.
 *
 * <p>The graph is the one definition of the model (see {@link GraphBuilder} for the whole forward
 * pass in Hugging Face's terms); what each op computes is documented on its {@link Op} record and
 * implemented by one method here. Weights are read as float32 (a quantized row is dequantized
 * first, {@link WeightTensor#readRow}); activations and sums are doubles; logits are rounded to
 * float at the end.
 */
public final class Interpreter implements Decoder {
  private final ResolvedSpec spec;
  private final Weights weights;

  /** The ops to evaluate. */
  private final Graph graph;

  /** RoPE's frequency of each pair of a head's dimensions, scaling applied. */
  private final double[] ropeFrequencies;

  private final List<Sequence> batch = new ArrayList<>();

  /** Detects two threads in this decoder at once (see {@link Decoder}). */
  private final dev.kiln.ExclusiveUse use = new dev.kiln.ExclusiveUse("decoder Interpreter");

  /** Keys and values of one sequence: per layer, one entry per position. */
  private static final class Sequence {
    final List<List<double[]>> keys = new ArrayList<>();
    final List<List<double[]>> values = new ArrayList<>();
    int length;

    Sequence(int layers) {
      for (int l = 0; l < layers; l++) {
        keys.add(new ArrayList<>());
        values.add(new ArrayList<>());
      }
    }
  }

  /**
   * The values of one evaluation of the graph over a chunk of {@code tokens}, fed at positions
   * {@code start, start + 1, ...} of {@code sequence}: each value one array per row.
   */
  private static final class Chunk {
    final Sequence sequence;
    final int[] tokens;
    final int start;
    final Map<Value, double[][]> rows = new HashMap<>();
    final Map<Value, AttendedScores[]> scores = new HashMap<>();

    Chunk(Sequence sequence, int[] tokens, int start) {
      this.sequence = sequence;
      this.tokens = tokens;
      this.start = start;
    }

    /** Row {@code i} of this chunk alone, with the row values it has so far. */
    Chunk row(int i) {
      Chunk row = new Chunk(sequence, new int[] {tokens[i]}, start + i);
      rows.forEach((value, all) -> row.put(value, new double[][] {all[i]}));
      return row;
    }

    double[][] get(Value value) {
      double[][] result = rows.get(value);
      if (result == null) {
        throw new IllegalStateException("the graph reads " + value + " before any op writes it");
      }
      return result;
    }

    void put(Value value, double[][] result) {
      rows.put(value, result);
    }

    AttendedScores[] getScores(Value value) {
      AttendedScores[] result = scores.get(value);
      if (result == null) {
        throw new IllegalStateException("the graph reads " + value + " before any op writes it");
      }
      return result;
    }

    void putScores(Value value, AttendedScores[] result) {
      scores.put(value, result);
    }
  }

  /**
   * One row's attention scores (or weights, after softmax): per head, one per attended cache
   * position {@code first, first + 1, ...}.
   */
  private record AttendedScores(int first, double[][] byHead) {}

  public Interpreter(Weights weights) {
    this.spec = weights.spec();
    this.weights = weights;
    this.graph = GraphBuilder.build(spec);
    this.ropeFrequencies =
        spec.positionEncoding() == PositionEncoding.ROPE ? spec.ropeInverseFrequencies() : null;
  }

  @Override
  public ResolvedSpec spec() {
    return spec;
  }

  @Override
  public float[][] prefill(int[][] prompts) {
    use.enter("prefill");
    try {
      DecoderInputs.checkChunks(spec, prompts, 0, null);
      DecoderInputs.checkNonEmpty(prompts);
      batch.clear();
      float[][] last = new float[prompts.length][];
      for (int[] prompt : prompts) {
        Sequence sequence = new Sequence(spec.numHiddenLayers());
        batch.add(sequence);
        float[][] logits = forward(sequence, prompt);
        last[batch.size() - 1] = logits[logits.length - 1];
      }
      return last;
    } finally {
      use.exit();
    }
  }

  @Override
  public float[][] step(int[] tokens) {
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
  public float[][][] append(int[][] chunks) {
    use.enter("append");
    try {
      DecoderInputs.checkChunks(spec, chunks, batch.size(), s -> batch.get(s).length);
      if (batch.isEmpty()) {
        for (int s = 0; s < chunks.length; s++) {
          batch.add(new Sequence(spec.numHiddenLayers()));
        }
      }
      float[][][] logits = new float[chunks.length][][];
      for (int s = 0; s < chunks.length; s++) {
        logits[s] = forward(batch.get(s), chunks[s]);
      }
      return logits;
    } finally {
      use.exit();
    }
  }

  @Override
  public float[][][] forwardNoCache(int[][] sequences) {
    use.enter("forwardNoCache");
    try {
      DecoderInputs.checkChunks(spec, sequences, 0, null);
      DecoderInputs.checkNonEmpty(sequences);
      float[][][] logits = new float[sequences.length][][];
      for (int s = 0; s < sequences.length; s++) {
        logits[s] = forward(new Sequence(spec.numHiddenLayers()), sequences[s]);
      }
      return logits;
    } finally {
      use.exit();
    }
  }

  @Override
  public void truncate(int sequence, int length) {
    use.enter("truncate");
    try {
      DecoderInputs.checkTruncate(batch.size(), sequence, length, this::length);
      Sequence s = batch.get(sequence);
      for (int layer = 0; layer < s.keys.size(); layer++) {
        s.keys.get(layer).subList(length, s.keys.get(layer).size()).clear();
        s.values.get(layer).subList(length, s.values.get(layer).size()).clear();
      }
      s.length = length;
    } finally {
      use.exit();
    }
  }

  @Override
  public void reset() {
    use.enter("reset");
    try {
      batch.clear();
    } finally {
      use.exit();
    }
  }

  @Override
  public int batchSize() {
    return batch.size();
  }

  @Override
  public int length(int sequence) {
    return batch.get(sequence).length;
  }

  @Override
  public long kvCacheBytes() {
    return spec.kvCacheBytes();
  }

  /**
   * Feeds {@code tokens} at the sequence's next positions and returns the logits at each: {@link
   * #compute}, after checking that no mapped model file shrank, and with a fault reading one
   * reported as the {@link dev.kiln.weights.WeightLoadException} it is.
   */
  private float[][] forward(Sequence sequence, int[] tokens) {
    ModelFiles.requireMappedFilesUnchanged();
    try {
      return compute(sequence, tokens);
    } catch (InternalError e) {
      throw ModelFiles.changedWhileMapped(e);
    }
  }

  /**
   * The graph over one chunk: the prologue, the layer body once per layer, then the epilogue row by
   * row (its ops are all per row), so that only one row's logits are ever held in double.
   */
  private float[][] compute(Sequence sequence, int[] tokens) {
    Chunk chunk = new Chunk(sequence, tokens, sequence.length);
    for (Op op : graph.prologue()) {
      evaluate(op, chunk, -1);
    }
    for (int layer = 0; layer < spec.numHiddenLayers(); layer++) {
      for (Op op : graph.layer()) {
        evaluate(op, chunk, layer);
      }
    }
    sequence.length = chunk.start + tokens.length;

    float[][] logits = new float[tokens.length][];
    for (int i = 0; i < tokens.length; i++) {
      Chunk row = chunk.row(i);
      for (Op op : graph.epilogue()) {
        evaluate(op, row, -1);
      }
      double[] out = row.get(Value.LOGITS)[0];
      logits[i] = new float[out.length];
      for (int v = 0; v < out.length; v++) {
        logits[i][v] = (float) out[v];
      }
    }
    return logits;
  }

  /**
   * Evaluates {@code op} over every row of the chunk, with the tensors of {@code layer} (-1 outside
   * the layers).
   */
  private void evaluate(Op op, Chunk chunk, int layer) {
    switch (op) {
      case Op.Embed embed -> chunk.put(embed.out(), embed(chunk.tokens, embed.scaled()));
      case Op.RmsNorm norm -> {
        FloatTensor gain = vector(norm.gain(), layer);
        chunk.put(
            norm.out(),
            eachRow(chunk.get(norm.in()), row -> rmsNorm(row, gain, norm.unitOffset())));
      }
      case Op.HeadRmsNorm norm -> {
        FloatTensor gain = vector(norm.gain(), layer);
        int heads = heads(norm.keyHeads());
        chunk.put(
            norm.target(),
            eachRow(
                chunk.get(norm.target()), row -> headNorm(row, heads, gain, norm.unitOffset())));
      }
      case Op.Linear linear -> {
        WeightTensor weight = matrix(linear.weight(), layer);
        FloatTensor bias = linear.bias() == null ? null : vector(linear.bias(), layer);
        chunk.put(linear.out(), eachRow(chunk.get(linear.in()), row -> linear(row, weight, bias)));
      }
      case Op.Rope rope ->
          chunk.put(
              rope.target(), rope(chunk.get(rope.target()), heads(rope.keyHeads()), chunk.start));
      case Op.CacheWrite write -> {
        chunk.sequence.keys.get(layer).addAll(List.of(chunk.get(write.keys())));
        chunk.sequence.values.get(layer).addAll(List.of(chunk.get(write.values())));
      }
      case Op.AttentionScores scores ->
          chunk.putScores(
              scores.scores(),
              attentionScores(
                  scores,
                  chunk.get(scores.q()),
                  chunk.sequence.keys.get(layer),
                  chunk.start,
                  layer));
      case Op.Softmax softmax ->
          chunk.putScores(softmax.scores(), softmax(chunk.getScores(softmax.scores())));
      case Op.WeightedValues weighted ->
          chunk.put(
              weighted.out(),
              weightedValues(chunk.getScores(weighted.scores()), chunk.sequence.values.get(layer)));
      case Op.Activate activate ->
          chunk.put(
              activate.out(),
              eachRow(chunk.get(activate.in()), row -> activate(row, activate.function())));
      case Op.Multiply multiply ->
          chunk.put(multiply.out(), multiply(chunk.get(multiply.a()), chunk.get(multiply.b())));
      case Op.Add add -> chunk.put(add.out(), add(chunk.get(add.a()), chunk.get(add.b())));
      case Op.Softcap softcap ->
          chunk.put(
              softcap.target(),
              eachRow(
                  chunk.get(softcap.target()), row -> softcap(row, spec.finalLogitSoftcapping())));
    }
  }

  // --- The ops, one method each: each returns new arrays and leaves its inputs as they were.

  /**
   * {@code embed_tokens[token]} per row, times {@code (float) sqrt(hiddenSize)} when {@code
   * scaled}.
   */
  private double[][] embed(int[] tokens, boolean scaled) {
    double[][] x = new double[tokens.length][];
    for (int i = 0; i < tokens.length; i++) {
      x[i] = row(weights.get(GlobalTensor.EMBED_TOKENS), tokens[i]);
      if (scaled) {
        double scale = (float) Math.sqrt(spec.hiddenSize());
        for (int d = 0; d < x[i].length; d++) {
          x[i][d] *= scale;
        }
      }
    }
    return x;
  }

  /** {@code x / sqrt(mean(x^2) + eps) * gain}, or {@code * (1 + gain)} with {@code unitOffset}. */
  private double[] rmsNorm(double[] x, FloatTensor gain, boolean unitOffset) {
    double sumSquares = 0;
    for (double value : x) {
      sumSquares += value * value;
    }
    double scale = 1.0 / Math.sqrt(sumSquares / x.length + spec.rmsNormEps());
    double offset = unitOffset ? 1 : 0;
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i] * scale * (offset + gain.get(i));
    }
    return out;
  }

  /** RMSNorm of each of {@code heads} heads of {@code vector} over headDim. */
  private double[] headNorm(double[] vector, int heads, FloatTensor gain, boolean unitOffset) {
    int headDim = spec.headDim();
    double[] out = vector.clone();
    for (int head = 0; head < heads; head++) {
      double[] normed =
          rmsNorm(
              java.util.Arrays.copyOfRange(vector, head * headDim, (head + 1) * headDim),
              gain,
              unitOffset);
      System.arraycopy(normed, 0, out, head * headDim, headDim);
    }
    return out;
  }

  /**
   * {@code x W^T + b} for a PyTorch-layout weight (out, in). Each row of W is first dequantized to
   * float32 ({@link WeightTensor#readRow}), whatever its stored type; the sum is in double.
   */
  private static double[] linear(double[] x, WeightTensor weight, FloatTensor bias) {
    int outFeatures = Math.toIntExact(weight.rows());
    int inFeatures = Math.toIntExact(weight.columns());
    float[] weightRow = new float[inFeatures];
    double[] out = new double[outFeatures];
    for (int o = 0; o < outFeatures; o++) {
      weight.readRow(o, weightRow, 0);
      double sum = bias == null ? 0 : bias.get(o);
      for (int i = 0; i < inFeatures; i++) {
        sum += weightRow[i] * x[i];
      }
      out[o] = sum;
    }
    return out;
  }

  /**
   * Rotate-half RoPE of each row, row i at position {@code start + i}: for each head, pairs (j, j +
   * headDim/2) rotate by position x frequency j, frequency j = theta^(-2j/headDim) after the spec's
   * scaling.
   */
  private double[][] rope(double[][] rows, int heads, int start) {
    int headDim = spec.headDim();
    int half = headDim / 2;
    double[][] out = new double[rows.length][];
    for (int row = 0; row < rows.length; row++) {
      double[] vector = rows[row].clone();
      int position = start + row;
      for (int head = 0; head < heads; head++) {
        int base = head * headDim;
        for (int i = 0; i < half; i++) {
          double angle = position * ropeFrequencies[i];
          double first = vector[base + i];
          double second = vector[base + i + half];
          vector[base + i] = first * Math.cos(angle) - second * Math.sin(angle);
          vector[base + i + half] = second * Math.cos(angle) + first * Math.sin(angle);
        }
      }
      out[row] = vector;
    }
    return out;
  }

  /**
   * For each row i (position {@code start + i}) and head, {@code cap(q . k_t x scale)} over the
   * attended cache positions t: those up to the row's own (causal) or all cached ones, and on a
   * sliding layer only the last slidingWindow of them; scale {@code queryPreAttnScalar^-0.5} (else
   * {@code headDim^-0.5}); {@code cap(s) = c tanh(s / c)} with attnLogitSoftcapping c when
   * soft-capped.
   */
  private AttendedScores[] attentionScores(
      Op.AttentionScores op, double[][] q, List<double[]> keys, int start, int layer) {
    int headDim = spec.headDim();
    int window = op.windowed() ? spec.slidingWindow(layer) : 0;
    double scale = 1 / Math.sqrt(op.customScale() ? spec.queryPreAttnScalar() : spec.headDim());
    double cap = op.softcapped() ? spec.attnLogitSoftcapping() : 0.0;
    AttendedScores[] out = new AttendedScores[q.length];
    for (int row = 0; row < q.length; row++) {
      int attended = op.causal() ? start + row + 1 : keys.size();
      int first = window > 0 ? Math.max(0, attended - window) : 0;
      double[][] byHead = new double[spec.numAttentionHeads()][];
      for (int head = 0; head < spec.numAttentionHeads(); head++) {
        int kvHead = head / spec.kvGroupSize();
        double[] scores = new double[attended - first];
        for (int t = first; t < attended; t++) {
          double dot = 0;
          for (int d = 0; d < headDim; d++) {
            dot += q[row][head * headDim + d] * keys.get(t)[kvHead * headDim + d];
          }
          scores[t - first] = softcap(dot * scale, cap);
        }
        byHead[head] = scores;
      }
      out[row] = new AttendedScores(first, byHead);
    }
    return out;
  }

  /** Softmax over each row's and head's scores. */
  private static AttendedScores[] softmax(AttendedScores[] rows) {
    AttendedScores[] out = new AttendedScores[rows.length];
    for (int row = 0; row < rows.length; row++) {
      double[][] byHead = new double[rows[row].byHead().length][];
      for (int head = 0; head < byHead.length; head++) {
        byHead[head] = softmax(rows[row].byHead()[head]);
      }
      out[row] = new AttendedScores(rows[row].first(), byHead);
    }
    return out;
  }

  private static double[] softmax(double[] scores) {
    double max = Double.NEGATIVE_INFINITY;
    for (double s : scores) {
      max = Math.max(max, s);
    }
    double sum = 0;
    double[] out = new double[scores.length];
    for (int t = 0; t < scores.length; t++) {
      out[t] = Math.exp(scores[t] - max);
      sum += out[t];
    }
    for (int t = 0; t < scores.length; t++) {
      out[t] /= sum;
    }
    return out;
  }

  /** For each row and head, {@code sum_t w_t v_t} over the positions the row's scores attend. */
  private double[][] weightedValues(AttendedScores[] weightsOfPositions, List<double[]> values) {
    int headDim = spec.headDim();
    double[][] out = new double[weightsOfPositions.length][];
    for (int row = 0; row < weightsOfPositions.length; row++) {
      AttendedScores w = weightsOfPositions[row];
      out[row] = new double[spec.qDim()];
      for (int head = 0; head < spec.numAttentionHeads(); head++) {
        int kvHead = head / spec.kvGroupSize();
        double[] weightOfPosition = w.byHead()[head];
        for (int t = w.first(); t < w.first() + weightOfPosition.length; t++) {
          for (int d = 0; d < headDim; d++) {
            out[row][head * headDim + d] +=
                weightOfPosition[t - w.first()] * values.get(t)[kvHead * headDim + d];
          }
        }
      }
    }
    return out;
  }

  /** The MLP's activation: SiLU {@code x sigmoid(x)}, or GELU's tanh approximation. */
  private static double[] activate(double[] x, Activation function) {
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] =
          switch (function) {
            case SILU -> x[i] / (1 + Math.exp(-x[i]));
            case GELU_TANH ->
                0.5
                    * x[i]
                    * (1
                        + Math.tanh(
                            Math.sqrt(2 / Math.PI) * (x[i] + 0.044715 * x[i] * x[i] * x[i])));
          };
    }
    return out;
  }

  /** {@code a * b} elementwise. */
  private static double[][] multiply(double[][] a, double[][] b) {
    double[][] out = new double[a.length][];
    for (int row = 0; row < a.length; row++) {
      out[row] = new double[a[row].length];
      for (int i = 0; i < a[row].length; i++) {
        out[row][i] = a[row][i] * b[row][i];
      }
    }
    return out;
  }

  /** {@code a + b} elementwise. */
  private static double[][] add(double[][] a, double[][] b) {
    double[][] out = new double[a.length][];
    for (int row = 0; row < a.length; row++) {
      out[row] = new double[a[row].length];
      for (int i = 0; i < a[row].length; i++) {
        out[row][i] = a[row][i] + b[row][i];
      }
    }
    return out;
  }

  /** {@code cap * tanh(x / cap)} elementwise, or x itself when {@code cap} is 0. */
  private static double[] softcap(double[] x, double cap) {
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = softcap(x[i], cap);
    }
    return out;
  }

  private static double softcap(double value, double cap) {
    return cap == 0.0 ? value : cap * Math.tanh(value / cap);
  }

  // --- Helpers.

  private static double[][] eachRow(double[][] rows, UnaryOperator<double[]> function) {
    double[][] out = new double[rows.length][];
    for (int row = 0; row < rows.length; row++) {
      out[row] = function.apply(rows[row]);
    }
    return out;
  }

  /** NUM_KEY_VALUE_HEADS for k, NUM_ATTENTION_HEADS for q. */
  private int heads(boolean keyHeads) {
    return keyHeads ? spec.numKeyValueHeads() : spec.numAttentionHeads();
  }

  private static double[] row(WeightTensor matrix, int index) {
    float[] values = new float[Math.toIntExact(matrix.columns())];
    matrix.readRow(index, values, 0);
    double[] out = new double[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = values[i];
    }
    return out;
  }

  private WeightTensor matrix(TensorKind kind, int layer) {
    return switch (kind) {
      case LayerTensor layerTensor -> weights.get(layerTensor, layer);
      case GlobalTensor global -> weights.get(global);
    };
  }

  private FloatTensor vector(TensorKind kind, int layer) {
    return switch (kind) {
      case LayerTensor layerTensor -> weights.vector(layerTensor, layer);
      case GlobalTensor global -> weights.vector(global);
    };
  }
}
