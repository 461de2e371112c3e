package dev.kiln.generate;

import dev.kiln.Decoder;
import dev.kiln.DecoderInputs;
import dev.kiln.spec.ResolvedSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A decoder that "generates" a fixed script per sequence: the logits of its k-th output put all
 * weight on {@code script[k]}. It checks its input as a real decoder does (so it fails on a feed
 * past the context) and records every call.
 */
final class ScriptedDecoder implements Decoder {
  private final ResolvedSpec spec;
  private final int[][] scripts;
  private int[] lengths = new int[0];
  private int[] outputs = new int[0];
  final List<String> calls = new ArrayList<>();

  ScriptedDecoder(ResolvedSpec spec, int[]... scripts) {
    this.spec = spec;
    this.scripts = scripts;
  }

  private float[] next(int sequence) {
    float[] logits = new float[spec.vocabSize()];
    Arrays.fill(logits, -10f);
    int[] script = scripts[sequence];
    logits[script[Math.min(outputs[sequence]++, script.length - 1)]] = 10f;
    return logits;
  }

  @Override
  public ResolvedSpec spec() {
    return spec;
  }

  @Override
  public float[][] prefill(int[][] prompts) {
    DecoderInputs.checkChunks(spec, prompts, 0, null);
    DecoderInputs.checkNonEmpty(prompts);
    calls.add("prefill" + Arrays.deepToString(prompts));
    lengths = new int[prompts.length];
    outputs = new int[prompts.length];
    float[][] logits = new float[prompts.length][];
    for (int s = 0; s < prompts.length; s++) {
      lengths[s] = prompts[s].length;
      logits[s] = next(s);
    }
    return logits;
  }

  @Override
  public float[][] step(int[] tokens) {
    int[][] chunks = new int[tokens.length][];
    for (int s = 0; s < tokens.length; s++) {
      chunks[s] = new int[] {tokens[s]};
    }
    DecoderInputs.checkChunks(spec, chunks, lengths.length, s -> lengths[s]);
    calls.add("step" + Arrays.toString(tokens));
    float[][] logits = new float[tokens.length][];
    for (int s = 0; s < tokens.length; s++) {
      lengths[s]++;
      logits[s] = next(s);
    }
    return logits;
  }

  @Override
  public float[][][] append(int[][] chunks) {
    DecoderInputs.checkChunks(spec, chunks, lengths.length, s -> lengths[s]);
    calls.add("append" + Arrays.deepToString(chunks));
    float[][][] logits = new float[chunks.length][][];
    for (int s = 0; s < chunks.length; s++) {
      logits[s] = new float[chunks[s].length][];
      for (int i = 0; i < chunks[s].length; i++) {
        lengths[s]++;
        logits[s][i] = next(s);
      }
    }
    return logits;
  }

  @Override
  public float[][][] forwardNoCache(int[][] sequences) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void truncate(int sequence, int length) {
    throw new UnsupportedOperationException("a scripted decoder does not go back");
  }

  @Override
  public void reset() {
    lengths = new int[0];
  }

  @Override
  public int batchSize() {
    return lengths.length;
  }

  @Override
  public int length(int sequence) {
    return lengths[sequence];
  }

  @Override
  public long kvCacheBytes() {
    return 0;
  }
}
