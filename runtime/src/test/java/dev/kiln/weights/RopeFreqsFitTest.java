package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.RopeScaling;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.spec.SpecElement;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * llama3 RoPE scaling recovered from the per-frequency divisors llama.cpp writes as {@code
 * rope_freqs}.
 */
class RopeFreqsFitTest {
  /**
   * The divisors a llama.cpp converter writes for a spec: each unscaled frequency over the scaled
   * one, as float32.
   */
  static float[] divisors(ResolvedSpec spec) {
    double[] scaled = spec.ropeInverseFrequencies();
    float[] out = new float[scaled.length];
    for (int i = 0; i < scaled.length; i++) {
      out[i] = (float) (Math.pow(spec.ropeTheta(), -2.0 * i / spec.headDim()) / scaled[i]);
    }
    return out;
  }

  static ResolvedSpec llama3(
      int headDim, double theta, double factor, double low, double high, int original) {
    return ResolvedSpec.builder()
        .vocabSize(10)
        .hiddenSize(headDim * 2)
        .intermediateSize(8)
        .numHiddenLayers(1)
        .numAttentionHeads(2)
        .ropeTheta(theta)
        .ropeScaling(RopeScaling.LLAMA3)
        .ropeScalingFactor(factor)
        .ropeScalingLowFreqFactor(low)
        .ropeScalingHighFreqFactor(high)
        .ropeScalingOriginalMaxPositionEmbeddings(original)
        .build();
  }

  @Test
  void recoversLlama31AndLlama32Parameters() {
    for (ResolvedSpec spec :
        new ResolvedSpec[] {
          llama3(128, 500000.0, 8.0, 1.0, 4.0, 8192), // Llama 3.1 8B
          llama3(64, 500000.0, 32.0, 1.0, 4.0, 8192), // Llama 3.2 1B
          llama3(64, 500000.0, 8.0, 1.0, 4.0, 32)
        }) { // the shared llama3rope conformance model
      Map<SpecElement, Object> fitted =
          RopeFreqsFit.fit(divisors(spec), spec.ropeTheta(), spec.headDim());
      assertThat(fitted)
          .containsExactly(
              SpecElement.ROPE_SCALING, RopeScaling.LLAMA3,
              SpecElement.ROPE_SCALING_FACTOR, spec.ropeScalingFactor(),
              SpecElement.ROPE_SCALING_LOW_FREQ_FACTOR, 1.0,
              SpecElement.ROPE_SCALING_HIGH_FREQ_FACTOR, spec.ropeScalingHighFreqFactor(),
              SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS,
                  spec.ropeScalingOriginalMaxPositionEmbeddings());
    }
  }

  /**
   * Only orig/low and orig/high act on the frequencies: another low factor gives equal frequencies,
   * read as low = 1.
   */
  @Test
  void anEquivalentParameterSetGivesTheSameFrequencies() {
    ResolvedSpec written = llama3(128, 500000.0, 8.0, 2.0, 8.0, 16384);
    Map<SpecElement, Object> fitted =
        RopeFreqsFit.fit(divisors(written), written.ropeTheta(), written.headDim());
    ResolvedSpec read =
        written.toBuilder()
            .ropeScalingLowFreqFactor((Double) fitted.get(SpecElement.ROPE_SCALING_LOW_FREQ_FACTOR))
            .ropeScalingHighFreqFactor(
                (Double) fitted.get(SpecElement.ROPE_SCALING_HIGH_FREQ_FACTOR))
            .ropeScalingOriginalMaxPositionEmbeddings(
                (Integer) fitted.get(SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS))
            .build();
    assertThat(fitted.get(SpecElement.ROPE_SCALING_ORIGINAL_MAX_POSITION_EMBEDDINGS))
        .isEqualTo(8192);
    double[] expected = written.ropeInverseFrequencies();
    double[] actual = read.ropeInverseFrequencies();
    for (int i = 0; i < expected.length; i++) {
      assertThat(actual[i]).isWithin(1e-9 * expected[i]).of(expected[i]);
    }
  }

  @Test
  void onesAreNoScalingAndEqualDivisorsAreLinear() {
    assertThat(RopeFreqsFit.fit(new float[] {1f, 1f, 1f, 1f}, 10000.0, 8)).isEmpty();
    assertThat(RopeFreqsFit.fit(new float[] {4f, 4f, 4f, 4f}, 10000.0, 8))
        .containsExactly(
            SpecElement.ROPE_SCALING, RopeScaling.LINEAR, SpecElement.ROPE_SCALING_FACTOR, 4.0);
  }

  @Test
  void divisorsOfNoLlama3ScalingAreRefused() {
    float[] divisors = divisors(llama3(128, 500000.0, 8.0, 1.0, 4.0, 8192));
    divisors[20] *= 1.01f; // one interpolated value off the curve
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> RopeFreqsFit.fit(divisors, 500000.0, 128));
    assertThat(e).hasMessageThat().contains("do not follow llama3 scaling");

    var fewPoints =
        assertThrows(
            IllegalArgumentException.class,
            () -> RopeFreqsFit.fit(new float[] {1f, 1f, 2.5f, 8f, 8f}, 10000.0, 10));
    assertThat(fewPoints).hasMessageThat().contains("1 value between 1 and the factor");

    var below =
        assertThrows(
            IllegalArgumentException.class,
            () -> RopeFreqsFit.fit(new float[] {1f, 0.5f}, 10000.0, 4));
    assertThat(below).hasMessageThat().contains("divisor 0.5 is not a finite number of at least 1");
    var nan =
        assertThrows(
            IllegalArgumentException.class,
            () -> RopeFreqsFit.fit(new float[] {1f, Float.NaN}, 10000.0, 4));
    assertThat(nan).hasMessageThat().contains("divisor NaN");
  }
}
