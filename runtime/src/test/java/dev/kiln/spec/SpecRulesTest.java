package dev.kiln.spec;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Each rule of {@link SpecRules}: the tag it reports and the element it blames. */
class SpecRulesTest {

  /** A small valid spec every test starts from (Llama shape, tiny sizes). */
  private static ResolvedSpec.Builder small() {
    return ResolvedSpec.builder()
        .vocabSize(32)
        .hiddenSize(16)
        .intermediateSize(40)
        .numHiddenLayers(2)
        .numAttentionHeads(4)
        .maxPositionEmbeddings(64);
  }

  private static List<SpecProblem> problems(UnaryOperator<ResolvedSpec.Builder> change) {
    return SpecRules.check(change.apply(small()).draft());
  }

  /**
   * Asserts the spec has exactly one problem, with this element and message, and returns its text.
   */
  private static String onlyProblem(
      UnaryOperator<ResolvedSpec.Builder> change, SpecElement element, SpecMessage message) {
    List<SpecProblem> problems = problems(change);
    assertThat(problems).hasSize(1);
    SpecProblem problem = problems.getFirst();
    assertThat(problem.element()).isEqualTo(element);
    assertThat(problem.message()).isEqualTo(message);
    assertThat(problem.text()).startsWith("[" + message.tag() + "] ");
    assertThat(problem.toString()).isEqualTo(element.elementName() + ": " + problem.text());
    return problem.text();
  }

  @Test
  void theStartingSpecIsValid() {
    assertThat(problems(b -> b)).isEmpty();
  }

  @Test
  void llama2And3ConfigsAreValid() {
    var llama2 =
        ResolvedSpec.builder()
            .vocabSize(32000)
            .hiddenSize(4096)
            .intermediateSize(11008)
            .numHiddenLayers(32)
            .numAttentionHeads(32)
            .numKeyValueHeads(32)
            .maxPositionEmbeddings(4096)
            .rmsNormEps(1e-5);
    assertThat(SpecRules.check(llama2.draft())).isEmpty();
    var llama3 =
        ResolvedSpec.builder()
            .vocabSize(128256)
            .hiddenSize(4096)
            .intermediateSize(14336)
            .numHiddenLayers(32)
            .numAttentionHeads(32)
            .numKeyValueHeads(8)
            .maxPositionEmbeddings(8192)
            .ropeTheta(500000.0)
            .rmsNormEps(1e-5);
    assertThat(SpecRules.check(llama3.draft())).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(
      value = SpecElement.class,
      names = {
        "VOCAB_SIZE",
        "HIDDEN_SIZE",
        "NUM_HIDDEN_LAYERS",
        "NUM_ATTENTION_HEADS",
        "MAX_POSITION_EMBEDDINGS",
        "MAX_BATCH_SIZE"
      })
  void requiredSizesMustBePositive(SpecElement element) {
    for (int bad : new int[] {0, -3}) {
      String text = onlyProblem(b -> b.set(element, bad), element, SpecMessage.POSITIVE);
      assertThat(text)
          .isEqualTo("[Spec/Positive] " + element.elementName() + " must be positive, was " + bad);
    }
  }

  @Test
  void maxKvCacheBytesMustBePositive() {
    String text =
        onlyProblem(
            b -> b.maxKvCacheBytes(0), SpecElement.MAX_KV_CACHE_BYTES, SpecMessage.POSITIVE);
    assertThat(text).isEqualTo("[Spec/Positive] maxKvCacheBytes must be positive, was 0");
    onlyProblem(b -> b.maxKvCacheBytes(-1), SpecElement.MAX_KV_CACHE_BYTES, SpecMessage.POSITIVE);
  }

  @Test
  void swigluNeedsAnIntermediateSize() {
    String text =
        onlyProblem(
            b -> b.intermediateSize(0),
            SpecElement.INTERMEDIATE_SIZE,
            SpecMessage.INTERMEDIATE_REQUIRED);
    assertThat(text).contains("was 0");
    onlyProblem(
        b -> b.intermediateSize(-5),
        SpecElement.INTERMEDIATE_SIZE,
        SpecMessage.INTERMEDIATE_REQUIRED);
  }

  @Test
  void noMlpRejectsAnIntermediateSize() {
    String text =
        onlyProblem(
            b -> b.mlp(MlpKind.NONE).intermediateSize(40),
            SpecElement.INTERMEDIATE_SIZE,
            SpecMessage.INTERMEDIATE_UNUSED);
    assertThat(text).contains("intermediateSize (40) has no effect with mlp = NONE");
    assertThat(problems(b -> b.mlp(MlpKind.NONE).intermediateSize(0))).isEmpty();
  }

  @Test
  void negativeOptionalElements() {
    String kv =
        onlyProblem(
            b -> b.numKeyValueHeads(-1),
            SpecElement.NUM_KEY_VALUE_HEADS,
            SpecMessage.OPTIONAL_NOT_NEGATIVE);
    assertThat(kv)
        .contains(
            "numKeyValueHeads must be positive, or 0 for the default (numAttentionHeads), was -1");
    String headDim =
        onlyProblem(b -> b.headDim(-2), SpecElement.HEAD_DIM, SpecMessage.OPTIONAL_NOT_NEGATIVE);
    assertThat(headDim)
        .contains(
            "headDim must be positive, or 0 for the default (hiddenSize / numAttentionHeads), was -2");
  }

  @Test
  void kvHeadsMustDivideHeadsAndTheMessageListsTheDivisors() {
    String text =
        onlyProblem(
            b -> b.hiddenSize(48).numAttentionHeads(12).numKeyValueHeads(5),
            SpecElement.NUM_KEY_VALUE_HEADS,
            SpecMessage.KV_HEADS_DIVIDE);
    assertThat(text)
        .isEqualTo(
            "[Spec/KvHeads] numKeyValueHeads (5) must divide numAttentionHeads (12); use one of 1, 2, 3, 4, 6, 12");
    assertThat(problems(b -> b.hiddenSize(48).numAttentionHeads(12).numKeyValueHeads(4))).isEmpty();
  }

  @Test
  void headDimThatCannotBeDerivedIsReportedOnHiddenSize() {
    String text =
        onlyProblem(
            b -> b.hiddenSize(18), SpecElement.HIDDEN_SIZE, SpecMessage.HEAD_DIM_UNDERIVABLE);
    assertThat(text).contains("hiddenSize (18) is not a multiple of numAttentionHeads (4)");
    // With RoPE the derived head dim must be even too: 20 / 4 = 5 would not do.
    assertThat(text).endsWith("use hiddenSize 16 or 24");
    String noRope =
        onlyProblem(
            b -> b.hiddenSize(18).positionEncoding(PositionEncoding.NONE),
            SpecElement.HIDDEN_SIZE,
            SpecMessage.HEAD_DIM_UNDERIVABLE);
    assertThat(noRope).endsWith("use hiddenSize 16 or 20");
    // An explicit headDim makes any hiddenSize fine.
    assertThat(problems(b -> b.hiddenSize(18).headDim(4))).isEmpty();
  }

  @Test
  void headDimSuggestionsAreTwoDistinctPositiveSizesWhenHiddenIsBelowHeads() {
    String text =
        onlyProblem(
            b -> b.hiddenSize(3).numAttentionHeads(4),
            SpecElement.HIDDEN_SIZE,
            SpecMessage.HEAD_DIM_UNDERIVABLE);
    assertThat(text).endsWith("use hiddenSize 8 or 16");
    String noRope =
        onlyProblem(
            b -> b.hiddenSize(3).numAttentionHeads(4).positionEncoding(PositionEncoding.NONE),
            SpecElement.HIDDEN_SIZE,
            SpecMessage.HEAD_DIM_UNDERIVABLE);
    assertThat(noRope).endsWith("use hiddenSize 4 or 8");
  }

  @Test
  void ropeNeedsAnEvenHeadDim() {
    String explicit =
        onlyProblem(b -> b.headDim(5), SpecElement.HEAD_DIM, SpecMessage.ROPE_ODD_HEAD_DIM);
    assertThat(explicit)
        .isEqualTo(
            "[Spec/RopeHeadDim] RoPE rotates pairs of dimensions, so the head dimension must be even, was 5");
    String derived =
        onlyProblem(b -> b.hiddenSize(12), SpecElement.HIDDEN_SIZE, SpecMessage.ROPE_ODD_HEAD_DIM);
    assertThat(derived).endsWith("was 3 (hiddenSize / numAttentionHeads)");
    assertThat(problems(b -> b.headDim(5).positionEncoding(PositionEncoding.NONE))).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(doubles = {1.0, 0.5, -10000.0, Double.NaN, Double.POSITIVE_INFINITY})
  void ropeThetaMustBeFiniteAndAboveOne(double theta) {
    String text =
        onlyProblem(b -> b.ropeTheta(theta), SpecElement.ROPE_THETA, SpecMessage.ROPE_THETA);
    assertThat(text).contains("was " + theta);
    assertThat(problems(b -> b.ropeTheta(theta).positionEncoding(PositionEncoding.NONE))).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(doubles = {0.0, -1e-6, 0.1, 1.0, Double.NaN, Double.POSITIVE_INFINITY})
  void rmsNormEpsMustBeSmallAndPositive(double eps) {
    String text =
        onlyProblem(b -> b.rmsNormEps(eps), SpecElement.RMS_NORM_EPS, SpecMessage.RMS_NORM_EPS);
    assertThat(text).contains("was " + eps);
    assertThat(problems(b -> b.rmsNormEps(eps).norm(NormKind.NONE))).isEmpty();
  }

  @Test
  void withoutOutputProjectionTheHeadsMustSpanHiddenSize() {
    String text =
        onlyProblem(
            b -> b.attentionOutputProjection(false).headDim(8),
            SpecElement.ATTENTION_OUTPUT_PROJECTION,
            SpecMessage.NO_OUTPUT_PROJECTION_WIDTH);
    assertThat(text)
        .contains("(numAttentionHeads x headDim = 32) must be as wide as hiddenSize (16)");
    assertThat(problems(b -> b.attentionOutputProjection(false))).isEmpty();
  }

  @Test
  void oneLayersCacheMustFitAJavaArray() {
    // 64 sequences x 2^20 positions x kv_dim 64 = 2^32 floats.
    String text =
        onlyProblem(
            b -> b.hiddenSize(64).maxBatchSize(64).maxPositionEmbeddings(1 << 20),
            SpecElement.MAX_POSITION_EMBEDDINGS,
            SpecMessage.KV_CACHE_INDEX);
    assertThat(text)
        .contains(
            "maxBatchSize 64 x maxPositionEmbeddings 1048576 x kv_dim 64 = 4294967296 floats");
    assertThat(text).contains("(" + SpecRules.MAX_ARRAY_LENGTH + ")");
  }

  @Test
  void kvCacheBudgetIsInclusive() {
    // 2 x 2 layers x 3 sequences x 64 positions x kv_dim 16 x 4 bytes, computed independently.
    long needed = 2L * 2 * 3 * 64 * 16 * 4;
    assertThat(problems(b -> b.maxBatchSize(3).maxKvCacheBytes(needed))).isEmpty();
    String text =
        onlyProblem(
            b -> b.maxBatchSize(3).maxKvCacheBytes(needed - 1),
            SpecElement.MAX_KV_CACHE_BYTES,
            SpecMessage.KV_CACHE_BUDGET);
    assertThat(text)
        .isEqualTo(
            "[Spec/KvCacheBudget] the KV cache needs "
                + needed
                + " bytes (2 x layers 2 x batch 3 x positions 64 x kv_dim 16 x 4 bytes), over maxKvCacheBytes ("
                + (needed - 1)
                + "); lower maxBatchSize or maxPositionEmbeddings, or raise the budget");
  }

  @Test
  void kvCacheBudgetUsesKvHeadsNotQueryHeads() {
    // kv_dim = 1 kv head x 4 = 4: the cache is a quarter of the no-GQA size.
    long needed = 2L * 2 * 1 * 64 * 4 * 4;
    assertThat(problems(b -> b.numKeyValueHeads(1).maxKvCacheBytes(needed))).isEmpty();
    onlyProblem(
        b -> b.numKeyValueHeads(1).maxKvCacheBytes(needed - 1),
        SpecElement.MAX_KV_CACHE_BYTES,
        SpecMessage.KV_CACHE_BUDGET);
  }

  @Test
  void withoutCausalMaskAllActivationsMustFitAnArray() {
    // 2^20 positions x hiddenSize 4096 = 2^32 floats; kv_dim 128 keeps the cache itself small
    // enough.
    UnaryOperator<ResolvedSpec.Builder> big =
        b ->
            b.hiddenSize(4096)
                .numAttentionHeads(32)
                .numKeyValueHeads(1)
                .intermediateSize(64)
                .maxPositionEmbeddings(1 << 20);
    assertThat(problems(big)).isEmpty();
    String text =
        onlyProblem(
            b -> big.apply(b).causalMask(false),
            SpecElement.MAX_POSITION_EMBEDDINGS,
            SpecMessage.ACTIVATION_SIZE);
    assertThat(text)
        .contains("maxBatchSize 1 x maxPositionEmbeddings 1048576 x 4096 = 4294967296 floats");
  }

  @Test
  void activationWidthIncludesTheMlp() {
    // The MLP's intermediate (8192) is the widest activation: 2^19 x 8192 = 2^32.
    String text =
        onlyProblem(
            b ->
                b.hiddenSize(64)
                    .intermediateSize(8192)
                    .maxPositionEmbeddings(1 << 19)
                    .causalMask(false),
            SpecElement.MAX_POSITION_EMBEDDINGS,
            SpecMessage.ACTIVATION_SIZE);
    assertThat(text).contains("x 8192 = 4294967296 floats");
  }

  @Test
  void everyProblemIsReportedInOneCall() {
    List<SpecProblem> problems =
        problems(
            b ->
                b.vocabSize(0)
                    .hiddenSize(18)
                    .ropeTheta(0.5)
                    .rmsNormEps(0.0)
                    .numKeyValueHeads(3)
                    .maxBatchSize(-1));
    assertThat(problems.stream().map(SpecProblem::message).toList())
        .containsExactly(
            SpecMessage.POSITIVE,
            SpecMessage.POSITIVE,
            SpecMessage.KV_HEADS_DIVIDE,
            SpecMessage.HEAD_DIM_UNDERIVABLE,
            SpecMessage.ROPE_THETA,
            SpecMessage.RMS_NORM_EPS);
    assertThat(problems.stream().map(SpecProblem::element).toList())
        .containsExactly(
            SpecElement.VOCAB_SIZE,
            SpecElement.MAX_BATCH_SIZE,
            SpecElement.NUM_KEY_VALUE_HEADS,
            SpecElement.HIDDEN_SIZE,
            SpecElement.ROPE_THETA,
            SpecElement.RMS_NORM_EPS);

    var e =
        assertThrows(
            InvalidSpecException.class,
            () ->
                small()
                    .vocabSize(0)
                    .hiddenSize(18)
                    .ropeTheta(0.5)
                    .rmsNormEps(0.0)
                    .numKeyValueHeads(3)
                    .maxBatchSize(-1)
                    .build());
    assertThat(e.problems()).isEqualTo(problems);
    assertThat(e).hasMessageThat().startsWith("invalid model spec:\n  vocabSize: [Spec/Positive]");
    for (SpecProblem problem : problems) {
      assertThat(e).hasMessageThat().contains(problem.toString());
    }
    assertThat(e.getMessage().split("\n")).hasLength(1 + problems.size());
  }

  @Test
  void tagsAreStableAndUnique() {
    // The tags are part of the processor's interface; two messages share a tag only for the same
    // element.
    assertThat(SpecMessage.KV_HEADS_DIVIDE.tag()).isEqualTo("Spec/KvHeads");
    assertThat(SpecMessage.INTERMEDIATE_REQUIRED.tag())
        .isEqualTo(SpecMessage.INTERMEDIATE_UNUSED.tag());
    for (SpecMessage message : SpecMessage.values()) {
      assertThat(message.tag()).startsWith("Spec/");
    }
  }

  @Test
  void theRecordRejectsUnresolvedDefaults() {
    var draft = small().draft();
    assertThat(draft.numKeyValueHeads()).isEqualTo(0);
    var unresolved =
        SpecDraft.read(
            element ->
                element == SpecElement.NUM_KEY_VALUE_HEADS || element == SpecElement.HEAD_DIM
                    ? (Object) 0
                    : draft.value(element));
    var e = assertThrows(InvalidSpecException.class, () -> ResolvedSpec.of(unresolved));
    assertThat(e.problems().stream().map(SpecProblem::element).toList())
        .containsExactly(
            SpecElement.NUM_KEY_VALUE_HEADS,
            SpecElement.HEAD_DIM,
            SpecElement.QUERY_PRE_ATTN_SCALAR);
    assertThat(e)
        .hasMessageThat()
        .contains("numKeyValueHeads of a resolved spec must be positive, was 0");
  }

  @Test
  void theRecordRunsTheRules() {
    var spec = small().build();
    var e = assertThrows(InvalidSpecException.class, () -> spec.toBuilder().ropeTheta(1.0).build());
    assertThat(e.problems()).hasSize(1);
    var builder = spec.toBuilder();
    var threeKvHeads =
        SpecDraft.read(
            element ->
                element == SpecElement.NUM_KEY_VALUE_HEADS
                    ? (Object) 3
                    : spec.toDraft().value(element));
    assertThrows(InvalidSpecException.class, () -> ResolvedSpec.of(threeKvHeads));
    assertThat(builder.build()).isEqualTo(spec);
  }
}
