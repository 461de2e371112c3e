package dev.kiln.interpreter;

import dev.kiln.Decoder;
import dev.kiln.DecoderInputs;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.ScoreNormalization;
import dev.kiln.spec.ModelSpec;
import dev.kiln.weights.FloatTensor;
import dev.kiln.weights.WeightTensor;
import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * The reference evaluation of any {@link ModelSpec}: one op at a time, unfused, in double
 * precision, with nothing specialized. Every generated kernel is checked against it.
 *
 * <p>A layer is, in Hugging Face Llama's terms:
 * <pre>
 *   h = norm(x, input_layernorm)                  (or x when norm = NONE)
 *   q, k, v = h q_proj^T (+ b), h k_proj^T (+ b), h v_proj^T (+ b)
 *   q, k = rope(q, position), rope(k, position)   (rotate-half RoPE; skipped when NONE)
 *   cache.append(k, v)
 *   a = for each head: sum_t w_t v_t over attended positions t, where
 *       s_t = q . k_t / sqrt(headDim), w = softmax(s) (or s when NONE),
 *       attended = positions up to this one (causal) or all cached positions
 *   o = a o_proj^T (+ b)                          (or a without an output projection)
 *   x = x + o                                     (or o without residual connections)
 *   m = down_proj(silu(gate_proj(h2)) * up_proj(h2)), h2 = norm(x, post_attention_layernorm)
 *   x = x + m                                     (or m; no MLP when mlp = NONE)
 * </pre>
 * then {@code logits = norm(x, model.norm) lm_head^T (+ b)}.
 */
public final class Interpreter implements Decoder {
  private final ModelSpec spec;
  private final Weights weights;
  private final List<Sequence> batch = new ArrayList<>();

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
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public float[][] prefill(int[][] prompts) {
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
  }

  @Override
  public float[][][] forwardNoCache(int[][] sequences) {
    DecoderInputs.checkChunks(spec, sequences, 0, null);
    DecoderInputs.checkNonEmpty(sequences);
    float[][][] logits = new float[sequences.length][][];
    for (int s = 0; s < sequences.length; s++) {
      logits[s] = forward(new Sequence(spec.numHiddenLayers()), sequences[s]);
    }
    return logits;
  }

  @Override
  public void truncate(int sequence, int length) {
    DecoderInputs.checkTruncate(batch.size(), sequence, length, this::length);
    Sequence s = batch.get(sequence);
    for (int layer = 0; layer < s.keys.size(); layer++) {
      s.keys.get(layer).subList(length, s.keys.get(layer).size()).clear();
      s.values.get(layer).subList(length, s.values.get(layer).size()).clear();
    }
    s.length = length;
  }

  @Override
  public void reset() {
    batch.clear();
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
  private float[][] forward(Sequence sequence, int[] tokens) {
    int start = sequence.length;
    int n = tokens.length;
    double[][] x = new double[n][];
    for (int i = 0; i < n; i++) {
      x[i] = row(weights.get(GlobalTensor.EMBED_TOKENS), tokens[i]);
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
        logits[i][v] = (float) out[v];
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
      if (spec.positionEncoding() == PositionEncoding.ROPE) {
        rope(q[i], spec.numAttentionHeads(), start + i);
        rope(k, spec.numKeyValueHeads(), start + i);
      }
      keys.add(k);
      values.add(v);
    }

    double[][] out = new double[n][];
    for (int i = 0; i < n; i++) {
      int attended = spec.causalMask() ? start + i + 1 : keys.size();
      double[] a = attention(q[i], keys, values, attended);
      double[] o = spec.attentionOutputProjection()
          ? linear(a, w(LayerTensor.O_PROJ, layer), bias(LayerTensor.O_PROJ_BIAS, layer))
          : a;
      out[i] = spec.residualConnections() ? add(x[i], o) : o;
    }
    if (spec.mlp() == MlpKind.SWIGLU) {
      for (int i = 0; i < n; i++) {
        double[] h = spec.norm() == NormKind.RMS_NORM
            ? rmsNorm(out[i], weights.vector(LayerTensor.POST_ATTENTION_LAYERNORM, layer))
            : out[i];
        double[] gate = linear(h, w(LayerTensor.GATE_PROJ, layer), bias(LayerTensor.GATE_PROJ_BIAS, layer));
        double[] up = linear(h, w(LayerTensor.UP_PROJ, layer), bias(LayerTensor.UP_PROJ_BIAS, layer));
        double[] activated = multiply(silu(gate), up);
        double[] down = linear(activated, w(LayerTensor.DOWN_PROJ, layer), bias(LayerTensor.DOWN_PROJ_BIAS, layer));
        out[i] = spec.residualConnections() ? add(out[i], down) : down;
      }
    }
    return out;
  }

  /** Multi-head attention of one query over positions [0, attended) of the cache. */
  private double[] attention(double[] q, List<double[]> keys, List<double[]> values, int attended) {
    int headDim = spec.headDim();
    double[] out = new double[spec.qDim()];
    for (int head = 0; head < spec.numAttentionHeads(); head++) {
      int kvHead = head / spec.kvGroupSize();
      double[] scores = new double[attended];
      for (int t = 0; t < attended; t++) {
        double dot = 0;
        for (int d = 0; d < headDim; d++) {
          dot += q[head * headDim + d] * keys.get(t)[kvHead * headDim + d];
        }
        scores[t] = dot / Math.sqrt(headDim);
      }
      double[] weightsOfPositions = spec.scoreNormalization() == ScoreNormalization.SOFTMAX ? softmax(scores) : scores;
      for (int t = 0; t < attended; t++) {
        for (int d = 0; d < headDim; d++) {
          out[head * headDim + d] += weightsOfPositions[t] * values.get(t)[kvHead * headDim + d];
        }
      }
    }
    return out;
  }

  /** Rotate-half RoPE: for each head, pairs (i, i + headDim/2) rotate by position x theta^(-2i/headDim). */
  private void rope(double[] vector, int heads, int position) {
    int headDim = spec.headDim();
    int half = headDim / 2;
    for (int head = 0; head < heads; head++) {
      int base = head * headDim;
      for (int i = 0; i < half; i++) {
        double angle = position * Math.pow(spec.ropeTheta(), -2.0 * i / headDim);
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
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i] * scale * gain.get(i);
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

  private static double[] silu(double[] x) {
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i] / (1 + Math.exp(-x[i]));
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
