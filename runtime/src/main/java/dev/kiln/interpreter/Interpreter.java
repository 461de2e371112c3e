package dev.kiln.interpreter;

import dev.kiln.Decoder;
import dev.kiln.DecoderInputs;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.ScoreNormalization;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.FloatTensor;
import dev.kiln.weights.WeightTensor;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.ModelFiles;
import dev.kiln.weights.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * The reference evaluation of any {@link ResolvedSpec}: one op at a time, unfused, in double
 * precision, with nothing specialized. Every generated kernel is checked against it.
 *
 * <p>The embedding is {@code x = embed_tokens[token]} (times {@code (float) sqrt(hiddenSize)} with
 * scaleEmbeddings). A layer is, in Hugging Face Llama's terms:
 * <pre>
 *   h = norm(x, input_layernorm)                  (or x when norm = NONE)
 *   q, k, v = h q_proj^T (+ b), h k_proj^T (+ b), h v_proj^T (+ b)
 *   q, k = headNorm(q, q_norm), headNorm(k, k_norm) (each head RMS-normalized; with qkNorm only)
 *   q, k = rope(q, position), rope(k, position)   (rotate-half RoPE with the scaled frequencies; skipped when NONE)
 *   cache.append(k, v)
 *   a = for each head: sum_t w_t v_t over attended positions t, where
 *       s_t = cap(q . k_t x scale), scale = queryPreAttnScalar^-0.5 (default headDim^-0.5),
 *       cap(s) = c tanh(s / c) with attnLogitSoftcapping c (identity when 0),
 *       w = softmax(s) (or s when NONE),
 *       attended = positions up to this one (causal) or all cached positions, and on a sliding
 *       layer only the last slidingWindow of them
 *   o = a o_proj^T (+ b)                          (or a without an output projection)
 *   x = x + o                                     (or o without residual connections;
 *                                                  x + norm(o, post_attention_layernorm) with sandwich norms)
 *   m = down_proj(act(gate_proj(h2)) * up_proj(h2)), h2 = norm(x, post_attention_layernorm)
 *                                                 (pre_feedforward_layernorm with sandwich norms; act = SiLU or GELU-tanh)
 *   x = x + m                                     (or m; x + norm(m, post_feedforward_layernorm) with sandwich norms;
 *                                                  no MLP when mlp = NONE)
 * </pre>
 * then {@code logits = cap(norm(x, model.norm) lm_head^T (+ b))} with finalLogitSoftcapping. Every norm's
 * gain is {@code w}, or {@code 1 + w} with rmsNormUnitOffset.
 */
public final class Interpreter implements Decoder {
  private final ResolvedSpec spec;
  private final Weights weights;
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

  public Interpreter(Weights weights) {
    this.spec = weights.spec();
    this.weights = weights;
    this.ropeFrequencies = spec.positionEncoding() == PositionEncoding.ROPE ? spec.ropeInverseFrequencies() : null;
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

  /** Feeds {@code tokens} at the sequence's next positions; returns logits at each. */
  /**
   * {@link #compute}, after checking that no mapped model file shrank, and with a fault reading one
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

  private float[][] compute(Sequence sequence, int[] tokens) {
    int start = sequence.length;
    int n = tokens.length;
    double[][] x = new double[n][];
    for (int i = 0; i < n; i++) {
      x[i] = row(weights.get(GlobalTensor.EMBED_TOKENS), tokens[i]);
      if (spec.scaleEmbeddings()) {
        double scale = (float) Math.sqrt(spec.hiddenSize());
        for (int d = 0; d < x[i].length; d++) {
          x[i][d] *= scale;
        }
      }
    }
    for (int layer = 0; layer < spec.numHiddenLayers(); layer++) {
      x = layer(sequence, layer, x, start);
    }
    sequence.length = start + n;

    float[][] logits = new float[n][];
    for (int i = 0; i < n; i++) {
      double[] h = spec.norm() == NormKind.RMS_NORM ? rmsNorm(x[i], weights.vector(GlobalTensor.NORM)) : x[i];
      double[] out = linear(h, weights.lmHead(),
          spec.lmHeadBias() ? weights.vector(GlobalTensor.LM_HEAD_BIAS) : null);
      logits[i] = new float[out.length];
      for (int v = 0; v < out.length; v++) {
        logits[i][v] = (float) softcap(out[v], spec.finalLogitSoftcapping());
      }
    }
    return logits;
  }

  private double[][] layer(Sequence sequence, int layer, double[][] x, int start) {
    int n = x.length;
    List<double[]> keys = sequence.keys.get(layer);
    List<double[]> values = sequence.values.get(layer);
    double[][] q = new double[n][];
    for (int i = 0; i < n; i++) {
      double[] h = spec.norm() == NormKind.RMS_NORM ? rmsNorm(x[i], weights.vector(LayerTensor.INPUT_LAYERNORM, layer)) : x[i];
      q[i] = linear(h, w(LayerTensor.Q_PROJ, layer), bias(LayerTensor.Q_PROJ_BIAS, layer));
      double[] k = linear(h, w(LayerTensor.K_PROJ, layer), bias(LayerTensor.K_PROJ_BIAS, layer));
      double[] v = linear(h, w(LayerTensor.V_PROJ, layer), bias(LayerTensor.V_PROJ_BIAS, layer));
      if (spec.qkNorm()) {
        headNorm(q[i], spec.numAttentionHeads(), weights.vector(LayerTensor.Q_NORM, layer));
        headNorm(k, spec.numKeyValueHeads(), weights.vector(LayerTensor.K_NORM, layer));
      }
      if (spec.positionEncoding() == PositionEncoding.ROPE) {
        rope(q[i], spec.numAttentionHeads(), start + i);
        rope(k, spec.numKeyValueHeads(), start + i);
      }
      keys.add(k);
      values.add(v);
    }

    double[][] out = new double[n][];
    int window = spec.slidingWindow(layer);
    for (int i = 0; i < n; i++) {
      int attended = spec.causalMask() ? start + i + 1 : keys.size();
      int first = window > 0 ? Math.max(0, attended - window) : 0;
      double[] a = attention(q[i], keys, values, first, attended);
      double[] o = spec.attentionOutputProjection()
          ? linear(a, w(LayerTensor.O_PROJ, layer), bias(LayerTensor.O_PROJ_BIAS, layer))
          : a;
      if (spec.sandwichNorms()) {
        o = rmsNorm(o, weights.vector(LayerTensor.POST_ATTENTION_LAYERNORM, layer));
      }
      out[i] = spec.residualConnections() ? add(x[i], o) : o;
    }
    if (spec.mlp() == MlpKind.SWIGLU) {
      LayerTensor preNorm = spec.sandwichNorms() ? LayerTensor.PRE_FEEDFORWARD_LAYERNORM
          : LayerTensor.POST_ATTENTION_LAYERNORM;
      for (int i = 0; i < n; i++) {
        double[] h = spec.norm() == NormKind.RMS_NORM ? rmsNorm(out[i], weights.vector(preNorm, layer)) : out[i];
        double[] gate = linear(h, w(LayerTensor.GATE_PROJ, layer), bias(LayerTensor.GATE_PROJ_BIAS, layer));
        double[] up = linear(h, w(LayerTensor.UP_PROJ, layer), bias(LayerTensor.UP_PROJ_BIAS, layer));
        double[] activated = multiply(activate(gate), up);
        double[] down = linear(activated, w(LayerTensor.DOWN_PROJ, layer), bias(LayerTensor.DOWN_PROJ_BIAS, layer));
        if (spec.sandwichNorms()) {
          down = rmsNorm(down, weights.vector(LayerTensor.POST_FEEDFORWARD_LAYERNORM, layer));
        }
        out[i] = spec.residualConnections() ? add(out[i], down) : down;
      }
    }
    return out;
  }

  /** Multi-head attention of one query over positions [first, attended) of the cache. */
  private double[] attention(double[] q, List<double[]> keys, List<double[]> values, int first, int attended) {
    int headDim = spec.headDim();
    double scale = 1 / Math.sqrt(spec.queryPreAttnScalar());
    double[] out = new double[spec.qDim()];
    for (int head = 0; head < spec.numAttentionHeads(); head++) {
      int kvHead = head / spec.kvGroupSize();
      double[] scores = new double[attended - first];
      for (int t = first; t < attended; t++) {
        double dot = 0;
        for (int d = 0; d < headDim; d++) {
          dot += q[head * headDim + d] * keys.get(t)[kvHead * headDim + d];
        }
        scores[t - first] = softcap(dot * scale, spec.attnLogitSoftcapping());
      }
      double[] weightsOfPositions = spec.scoreNormalization() == ScoreNormalization.SOFTMAX ? softmax(scores) : scores;
      for (int t = first; t < attended; t++) {
        for (int d = 0; d < headDim; d++) {
          out[head * headDim + d] += weightsOfPositions[t - first] * values.get(t)[kvHead * headDim + d];
        }
      }
    }
    return out;
  }

  /** {@code cap * tanh(value / cap)}, or the value itself when {@code cap} is 0. */
  private static double softcap(double value, double cap) {
    return cap == 0.0 ? value : cap * Math.tanh(value / cap);
  }

  /** RMSNorm of each of {@code heads} heads of {@code vector} over headDim, in place. */
  private void headNorm(double[] vector, int heads, FloatTensor gain) {
    int headDim = spec.headDim();
    for (int head = 0; head < heads; head++) {
      double[] normed = rmsNorm(java.util.Arrays.copyOfRange(vector, head * headDim, (head + 1) * headDim), gain);
      System.arraycopy(normed, 0, vector, head * headDim, headDim);
    }
  }

  /**
   * Rotate-half RoPE: for each head, pairs (i, i + headDim/2) rotate by position x frequency i,
   * frequency i = theta^(-2i/headDim) after the spec's scaling.
   */
  private void rope(double[] vector, int heads, int position) {
    int headDim = spec.headDim();
    int half = headDim / 2;
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
  }

  private double[] rmsNorm(double[] x, FloatTensor gain) {
    double sumSquares = 0;
    for (double value : x) {
      sumSquares += value * value;
    }
    double scale = 1.0 / Math.sqrt(sumSquares / x.length + spec.rmsNormEps());
    double offset = spec.rmsNormUnitOffset() ? 1 : 0;
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i] * scale * (offset + gain.get(i));
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

  /** The MLP's activation: SiLU {@code x sigmoid(x)}, or GELU's tanh approximation. */
  private double[] activate(double[] x) {
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = switch (spec.hiddenAct()) {
        case SILU -> x[i] / (1 + Math.exp(-x[i]));
        case GELU_TANH -> 0.5 * x[i] * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x[i] + 0.044715 * x[i] * x[i] * x[i])));
      };
    }
    return out;
  }

  private static double[] multiply(double[] a, double[] b) {
    double[] out = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i] * b[i];
    }
    return out;
  }

  private static double[] add(double[] a, double[] b) {
    double[] out = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i] + b[i];
    }
    return out;
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

  private WeightTensor w(LayerTensor kind, int layer) {
    return weights.get(kind, layer);
  }

  private FloatTensor bias(LayerTensor kind, int layer) {
    return kind.presentIn(spec) ? weights.vector(kind, layer) : null;
  }
}
