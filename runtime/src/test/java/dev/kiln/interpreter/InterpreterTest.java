package dev.kiln.interpreter;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.ContextOverflowException;
import dev.kiln.InvalidInputException;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.ScoreNormalization;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.InMemorySource;
import dev.kiln.weights.TensorInfo;
import dev.kiln.weights.WeightLayout;
import dev.kiln.weights.Weights;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The reference interpreter on models small enough to work out by hand: each test sets the weights
 * so that one operation (RMSNorm, RoPE, softmax attention, SwiGLU, the toy's raw scores) decides
 * the logits, and computes the expected logits from the operation's definition.
 */
class InterpreterTest {
  private static final String EMBED = "model.embed_tokens.weight";
  private static final String NORM = "model.norm.weight";
  private static final String LM_HEAD = "lm_head.weight";
  private static final String LM_HEAD_BIAS = "lm_head.bias";
  private static final double SQRT2 = Math.sqrt(2);

  private static String layer0(String suffix) {
    return "model.layers.0." + suffix;
  }

  /**
   * Weights from (name, values) pairs; shapes come from the layout, and every tensor must be given.
   */
  private static Weights weights(ResolvedSpec spec, Object... namesAndValues) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (TensorInfo info : WeightLayout.of(spec)) {
      shapes.put(info.name(), info.shape());
    }
    InMemorySource source = new InMemorySource();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      String name = (String) namesAndValues[i];
      if (!shapes.containsKey(name)) {
        throw new IllegalArgumentException(
            "the spec has no tensor " + name + "; it has " + shapes.keySet());
      }
      source.put(name, shapes.get(name), (float[]) namesAndValues[i + 1]);
    }
    return Weights.from(spec, source);
  }

  private static float[] eye(int n) {
    float[] m = new float[n * n];
    for (int i = 0; i < n; i++) {
      m[i * n + i] = 1;
    }
    return m;
  }

  private static float[] zeros(int n) {
    return new float[n];
  }

  private static float[] filled(int n, float value) {
    float[] a = new float[n];
    Arrays.fill(a, value);
    return a;
  }

  private static float[] f(double... values) {
    float[] a = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      a[i] = (float) values[i];
    }
    return a;
  }

  private static void assertLogits(String what, float[] actual, double... expected) {
    assertWithMessage("%s: number of logits", what).that(actual).hasLength(expected.length);
    for (int i = 0; i < expected.length; i++) {
      assertWithMessage("%s: logit %s of %s", what, i, Arrays.toString(actual))
          .that((double) actual[i])
          .isWithin(1e-6 * Math.max(1, Math.abs(expected[i])))
          .of(expected[i]);
    }
  }

  private static ResolvedSpec.Builder oneLayer(int vocab, int hidden, int heads) {
    return ResolvedSpec.builder()
        .vocabSize(vocab)
        .hiddenSize(hidden)
        .numHiddenLayers(1)
        .numAttentionHeads(heads)
        .maxPositionEmbeddings(16);
  }

  // --- RMSNorm --------------------------------------------------------------------------------

  @Test
  void finalRmsNorm() {
    // Attention adds nothing (o_proj = 0, residual on), no MLP, identity LM head: logits =
    // norm(embedding).
    double eps = 1e-5;
    ResolvedSpec spec =
        oneLayer(4, 4, 1)
            .rmsNormEps(eps)
            .mlp(MlpKind.NONE)
            .positionEncoding(PositionEncoding.NONE)
            .build();
    Weights weights =
        weights(
            spec,
            EMBED,
            f(
                -2, 0, 0, 0, /* token 1 */ 9, 9, 9, 9, /* token 2 */ 1, 2, 3, 4, /* token 3 */ 0, 0,
                0, 0),
            layer0("input_layernorm.weight"),
            filled(4, 1),
            layer0("self_attn.q_proj.weight"),
            eye(4),
            layer0("self_attn.k_proj.weight"),
            eye(4),
            layer0("self_attn.v_proj.weight"),
            eye(4),
            layer0("self_attn.o_proj.weight"),
            zeros(16),
            NORM,
            f(0.5, 1, 1.5, 2),
            LM_HEAD,
            eye(4));
    float[][][] logits = new Interpreter(weights).forwardNoCache(new int[][] {{2, 0, 3}});
    // mean of squares of (1, 2, 3, 4) = 30 / 4 = 7.5
    double scale = 1 / Math.sqrt(7.5 + eps);
    assertLogits(
        "token 2", logits[0][0], 1 * scale * 0.5, 2 * scale * 1, 3 * scale * 1.5, 4 * scale * 2);
    // (-2, 0, 0, 0): mean of squares 1
    assertLogits("token 0", logits[0][1], -2 / Math.sqrt(1 + eps) * 0.5, 0, 0, 0);
    // All zeros stays zero (eps keeps the division finite).
    assertLogits("token 3", logits[0][2], 0, 0, 0, 0);
  }

  @Test
  void inputNormFeedsTheProjections() {
    // One position, no residual, no output projection: the attention output is v = norm(x) x gain.
    double eps = 1e-6;
    ResolvedSpec spec =
        oneLayer(1, 2, 1)
            .rmsNormEps(eps)
            .mlp(MlpKind.NONE)
            .positionEncoding(PositionEncoding.NONE)
            .attentionOutputProjection(false)
            .residualConnections(false)
            .build();
    Weights weights =
        weights(
            spec,
            EMBED,
            f(3, 4),
            layer0("input_layernorm.weight"),
            f(2, 3),
            layer0("self_attn.q_proj.weight"),
            eye(2),
            layer0("self_attn.k_proj.weight"),
            eye(2),
            layer0("self_attn.v_proj.weight"),
            eye(2),
            NORM,
            f(1, 1),
            LM_HEAD,
            f(1, 0));
    double rms = Math.sqrt((9 + 16) / 2.0 + eps);
    double h0 = 3 / rms * 2;
    double h1 = 4 / rms * 3;
    double expected = h0 / Math.sqrt((h0 * h0 + h1 * h1) / 2 + eps);
    assertLogits("normed twice", new Interpreter(weights).prefill(new int[][] {{0}})[0], expected);
  }

  // --- RoPE -----------------------------------------------------------------------------------

  /**
   * One head of 4 with theta 100: pair (0, 2) turns by 1 radian per position, pair (1, 3) by
   * 100^(-1/2) = 0.1. q = k = the embedding, v = (1, 0, 0, 0) from the bias, raw scores (no
   * softmax), identity LM head: logit 0 at position p is sum over t <= p of q_p . k_t / 2.
   */
  private static Weights ropeModel() {
    ResolvedSpec spec =
        oneLayer(4, 4, 1)
            .maxBatchSize(4)
            .ropeTheta(100)
            .norm(NormKind.NONE)
            .mlp(MlpKind.NONE)
            .scoreNormalization(ScoreNormalization.NONE)
            .attentionBias(true)
            .attentionOutputProjection(false)
            .residualConnections(false)
            .build();
    return weights(
        spec,
        EMBED,
        eye(4), // token i is the unit vector e_i
        layer0("self_attn.q_proj.weight"),
        eye(4),
        layer0("self_attn.q_proj.bias"),
        zeros(4),
        layer0("self_attn.k_proj.weight"),
        eye(4),
        layer0("self_attn.k_proj.bias"),
        zeros(4),
        layer0("self_attn.v_proj.weight"),
        zeros(16),
        layer0("self_attn.v_proj.bias"),
        f(1, 0, 0, 0),
        LM_HEAD,
        eye(4));
  }

  @Test
  void ropeRotatesTheHalvesOfTheHead() {
    Interpreter interpreter = new Interpreter(ropeModel());
    // Position 0 is not rotated: e2 . e2 / 2.
    float[][][] logits =
        interpreter.forwardNoCache(new int[][] {{2, 0}, {3, 1}, {2, 1, 0}, {0, 2}});
    assertLogits("position 0", logits[0][0], 0.5, 0, 0, 0);
    // Position 1, e0 rotated by 1 rad within the pair (0, 2): (cos 1, 0, sin 1, 0); against k_0 =
    // e2
    // that is sin 1 (rotate-half: x0' = x0 cos - x2 sin, x2' = x2 cos + x0 sin), against itself 1.
    assertLogits("e0 at 1 after e2", logits[0][1], (Math.sin(1) + 1) / 2, 0, 0, 0);
    // e1 turns within the pair (1, 3) by theta^(-2/4) = 0.1 rad.
    assertLogits("e1 at 1 after e3", logits[1][1], (Math.sin(0.1) + 1) / 2, 0, 0, 0);
    // Position 2: e0 turned by 2 rad against e2 (sin 2), against e1 turned by 0.1 (orthogonal),
    // itself.
    assertLogits("e0 at 2", logits[2][2], (Math.sin(2) + 0 + 1) / 2, 0, 0, 0);
    // The second half turns the other way: e2 at position 1 is (-sin 1, 0, cos 1, 0); against k_0 =
    // e0, -sin 1.
    assertLogits("e2 at 1 after e0", logits[3][1], (-Math.sin(1) + 1) / 2, 0, 0, 0);
  }

  @Test
  void ropeRotatesEveryQueryAndKeyHeadWithGqa() {
    // Two query heads of 4 share one KV head. Token 0 puts e0 in both query heads' slots; token 1
    // puts e2 into the key/value head. Head h's output lands in slots 4h..4h+3; the LM head reads
    // slots 0 and 4.
    ResolvedSpec spec =
        oneLayer(2, 8, 2)
            .numKeyValueHeads(1)
            .ropeTheta(100)
            .norm(NormKind.NONE)
            .mlp(MlpKind.NONE)
            .scoreNormalization(ScoreNormalization.NONE)
            .attentionBias(true)
            .attentionOutputProjection(false)
            .residualConnections(false)
            .build();
    float[] kProj = new float[4 * 8]; // k = first four embedding slots
    for (int i = 0; i < 4; i++) {
      kProj[i * 8 + i] = 1;
    }
    Weights weights =
        weights(
            spec,
            EMBED,
            f(1, 0, 0, 0, 1, 0, 0, 0, /* token 1 */ 0, 0, 1, 0, 0, 0, 0, 0),
            layer0("self_attn.q_proj.weight"),
            eye(8),
            layer0("self_attn.q_proj.bias"),
            zeros(8),
            layer0("self_attn.k_proj.weight"),
            kProj,
            layer0("self_attn.k_proj.bias"),
            zeros(4),
            layer0("self_attn.v_proj.weight"),
            zeros(32),
            layer0("self_attn.v_proj.bias"),
            f(1, 0, 0, 0),
            LM_HEAD,
            f(1, 0, 0, 0, 0, 0, 0, 0, /* row 1 */ 0, 0, 0, 0, 1, 0, 0, 0));
    float[] last = new Interpreter(weights).forwardNoCache(new int[][] {{1, 0}})[0][1];
    // Head 0: q = R(1) e0 = (cos 1, 0, sin 1, 0); keys e2 (position 0) and R(1) e0 (position 1).
    double head0 = (Math.sin(1) + 1) / 2;
    // Head 1: its q slots hold e0 as well and it reads the same (only) KV head.
    assertLogits("both heads", last, head0, head0);
  }

  @Test
  void queryHeadsShareKvHeadsInConsecutiveGroups() {
    // 4 query heads of 2, 2 KV heads: heads 0 and 1 read KV head 0, heads 2 and 3 read KV head 1
    // (as
    // Hugging Face's repeat_kv). k and v come from the biases: k = (1, 0 | 0, 1), v = (10, 0 | 20,
    // 0).
    // Query heads hold (1, 0), (1, 0), (0, 1), (0, 1): each matches its own KV head's key with
    // score
    // 1/sqrt2 and would score 0 against the other. The LM head reads each head's first slot.
    ResolvedSpec spec =
        oneLayer(4, 8, 4)
            .numKeyValueHeads(2)
            .norm(NormKind.NONE)
            .mlp(MlpKind.NONE)
            .positionEncoding(PositionEncoding.NONE)
            .scoreNormalization(ScoreNormalization.NONE)
            .attentionBias(true)
            .attentionOutputProjection(false)
            .residualConnections(false)
            .build();
    float[] embed = new float[4 * 8];
    System.arraycopy(f(1, 0, 1, 0, 0, 1, 0, 1), 0, embed, 0, 8);
    float[] lmHead = new float[4 * 8];
    for (int h = 0; h < 4; h++) {
      lmHead[h * 8 + 2 * h] = 1;
    }
    Weights weights =
        weights(
            spec,
            EMBED,
            embed,
            layer0("self_attn.q_proj.weight"),
            eye(8),
            layer0("self_attn.q_proj.bias"),
            zeros(8),
            layer0("self_attn.k_proj.weight"),
            zeros(32),
            layer0("self_attn.k_proj.bias"),
            f(1, 0, 0, 1),
            layer0("self_attn.v_proj.weight"),
            zeros(32),
            layer0("self_attn.v_proj.bias"),
            f(10, 0, 20, 0),
            LM_HEAD,
            lmHead);
    float[] logits = new Interpreter(weights).prefill(new int[][] {{0}})[0];
    assertLogits("heads 0..3", logits, 10 / SQRT2, 10 / SQRT2, 20 / SQRT2, 20 / SQRT2);
  }

  // --- softmax attention ----------------------------------------------------------------------

  /**
   * hidden 2, one head, q = k = v = embedding, no position encoding; LM head rows e0, e1, (1, 1).
   */
  private static Weights attentionModel(boolean causal, ScoreNormalization scores) {
    ResolvedSpec spec =
        oneLayer(3, 2, 1)
            .norm(NormKind.NONE)
            .mlp(MlpKind.NONE)
            .positionEncoding(PositionEncoding.NONE)
            .scoreNormalization(scores)
            .causalMask(causal)
            .attentionOutputProjection(false)
            .residualConnections(false)
            .build();
    return weights(
        spec,
        EMBED,
        f(1, 0, /* token 1 */ 0, 2, /* token 2 */ 0, 0),
        layer0("self_attn.q_proj.weight"),
        eye(2),
        layer0("self_attn.k_proj.weight"),
        eye(2),
        layer0("self_attn.v_proj.weight"),
        eye(2),
        LM_HEAD,
        f(1, 0, 0, 1, 1, 1));
  }

  @Test
  void causalSoftmaxAttentionOverTwoPositions() {
    float[][] logits =
        new Interpreter(attentionModel(true, ScoreNormalization.SOFTMAX))
            .forwardNoCache(new int[][] {{0, 1}})[0];
    // Position 0 attends only to itself: softmax of one score is 1, output v0 = (1, 0).
    assertLogits("position 0", logits[0], 1, 0, 1);
    // Position 1: q = (0, 2); scores k0.q/sqrt2 = 0 and k1.q/sqrt2 = 4/sqrt2.
    double e0 = Math.exp(0);
    double e1 = Math.exp(4 / SQRT2);
    double w0 = e0 / (e0 + e1);
    double w1 = e1 / (e0 + e1);
    // Output w0 (1, 0) + w1 (0, 2).
    assertLogits("position 1", logits[1], w0, 2 * w1, w0 + 2 * w1);
  }

  @Test
  void withoutACausalMaskEarlierPositionsSeeLaterOnes() {
    float[][] logits =
        new Interpreter(attentionModel(false, ScoreNormalization.SOFTMAX))
            .forwardNoCache(new int[][] {{0, 1}})[0];
    // Position 0: q = (1, 0); scores 1/sqrt2 (itself) and 0 (position 1).
    double a = Math.exp(1 / SQRT2);
    double b = Math.exp(0);
    assertLogits(
        "position 0", logits[0], a / (a + b), 2 * b / (a + b), a / (a + b) + 2 * b / (a + b));
  }

  @Test
  void softmaxIsStableForLargeScores() {
    // Position 1 scores 1000/sqrt2 (position 0) and 10^6/sqrt2 (itself): exp() of either overflows
    // unless the maximum is subtracted first; the weights are (0, 1) to double precision.
    ResolvedSpec spec =
        oneLayer(2, 2, 1)
            .norm(NormKind.NONE)
            .mlp(MlpKind.NONE)
            .positionEncoding(PositionEncoding.NONE)
            .attentionOutputProjection(false)
            .residualConnections(false)
            .build();
    Weights weights =
        weights(
            spec,
            EMBED,
            f(0, 1, /* token 1 */ 0, 1000),
            layer0("self_attn.q_proj.weight"),
            eye(2),
            layer0("self_attn.k_proj.weight"),
            eye(2),
            layer0("self_attn.v_proj.weight"),
            eye(2),
            LM_HEAD,
            eye(2));
    float[] last = new Interpreter(weights).forwardNoCache(new int[][] {{0, 1}})[0][1];
    assertLogits("position 1", last, 0, 1000);
  }

  // --- SwiGLU ---------------------------------------------------------------------------------

  /** gate, up (3 x 2), down (2 x 3) used by the MLP tests. */
  private static final float[] GATE = f(1, 0, 0, 1, 1, 1);

  private static final float[] UP = f(2, 0, 0, 1, 1, -1);
  private static final float[] DOWN = f(1, 0, 1, 0, 1, -1);

  private static double silu(double x) {
    return x / (1 + Math.exp(-x));
  }

  /** down(silu(gate h) * up h) for the matrices above, written out. */
  private static double[] mlp(double h0, double h1) {
    double g0 = h0;
    double g1 = h1;
    double g2 = h0 + h1;
    double u0 = 2 * h0;
    double u1 = h1;
    double u2 = h0 - h1;
    double a0 = silu(g0) * u0;
    double a1 = silu(g1) * u1;
    double a2 = silu(g2) * u2;
    return new double[] {a0 + a2, a1 - a2};
  }

  @Test
  void swiglu() {
    // Attention adds nothing (o_proj = 0); x = embedding; logits = x + mlp(x).
    ResolvedSpec spec =
        oneLayer(2, 2, 1)
            .intermediateSize(3)
            .norm(NormKind.NONE)
            .positionEncoding(PositionEncoding.NONE)
            .build();
    Weights weights =
        weights(
            spec,
            EMBED,
            f(1, -2, /* token 1, unused */ 5, 5),
            layer0("self_attn.q_proj.weight"),
            eye(2),
            layer0("self_attn.k_proj.weight"),
            eye(2),
            layer0("self_attn.v_proj.weight"),
            eye(2),
            layer0("self_attn.o_proj.weight"),
            zeros(4),
            layer0("mlp.gate_proj.weight"),
            GATE,
            layer0("mlp.up_proj.weight"),
            UP,
            layer0("mlp.down_proj.weight"),
            DOWN,
            LM_HEAD,
            eye(2));
    // gate x = (1, -2, -1), up x = (2, -2, 3):
    // silu(1) * 2 = 2 / (1 + e^-1), silu(-2) * -2 = 4 / (1 + e^2), silu(-1) * 3 = -3 / (1 + e)
    double a0 = 2 / (1 + Math.exp(-1));
    double a1 = 4 / (1 + Math.exp(2));
    double a2 = -3 / (1 + Math.exp(1));
    float[] logits = new Interpreter(weights).prefill(new int[][] {{0}})[0];
    assertLogits("x + down(silu(gate x) * up x)", logits, 1 + a0 + a2, -2 + a1 - a2);
  }

  @Test
  void swigluReadsThePostAttentionNorm() {
    double eps = 1e-6;
    ResolvedSpec spec =
        oneLayer(2, 2, 1)
            .intermediateSize(3)
            .rmsNormEps(eps)
            .positionEncoding(PositionEncoding.NONE)
            .build();
    Weights weights =
        weights(
            spec,
            EMBED,
            f(3, -1, /* token 1, unused */ 5, 5),
            layer0("input_layernorm.weight"),
            f(1, 1),
            layer0("self_attn.q_proj.weight"),
            eye(2),
            layer0("self_attn.k_proj.weight"),
            eye(2),
            layer0("self_attn.v_proj.weight"),
            eye(2),
            layer0("self_attn.o_proj.weight"),
            zeros(4),
            layer0("post_attention_layernorm.weight"),
            f(0.5, 2),
            layer0("mlp.gate_proj.weight"),
            GATE,
            layer0("mlp.up_proj.weight"),
            UP,
            layer0("mlp.down_proj.weight"),
            DOWN,
            NORM,
            f(1, 1),
            LM_HEAD,
            eye(2));
    double rms = Math.sqrt((9 + 1) / 2.0 + eps);
    double[] m = mlp(3 / rms * 0.5, -1 / rms * 2);
    double x0 = 3 + m[0];
    double x1 = -1 + m[1];
    double out = Math.sqrt((x0 * x0 + x1 * x1) / 2 + eps);
    assertLogits(
        "norm(x + mlp(norm(x)))",
        new Interpreter(weights).prefill(new int[][] {{0}})[0],
        x0 / out,
        x1 / out);
  }

  // --- the seed's toy: one head, raw scores, no mask ------------------------------------------

  /**
   * The toy with 2-wide hidden: biases on q, v and the LM head; no norm, MLP, RoPE, softmax, mask
   * or residual.
   */
  private static Weights toy() {
    ResolvedSpec spec =
        ResolvedSpec.builder()
            .vocabSize(3)
            .hiddenSize(2)
            .numHiddenLayers(1)
            .numAttentionHeads(1)
            .maxPositionEmbeddings(8)
            .maxBatchSize(2)
            .norm(NormKind.NONE)
            .mlp(MlpKind.NONE)
            .positionEncoding(PositionEncoding.NONE)
            .scoreNormalization(ScoreNormalization.NONE)
            .causalMask(false)
            .attentionBias(true)
            .attentionOutputProjection(false)
            .residualConnections(false)
            .lmHeadBias(true)
            .build();
    return weights(
        spec,
        EMBED,
        f(1, 0, /* token 1 */ 0, 1, /* token 2 */ 1, 1),
        layer0("self_attn.q_proj.weight"),
        eye(2),
        layer0("self_attn.q_proj.bias"),
        f(0, 0.5),
        layer0("self_attn.k_proj.weight"),
        f(2, 0, 0, 1),
        layer0("self_attn.k_proj.bias"),
        zeros(2),
        layer0("self_attn.v_proj.weight"),
        eye(2),
        layer0("self_attn.v_proj.bias"),
        f(1, 0),
        LM_HEAD,
        f(1, 0, 0, 1, 1, 1),
        LM_HEAD_BIAS,
        f(0, 0, 10));
  }

  @Test
  void toySumsRawScoresTimesValuesOverAllPositions() {
    float[][] logits = new Interpreter(toy()).forwardNoCache(new int[][] {{0, 1}})[0];
    // q0 = (1, 0.5), q1 = (0, 1.5); k0 = (2, 0), k1 = (0, 1); v0 = (2, 0), v1 = (1, 1).
    // Position 0 sees position 1 too (no mask): s00 = 2/sqrt2, s01 = 0.5/sqrt2.
    double o00 = 2 / SQRT2 * 2 + 0.5 / SQRT2 * 1;
    double o01 = 2 / SQRT2 * 0 + 0.5 / SQRT2 * 1;
    assertLogits("position 0", logits[0], o00, o01, o00 + o01 + 10);
    // Position 1: s10 = 0, s11 = 1.5/sqrt2.
    double o1 = 1.5 / SQRT2;
    assertLogits("position 1", logits[1], o1, o1, 2 * o1 + 10);
  }

  @Test
  void toyWithACacheSeesOnlyWhatIsCached() {
    Interpreter interpreter = new Interpreter(toy());
    // Prefill of token 0 alone: s00 = 2/sqrt2, output 2/sqrt2 x v0.
    assertLogits(
        "prefill", interpreter.prefill(new int[][] {{0}})[0], 4 / SQRT2, 0, 4 / SQRT2 + 10);
    // The step's position attends to everything cached: the same as the last position without a
    // cache.
    float[] step = interpreter.step(new int[] {1})[0];
    float[] noCache = interpreter.forwardNoCache(new int[][] {{0, 1}})[0][1];
    assertThat(step).isEqualTo(noCache);
    assertThat(interpreter.length(0)).isEqualTo(2);
  }

  // --- cache vs no cache, bookkeeping, errors ---------------------------------------------------

  private static ResolvedSpec llama() {
    return ResolvedSpec.builder()
        .vocabSize(50)
        .hiddenSize(32)
        .intermediateSize(48)
        .numHiddenLayers(2)
        .numAttentionHeads(4)
        .numKeyValueHeads(2)
        .maxPositionEmbeddings(24)
        .maxBatchSize(3)
        .attentionBias(true)
        .build();
  }

  @Test
  void cachedDecodingEqualsRecomputingEverything() {
    Weights weights = Weights.random(llama(), 77);
    int[] a = {3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 3};
    int[] b = {2, 7, 18, 28, 18, 28, 4};
    float[][][] full = new Interpreter(weights).forwardNoCache(new int[][] {a, b});

    Interpreter cached = new Interpreter(weights);
    float[][] first = cached.prefill(new int[][] {Arrays.copyOf(a, 4), Arrays.copyOf(b, 2)});
    assertThat(first[0]).isEqualTo(full[0][3]);
    assertThat(first[1]).isEqualTo(full[1][1]);
    // Uneven chunks, including an empty one.
    float[][][] chunk = cached.append(new int[][] {Arrays.copyOfRange(a, 4, 9), {}});
    for (int i = 0; i < 5; i++) {
      assertThat(chunk[0][i]).isEqualTo(full[0][4 + i]);
    }
    assertThat(chunk[1]).isEmpty();
    assertThat(cached.length(0)).isEqualTo(9);
    assertThat(cached.length(1)).isEqualTo(2);
    for (int p = 2; p < 5; p++) {
      float[][] step = cached.step(new int[] {a[p + 7], b[p]});
      assertThat(step[0]).isEqualTo(full[0][p + 7]);
      assertThat(step[1]).isEqualTo(full[1][p]);
    }
    float[][][] rest = cached.append(new int[][] {{}, Arrays.copyOfRange(b, 5, 7)});
    assertThat(rest[1][0]).isEqualTo(full[1][5]);
    assertThat(rest[1][1]).isEqualTo(full[1][6]);
    assertThat(cached.length(0)).isEqualTo(a.length);
    assertThat(cached.length(1)).isEqualTo(b.length);
  }

  @Test
  void sequencesOfABatchAreIndependent() {
    Weights weights = Weights.random(llama(), 78);
    int[] a = {1, 2, 3, 4, 5};
    int[] b = {49, 0};
    float[][][] together = new Interpreter(weights).forwardNoCache(new int[][] {a, b, a});
    float[][][] alone = new Interpreter(weights).forwardNoCache(new int[][] {b});
    assertThat(together[1][1]).isEqualTo(alone[0][1]);
    assertThat(together[0][4]).isEqualTo(together[2][4]);
  }

  @Test
  void appendOnAnEmptyCacheStartsABatchAndResetEmptiesIt() {
    Interpreter interpreter = new Interpreter(Weights.random(llama(), 79));
    assertThat(interpreter.batchSize()).isEqualTo(0);
    interpreter.append(new int[][] {{1, 2}, {3}});
    assertThat(interpreter.batchSize()).isEqualTo(2);
    assertThat(interpreter.length(1)).isEqualTo(1);
    interpreter.prefill(new int[][] {{4}});
    assertThat(interpreter.batchSize()).isEqualTo(1);
    assertThat(interpreter.length(0)).isEqualTo(1);
    interpreter.reset();
    assertThat(interpreter.batchSize()).isEqualTo(0);
    assertThat(interpreter.kvCacheBytes()).isEqualTo(2L * 2 * 3 * 24 * 16 * 4);
    // forwardNoCache neither uses nor changes the cache.
    interpreter.prefill(new int[][] {{4, 5}});
    interpreter.forwardNoCache(new int[][] {{1, 2, 3}, {4}});
    assertThat(interpreter.batchSize()).isEqualTo(1);
    assertThat(interpreter.length(0)).isEqualTo(2);
  }

  @Test
  void badInputLeavesTheCacheAsItWas() {
    Weights weights = Weights.random(llama(), 80);
    Interpreter interpreter = new Interpreter(weights);
    int[] prompt = new int[23];
    Arrays.setAll(prompt, i -> i);
    interpreter.prefill(new int[][] {prompt, {1}});

    var overflow =
        assertThrows(
            ContextOverflowException.class, () -> interpreter.append(new int[][] {{1, 2}, {3}}));
    assertThat(overflow)
        .hasMessageThat()
        .isEqualTo(
            "sequence 0 would reach 25 positions, past maxPositionEmbeddings (24); 23 are cached");
    var badToken =
        assertThrows(InvalidInputException.class, () -> interpreter.step(new int[] {1, 50}));
    assertThat(badToken)
        .hasMessageThat()
        .isEqualTo("sequence 1, token 0: id 50 is outside the vocabulary [0, 50)");
    assertThrows(InvalidInputException.class, () -> interpreter.step(new int[] {1}));
    assertThat(interpreter.length(0)).isEqualTo(23);
    assertThat(interpreter.length(1)).isEqualTo(1);

    // The next step is what it would have been without the failed calls.
    float[][] step = interpreter.step(new int[] {7, 8});
    float[][][] full =
        new Interpreter(weights).forwardNoCache(new int[][] {append(prompt, 7), {1, 8}});
    assertThat(step[0]).isEqualTo(full[0][23]);
    assertThat(step[1]).isEqualTo(full[1][1]);
    assertThat(interpreter.length(0)).isEqualTo(24);
    assertThrows(ContextOverflowException.class, () -> interpreter.step(new int[] {1, 1}));
  }

  @Test
  void promptsMustNotBeEmpty() {
    Interpreter interpreter = new Interpreter(Weights.random(llama(), 81));
    assertThrows(InvalidInputException.class, () -> interpreter.prefill(new int[][] {{1}, {}}));
    assertThrows(InvalidInputException.class, () -> interpreter.forwardNoCache(new int[][] {{}}));
    assertThrows(InvalidInputException.class, () -> interpreter.prefill(new int[4][1]));
    assertThat(interpreter.batchSize()).isEqualTo(0);
  }

  private static int[] append(int[] a, int last) {
    int[] out = Arrays.copyOf(a, a.length + 1);
    out[a.length] = last;
    return out;
  }
}
