package dev.kiln.spec;

import dev.kiln.Activation;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.RopeScaling;
import dev.kiln.ScoreNormalization;
import dev.kiln.SlidingWindowLayers;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The values of a spec as written, before validation: {@code numKeyValueHeads} and {@code headDim}
 * may still be 0 ("use the default"), and anything may be out of range. {@link SpecRules} checks a
 * draft; {@link #resolve()} turns a valid one into a {@link ResolvedSpec}.
 *
 * <p>A draft holds one value per {@link SpecElement}, set by element ({@link #read}, or {@link
 * ResolvedSpec.Builder}), never by position; the accessors are named after the elements.
 */
public final class SpecDraft {
  private final Map<SpecElement, Object> values;

  private SpecDraft(Map<SpecElement, Object> values) {
    this.values = values;
  }

  /**
   * Reads a draft element by element, e.g. from an annotation; the reader returns boxed values and
   * enum constants.
   */
  public interface ElementReader {
    Object read(SpecElement element);
  }

  /**
   * The draft with the value {@code reader} gives for each element; throws {@link
   * IllegalArgumentException} for a value that is not of its element's type.
   */
  public static SpecDraft read(ElementReader reader) {
    Map<SpecElement, Object> values = new EnumMap<>(SpecElement.class);
    for (SpecElement element : SpecElement.values()) {
      Object value = reader.read(element);
      if (!element.accepts(value)) {
        throw new IllegalArgumentException(
            element.elementName()
                + " takes a "
                + element.valueType().getSimpleName()
                + ", not "
                + value);
      }
      values.put(element, value);
    }
    return new SpecDraft(Collections.unmodifiableMap(values));
  }

  /** The value of one element, boxed (the inverse of {@link #read}). */
  public Object value(SpecElement element) {
    return values.get(element);
  }

  public int vocabSize() {
    return (Integer) values.get(SpecElement.VOCAB_SIZE);
  }

  public int hiddenSize() {
    return (Integer) values.get(SpecElement.HIDDEN_SIZE);
  }

  public int intermediateSize() {
    return (Integer) values.get(SpecElement.INTERMEDIATE_SIZE);
  }

  public int numHiddenLayers() {
    return (Integer) values.get(SpecElement.NUM_HIDDEN_LAYERS);
  }

  public int numAttentionHeads() {
    return (Integer) values.get(SpecElement.NUM_ATTENTION_HEADS);
  }

  public int numKeyValueHeads() {
    return (Integer) values.get(SpecElement.NUM_KEY_VALUE_HEADS);
  }

  public int headDim() {
    return (Integer) values.get(SpecElement.HEAD_DIM);
  }

  public int maxPositionEmbeddings() {
    return (Integer) values.get(SpecElement.MAX_POSITION_EMBEDDINGS);
  }

  public double ropeTheta() {
    return (Double) values.get(SpecElement.ROPE_THETA);
  }

  public double rmsNormEps() {
    return (Double) values.get(SpecElement.RMS_NORM_EPS);
  }

  public boolean tieWordEmbeddings() {
    return (Boolean) values.get(SpecElement.TIE_WORD_EMBEDDINGS);
  }

  public boolean attentionBias() {
    return (Boolean) values.get(SpecElement.ATTENTION_BIAS);
  }

  public boolean mlpBias() {
    return (Boolean) values.get(SpecElement.MLP_BIAS);
  }

  public boolean lmHeadBias() {
    return (Boolean) values.get(SpecElement.LM_HEAD_BIAS);
  }

  public boolean attentionOutputProjection() {
    return (Boolean) values.get(SpecElement.ATTENTION_OUTPUT_PROJECTION);
  }

  public boolean residualConnections() {
    return (Boolean) values.get(SpecElement.RESIDUAL_CONNECTIONS);
  }

  public NormKind norm() {
    return (NormKind) values.get(SpecElement.NORM);
  }

  public MlpKind mlp() {
    return (MlpKind) values.get(SpecElement.MLP);
  }

  public PositionEncoding positionEncoding() {
    return (PositionEncoding) values.get(SpecElement.POSITION_ENCODING);
  }

  public ScoreNormalization scoreNormalization() {
    return (ScoreNormalization) values.get(SpecElement.SCORE_NORMALIZATION);
  }

  public boolean causalMask() {
    return (Boolean) values.get(SpecElement.CAUSAL_MASK);
  }

  public RopeScaling ropeScaling() {
    return (RopeScaling) values.get(SpecElement.ROPE_SCALING);
  }

  public double ropeScalingFactor() {
    return (Double) values.get(SpecElement.ROPE_SCALING_FACTOR);
  }

  public double ropeScalingLowFreqFactor() {
    return (Double) values.get(SpecElement.ROPE_SCALING_LOW_FREQ_FACTOR);
  }

  public double ropeScalingHighFreqFactor() {
    return (Double) values.get(SpecElement.ROPE_SCALING_HIGH_FREQ_FACTOR);
  }

  public int ropeScalingOriginalMaxPositionEmbeddings() {
    return (Integer) values.get(SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS);
  }

  public boolean qkvBias() {
    return (Boolean) values.get(SpecElement.QKV_BIAS);
  }

  public boolean qkNorm() {
    return (Boolean) values.get(SpecElement.QK_NORM);
  }

  public boolean rmsNormUnitOffset() {
    return (Boolean) values.get(SpecElement.RMS_NORM_UNIT_OFFSET);
  }

  public boolean scaleEmbeddings() {
    return (Boolean) values.get(SpecElement.SCALE_EMBEDDINGS);
  }

  public boolean sandwichNorms() {
    return (Boolean) values.get(SpecElement.SANDWICH_NORMS);
  }

  public Activation hiddenAct() {
    return (Activation) values.get(SpecElement.HIDDEN_ACT);
  }

  public double queryPreAttnScalar() {
    return (Double) values.get(SpecElement.QUERY_PRE_ATTN_SCALAR);
  }

  public double attnLogitSoftcapping() {
    return (Double) values.get(SpecElement.ATTN_LOGIT_SOFTCAPPING);
  }

  public double finalLogitSoftcapping() {
    return (Double) values.get(SpecElement.FINAL_LOGIT_SOFTCAPPING);
  }

  public int slidingWindow() {
    return (Integer) values.get(SpecElement.SLIDING_WINDOW);
  }

  public SlidingWindowLayers slidingWindowLayers() {
    return (SlidingWindowLayers) values.get(SpecElement.SLIDING_WINDOW_LAYERS);
  }

  public int maxBatchSize() {
    return (Integer) values.get(SpecElement.MAX_BATCH_SIZE);
  }

  public long maxKvCacheBytes() {
    return (Long) values.get(SpecElement.MAX_KV_CACHE_BYTES);
  }

  /** {@code numKeyValueHeads}, with 0 meaning {@code numAttentionHeads}. */
  public int effectiveNumKeyValueHeads() {
    return numKeyValueHeads() == 0 ? numAttentionHeads() : numKeyValueHeads();
  }

  /**
   * {@code headDim}, with 0 meaning {@code hiddenSize / numAttentionHeads}; -1 when that is not a
   * whole number.
   */
  public int effectiveHeadDim() {
    if (headDim() != 0) {
      return headDim();
    }
    if (numAttentionHeads() <= 0 || hiddenSize() % numAttentionHeads() != 0) {
      return -1;
    }
    return hiddenSize() / numAttentionHeads();
  }

  /**
   * The spec this draft describes, the defaults that 0 stands for filled in; throws {@link
   * InvalidSpecException} listing every problem.
   */
  public ResolvedSpec resolve() {
    var problems = SpecRules.check(this);
    if (!problems.isEmpty()) {
      throw new InvalidSpecException(problems);
    }
    Map<SpecElement, Object> resolved = new EnumMap<>(values);
    resolved.put(SpecElement.NUM_KEY_VALUE_HEADS, effectiveNumKeyValueHeads());
    resolved.put(SpecElement.HEAD_DIM, effectiveHeadDim());
    if (queryPreAttnScalar() == 0.0) {
      resolved.put(SpecElement.QUERY_PRE_ATTN_SCALAR, (double) effectiveHeadDim());
    }
    return ResolvedSpec.of(read(resolved::get));
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof SpecDraft draft && values.equals(draft.values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  /** {@code SpecDraft[vocabSize=10, hiddenSize=8, ...]}, every element in the table's order. */
  @Override
  public String toString() {
    return describe("SpecDraft");
  }

  String describe(String name) {
    List<String> parts = new ArrayList<>();
    values.forEach((element, value) -> parts.add(element.elementName() + "=" + value));
    return name + "[" + String.join(", ", parts) + "]";
  }
}
