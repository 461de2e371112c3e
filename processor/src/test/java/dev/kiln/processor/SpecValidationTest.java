package dev.kiln.processor;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static com.google.testing.compile.CompilationSubject.assertThat;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import dev.kiln.spec.SpecMessage;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rule of {@link dev.kiln.spec.SpecRules}, as the annotation processor reports it: the
 * compilation fails with exactly one error, carrying the rule's stable tag and its explanation
 * (what is wrong, what would be right), on the line of the annotation element the rule blames; and
 * the bad spec generates nothing.
 */
class SpecValidationTest {
  /**
   * One broken spec and the one error it must give.
   *
   * @param element the annotation element the error must be on, or null for the annotation itself
   * @param tag the rule's stable tag, spelled out (its stability is part of what is tested)
   * @param text the message after the tag
   */
  record RuleCase(
      String name, SpecSource spec, SpecMessage rule, String tag, String element, String text) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<RuleCase> rules() {
    return Stream.of(
        // Spec/Positive: every size, and the KV cache budget.
        positive("vocabSize", "0", "vocabSize must be positive, was 0"),
        positive("hiddenSize", "-256", "hiddenSize must be positive, was -256"),
        positive("numHiddenLayers", "0", "numHiddenLayers must be positive, was 0"),
        positive("numAttentionHeads", "0", "numAttentionHeads must be positive, was 0"),
        positive("maxPositionEmbeddings", "0", "maxPositionEmbeddings must be positive, was 0"),
        positive("maxBatchSize", "-1", "maxBatchSize must be positive, was -1"),
        positive("maxKvCacheBytes", "0L", "maxKvCacheBytes must be positive, was 0"),

        // Spec/NotNegative: the elements whose 0 means "the default".
        new RuleCase(
            "negative numKeyValueHeads",
            SpecSource.llama("NegativeKvHeads").set("numKeyValueHeads", "-1"),
            SpecMessage.OPTIONAL_NOT_NEGATIVE,
            "Spec/NotNegative",
            "numKeyValueHeads",
            "numKeyValueHeads must be positive, or 0 for the default (numAttentionHeads), was -1"),
        new RuleCase(
            "negative headDim",
            SpecSource.llama("NegativeHeadDim").set("headDim", "-2"),
            SpecMessage.OPTIONAL_NOT_NEGATIVE,
            "Spec/NotNegative",
            "headDim",
            "headDim must be positive, or 0 for the default (hiddenSize / numAttentionHeads), was -2"),

        // Spec/IntermediateSize: required with SwiGLU (on the value, or on the annotation when left
        // out) ...
        new RuleCase(
            "intermediateSize 0 with SwiGLU",
            SpecSource.llama("ZeroIntermediate").set("intermediateSize", "0"),
            SpecMessage.INTERMEDIATE_REQUIRED,
            "Spec/IntermediateSize",
            "intermediateSize",
            "intermediateSize must be positive with mlp = SWIGLU, was 0 (Llama uses about 8/3 x hiddenSize)"),
        new RuleCase(
            "intermediateSize negative with SwiGLU",
            SpecSource.llama("NegativeIntermediate").set("intermediateSize", "-512"),
            SpecMessage.INTERMEDIATE_REQUIRED,
            "Spec/IntermediateSize",
            "intermediateSize",
            "intermediateSize must be positive with mlp = SWIGLU, was -512 (Llama uses about 8/3 x hiddenSize)"),
        new RuleCase(
            "intermediateSize left out with SwiGLU",
            SpecSource.llama("NoIntermediate").remove("intermediateSize"),
            SpecMessage.INTERMEDIATE_REQUIRED,
            "Spec/IntermediateSize",
            null,
            "intermediateSize must be positive with mlp = SWIGLU, was 0 (Llama uses about 8/3 x hiddenSize)"),
        // ... and pointless without an MLP.
        new RuleCase(
            "intermediateSize without MLP",
            SpecSource.llama("UnusedIntermediate").set("mlp", "MlpKind.NONE"),
            SpecMessage.INTERMEDIATE_UNUSED,
            "Spec/IntermediateSize",
            "intermediateSize",
            "intermediateSize (512) has no effect with mlp = NONE; leave it out"),

        // The newer families' elements: in range, and only where they act.
        new RuleCase(
            "ropeScalingFactor without ropeScaling",
            SpecSource.llama("UnusedRopeFactor").set("ropeScalingFactor", "2.0"),
            SpecMessage.UNUSED,
            "Spec/Unused",
            "ropeScalingFactor",
            "ropeScalingFactor (2.0) has no effect with ropeScaling = NONE; leave it out"),
        new RuleCase(
            "qkNorm without RMSNorm",
            SpecSource.llama("QkNormWithoutNorm")
                .set("qkNorm", "true")
                .set("norm", "NormKind.NONE"),
            SpecMessage.REQUIRES,
            "Spec/Requires",
            "qkNorm",
            "qkNorm (an RMSNorm of each q and k head) needs norm = RMS_NORM"),
        new RuleCase(
            "linear RoPE scaling by less than 1",
            SpecSource.llama("ShrinkingRope")
                .set("ropeScaling", "RopeScaling.LINEAR")
                .set("ropeScalingFactor", "0.5"),
            SpecMessage.ROPE_SCALING_FACTOR,
            "Spec/RopeScaling",
            "ropeScalingFactor",
            "ropeScalingFactor must be finite and at least 1 with ropeScaling = LINEAR, was 0.5"),
        new RuleCase(
            "llama3 frequency factors reversed",
            SpecSource.llama("ReversedFreqFactors")
                .set("ropeScaling", "RopeScaling.LLAMA3")
                .set("ropeScalingFactor", "8.0")
                .set("ropeScalingOriginalMaxPositionEmbeddings", "8192")
                .set("ropeScalingLowFreqFactor", "4.0")
                .set("ropeScalingHighFreqFactor", "1.0"),
            SpecMessage.ROPE_SCALING_FREQ_FACTORS,
            "Spec/RopeScaling",
            "ropeScalingLowFreqFactor",
            "with ropeScaling = LLAMA3, ropeScalingLowFreqFactor (4.0) must be positive and below ropeScalingHighFreqFactor"
                + " (1.0) (Llama 3.1 uses 1.0 and 4.0)"),
        new RuleCase(
            "llama3 without the original context",
            SpecSource.llama("NoOriginalContext")
                .set("ropeScaling", "RopeScaling.LLAMA3")
                .set("ropeScalingFactor", "8.0")
                .set("ropeScalingOriginalMaxPositionEmbeddings", "-1"),
            SpecMessage.ROPE_SCALING_ORIGINAL,
            "Spec/RopeScaling",
            "ropeScalingOriginalMaxPositionEmbeddings",
            "ropeScalingOriginalMaxPositionEmbeddings must be positive with ropeScaling = LLAMA3, was -1"
                + " (Llama 3.1 uses 8192)"),
        new RuleCase(
            "qkvBias with attentionBias",
            SpecSource.llama("DoubleBias").set("attentionBias", "true").set("qkvBias", "true"),
            SpecMessage.REDUNDANT,
            "Spec/Redundant",
            "qkvBias",
            "qkvBias is implied by attentionBias (biases on q, k, v and o_proj); set only one"),
        new RuleCase(
            "negative soft-capping",
            SpecSource.llama("NegativeSoftcap").set("attnLogitSoftcapping", "-1.0"),
            SpecMessage.POSITIVE_OR_OFF,
            "Spec/NotNegative",
            "attnLogitSoftcapping",
            "attnLogitSoftcapping must be finite and positive, or 0 for no soft-capping, was -1.0"),

        // Spec/KvHeads: not a divisor, or more kv heads than heads (never a divisor either).
        new RuleCase(
            "kv heads not dividing heads",
            SpecSource.llama("KvHeadsNotDividing").set("numKeyValueHeads", "3"),
            SpecMessage.KV_HEADS_DIVIDE,
            "Spec/KvHeads",
            "numKeyValueHeads",
            "numKeyValueHeads (3) must divide numAttentionHeads (4); use one of 1, 2, 4"),
        new RuleCase(
            "kv heads exceeding heads",
            SpecSource.llama("KvHeadsExceeding").set("numKeyValueHeads", "8"),
            SpecMessage.KV_HEADS_DIVIDE,
            "Spec/KvHeads",
            "numKeyValueHeads",
            "numKeyValueHeads (8) must divide numAttentionHeads (4); use one of 1, 2, 4"),
        new RuleCase(
            "kv heads not dividing 12 heads",
            SpecSource.llama("KvHeadsOf12")
                .set("hiddenSize", "384")
                .set("numAttentionHeads", "12")
                .set("numKeyValueHeads", "5"),
            SpecMessage.KV_HEADS_DIVIDE,
            "Spec/KvHeads",
            "numKeyValueHeads",
            "numKeyValueHeads (5) must divide numAttentionHeads (12); use one of 1, 2, 3, 4, 6, 12"),

        // Spec/HeadDim: hidden != heads x headDim with headDim not given. The suggested sizes must
        // themselves be valid: with RoPE they derive an even head dim.
        new RuleCase(
            "hiddenSize not a multiple of heads",
            SpecSource.llama("HeadDimUnderivable")
                .set("hiddenSize", "100")
                .set("numAttentionHeads", "3"),
            SpecMessage.HEAD_DIM_UNDERIVABLE,
            "Spec/HeadDim",
            "hiddenSize",
            "hiddenSize (100) is not a multiple of numAttentionHeads (3), so headDim cannot default to hiddenSize /"
                + " numAttentionHeads; set headDim, or use hiddenSize 96 or 102"),
        new RuleCase(
            "hiddenSize not a multiple of heads, no RoPE",
            SpecSource.llama("HeadDimUnderivableNoRope")
                .set("hiddenSize", "100")
                .set("numAttentionHeads", "3")
                .set("positionEncoding", "PositionEncoding.NONE"),
            SpecMessage.HEAD_DIM_UNDERIVABLE,
            "Spec/HeadDim",
            "hiddenSize",
            "hiddenSize (100) is not a multiple of numAttentionHeads (3), so headDim cannot default to hiddenSize /"
                + " numAttentionHeads; set headDim, or use hiddenSize 99 or 102"),
        new RuleCase(
            "hiddenSize below heads",
            SpecSource.llama("HiddenBelowHeads")
                .set("hiddenSize", "2")
                .set("numAttentionHeads", "3"),
            SpecMessage.HEAD_DIM_UNDERIVABLE,
            "Spec/HeadDim",
            "hiddenSize",
            "hiddenSize (2) is not a multiple of numAttentionHeads (3), so headDim cannot default to hiddenSize /"
                + " numAttentionHeads; set headDim, or use hiddenSize 6 or 12"),

        // Spec/RopeHeadDim: on headDim when given, on hiddenSize when derived from it.
        new RuleCase(
            "odd explicit head dim with RoPE",
            SpecSource.llama("OddHeadDim").set("headDim", "65"),
            SpecMessage.ROPE_ODD_HEAD_DIM,
            "Spec/RopeHeadDim",
            "headDim",
            "RoPE rotates pairs of dimensions, so the head dimension must be even, was 65"),
        new RuleCase(
            "odd derived head dim with RoPE",
            SpecSource.llama("OddDerivedHeadDim").set("hiddenSize", "260"),
            SpecMessage.ROPE_ODD_HEAD_DIM,
            "Spec/RopeHeadDim",
            "hiddenSize",
            "RoPE rotates pairs of dimensions, so the head dimension must be even, was 65 (hiddenSize / numAttentionHeads)"),

        // Spec/RopeTheta
        new RuleCase(
            "ropeTheta 1",
            SpecSource.llama("ThetaOne").set("ropeTheta", "1.0"),
            SpecMessage.ROPE_THETA,
            "Spec/RopeTheta",
            "ropeTheta",
            "ropeTheta must be finite and greater than 1, was 1.0 (Llama uses 10000.0, Llama 3 500000.0)"),
        new RuleCase(
            "ropeTheta negative",
            SpecSource.llama("ThetaNegative").set("ropeTheta", "-10000.0"),
            SpecMessage.ROPE_THETA,
            "Spec/RopeTheta",
            "ropeTheta",
            "ropeTheta must be finite and greater than 1, was -10000.0 (Llama uses 10000.0, Llama 3 500000.0)"),
        new RuleCase(
            "ropeTheta infinite",
            SpecSource.llama("ThetaInfinite").set("ropeTheta", "Double.POSITIVE_INFINITY"),
            SpecMessage.ROPE_THETA,
            "Spec/RopeTheta",
            "ropeTheta",
            "ropeTheta must be finite and greater than 1, was Infinity (Llama uses 10000.0, Llama 3 500000.0)"),
        new RuleCase(
            "ropeTheta NaN",
            SpecSource.llama("ThetaNaN").set("ropeTheta", "Double.NaN"),
            SpecMessage.ROPE_THETA,
            "Spec/RopeTheta",
            "ropeTheta",
            "ropeTheta must be finite and greater than 1, was NaN (Llama uses 10000.0, Llama 3 500000.0)"),

        // Spec/RmsNormEps
        new RuleCase(
            "rmsNormEps 0",
            SpecSource.llama("EpsZero").set("rmsNormEps", "0.0"),
            SpecMessage.RMS_NORM_EPS,
            "Spec/RmsNormEps",
            "rmsNormEps",
            "rmsNormEps must be finite, positive and below 0.1, was 0.0 (Llama uses 1e-5 or 1e-6)"),
        new RuleCase(
            "rmsNormEps 0.1",
            SpecSource.llama("EpsTenth").set("rmsNormEps", "0.1"),
            SpecMessage.RMS_NORM_EPS,
            "Spec/RmsNormEps",
            "rmsNormEps",
            "rmsNormEps must be finite, positive and below 0.1, was 0.1 (Llama uses 1e-5 or 1e-6)"),
        new RuleCase(
            "rmsNormEps negative",
            SpecSource.llama("EpsNegative").set("rmsNormEps", "-1e-6"),
            SpecMessage.RMS_NORM_EPS,
            "Spec/RmsNormEps",
            "rmsNormEps",
            "rmsNormEps must be finite, positive and below 0.1, was -1.0E-6 (Llama uses 1e-5 or 1e-6)"),

        // Spec/AttentionOutput
        new RuleCase(
            "no output projection, heads narrower than hidden",
            SpecSource.llama("NoOutputProjection")
                .set("headDim", "32")
                .set("attentionOutputProjection", "false"),
            SpecMessage.NO_OUTPUT_PROJECTION_WIDTH,
            "Spec/AttentionOutput",
            "attentionOutputProjection",
            "without an output projection the attention output (numAttentionHeads x headDim = 128) must be as wide as"
                + " hiddenSize (256); set attentionOutputProjection = true or make them equal"),

        // Spec/KvCacheSize: one layer's cache is one float[], indexed by int.
        new RuleCase(
            "KV cache overflowing int indexing",
            SpecSource.llama("KvCacheTooLarge")
                .set("maxPositionEmbeddings", "200000")
                .set("maxBatchSize", "64"),
            SpecMessage.KV_CACHE_INDEX,
            "Spec/KvCacheSize",
            "maxPositionEmbeddings",
            "one layer's KV cache (maxBatchSize 64 x maxPositionEmbeddings 200000 x kv_dim 256 = 3276800000 floats)"
                + " is larger than a Java array (2147483639); lower maxBatchSize or maxPositionEmbeddings"),

        // Spec/KvCacheBudget: 2 x 2 layers x 1 x 2048 positions x 256 x 4 bytes = 8388608 bytes.
        new RuleCase(
            "KV cache over maxKvCacheBytes",
            SpecSource.llama("KvCacheOverBudget").set("maxKvCacheBytes", "8388607L"),
            SpecMessage.KV_CACHE_BUDGET,
            "Spec/KvCacheBudget",
            "maxKvCacheBytes",
            "the KV cache needs 8388608 bytes (2 x layers 2 x batch 1 x positions 2048 x kv_dim 256 x 4 bytes), over"
                + " maxKvCacheBytes (8388607); lower maxBatchSize or maxPositionEmbeddings, or raise the budget"),

        // Spec/ActivationSize: without a causal mask, all positions' widest activation (here the
        // MLP's intermediate) in one float[]; the KV cache (1 kv head) alone would fit.
        new RuleCase(
            "activations overflowing int indexing without causal mask",
            SpecSource.llama("ActivationsTooLarge")
                .set("hiddenSize", "4096")
                .set("intermediateSize", "11008")
                .set("numHiddenLayers", "1")
                .set("numAttentionHeads", "32")
                .set("numKeyValueHeads", "1")
                .set("maxPositionEmbeddings", "262144")
                .set("causalMask", "false"),
            SpecMessage.ACTIVATION_SIZE,
            "Spec/ActivationSize",
            "maxPositionEmbeddings",
            "without a causal mask all positions of a batch are computed together, and their widest activations"
                + " (maxBatchSize 1 x maxPositionEmbeddings 262144 x 11008 = 2885681152 floats) are larger than a Java"
                + " array (2147483639); lower maxBatchSize or maxPositionEmbeddings"));
  }

  private static RuleCase positive(String element, String value, String text) {
    String name = "Positive" + Character.toUpperCase(element.charAt(0)) + element.substring(1);
    return new RuleCase(
        "non-positive " + element,
        SpecSource.llama(name).set(element, value),
        SpecMessage.POSITIVE,
        "Spec/Positive",
        element,
        text);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rules")
  void ruleIsReportedOnItsElement(RuleCase c) {
    assertWithMessage("the tag of %s", c.rule()).that(c.rule().tag()).isEqualTo(c.tag());
    RecordingProcessor processor = new RecordingProcessor();
    JavaFileObject file = c.spec().file();
    Compilation compilation = Compiler.javac().withProcessors(processor).compile(file);

    assertThat(compilation).failed();
    assertThat(compilation).hadErrorCount(1);
    int line = c.element() == null ? c.spec().annotationLine() : c.spec().lineOf(c.element());
    assertThat(compilation)
        .hadErrorContaining("[" + c.tag() + "] " + c.text())
        .inFile(file)
        .onLine(line);
    assertWithMessage("sources generated for a bad spec")
        .that(processor.createdSources())
        .isEmpty();
  }

  /** A new rule must come with a case above. */
  @Test
  void everyRuleHasACase() {
    Set<SpecMessage> covered =
        rules()
            .map(RuleCase::rule)
            .collect(Collectors.toCollection(() -> EnumSet.noneOf(SpecMessage.class)));
    assertThat(covered).containsExactlyElementsIn(Arrays.asList(SpecMessage.values()));
  }

  /** The rules above hold only where they apply; just inside their limits a spec is valid. */
  static Stream<SpecSource> validNearTheLimits() {
    return Stream.of(
        SpecSource.llama("OddHeadDimWithoutRope")
            .set("headDim", "65")
            .set("positionEncoding", "PositionEncoding.NONE"),
        SpecSource.llama("LowThetaWithoutRope")
            .set("ropeTheta", "0.5")
            .set("positionEncoding", "PositionEncoding.NONE"),
        SpecSource.llama("ZeroEpsWithoutNorm")
            .set("rmsNormEps", "0.0")
            .set("norm", "NormKind.NONE"),
        SpecSource.llama("NoIntermediateWithoutMlp")
            .remove("intermediateSize")
            .set("mlp", "MlpKind.NONE"),
        SpecSource.llama("KvCacheExactlyOnBudget").set("maxKvCacheBytes", "8388608L"),
        SpecSource.llama("NoOutputProjectionSameWidth").set("attentionOutputProjection", "false"),
        SpecSource.llama("ExplicitHeadDimForOddHidden")
            .set("hiddenSize", "100")
            .set("numAttentionHeads", "3")
            .set("headDim", "32"),
        SpecSource.llama("MultiQuery").set("numKeyValueHeads", "1"),
        SpecSource.llama("KvHeadsEqualHeads").set("numKeyValueHeads", "4"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("validNearTheLimits")
  void validSpecNearALimitCompiles(SpecSource spec) {
    Compilation compilation =
        Compiler.javac().withProcessors(new KilnProcessor()).compile(spec.file());
    assertThat(compilation).succeededWithoutWarnings();
    assertThat(compilation).generatedSourceFile(spec.qualifiedName() + "Decoder");
  }

  @Test
  void everyProblemOfASpecIsReportedInOneCompilation() {
    SpecSource spec =
        SpecSource.llama("ManyProblems")
            .set("vocabSize", "0")
            .set("numKeyValueHeads", "3")
            .set("ropeTheta", "0.5")
            .set("rmsNormEps", "0.0")
            .set("maxBatchSize", "0");
    JavaFileObject file = spec.file();
    Compilation compilation = Compiler.javac().withProcessors(new KilnProcessor()).compile(file);

    assertThat(compilation).failed();
    assertThat(compilation).hadErrorCount(5);
    assertThat(compilation)
        .hadErrorContaining("[Spec/Positive] vocabSize must be positive, was 0")
        .inFile(file)
        .onLine(spec.lineOf("vocabSize"));
    assertThat(compilation)
        .hadErrorContaining("[Spec/KvHeads] numKeyValueHeads (3) must divide numAttentionHeads (4)")
        .inFile(file)
        .onLine(spec.lineOf("numKeyValueHeads"));
    assertThat(compilation)
        .hadErrorContaining("[Spec/RopeTheta] ropeTheta must be finite and greater than 1, was 0.5")
        .inFile(file)
        .onLine(spec.lineOf("ropeTheta"));
    assertThat(compilation)
        .hadErrorContaining(
            "[Spec/RmsNormEps] rmsNormEps must be finite, positive and below 0.1, was 0.0")
        .inFile(file)
        .onLine(spec.lineOf("rmsNormEps"));
    assertThat(compilation)
        .hadErrorContaining("[Spec/Positive] maxBatchSize must be positive, was 0")
        .inFile(file)
        .onLine(spec.lineOf("maxBatchSize"));
  }

  @Test
  void badSpecsInSeveralFilesAreEachReportedInTheirOwnFile() {
    SpecSource kv = SpecSource.llama("BadKv").set("numKeyValueHeads", "3");
    SpecSource eps = SpecSource.llama("BadEps").set("rmsNormEps", "1.0");
    JavaFileObject kvFile = kv.file();
    JavaFileObject epsFile = eps.file();
    Compilation compilation =
        Compiler.javac().withProcessors(new KilnProcessor()).compile(kvFile, epsFile);

    assertThat(compilation).failed();
    assertThat(compilation).hadErrorCount(2);
    assertThat(compilation)
        .hadErrorContaining("[Spec/KvHeads]")
        .inFile(kvFile)
        .onLine(kv.lineOf("numKeyValueHeads"));
    assertThat(compilation)
        .hadErrorContaining("[Spec/RmsNormEps]")
        .inFile(epsFile)
        .onLine(eps.lineOf("rmsNormEps"));
  }

  /**
   * A bad spec stops only itself: a valid one in the same compilation still gets all its classes.
   */
  @Test
  void validSpecBesideABadOneStillGeneratesItsClasses() {
    SpecSource bad = SpecSource.llama("Broken").set("numKeyValueHeads", "3");
    SpecSource good = SpecSource.llama("Fine");
    RecordingProcessor processor = new RecordingProcessor();
    JavaFileObject badFile = bad.file();
    Compilation compilation =
        Compiler.javac().withProcessors(processor).compile(badFile, good.file());

    assertThat(compilation).failed();
    assertThat(compilation).hadErrorCount(1);
    assertThat(compilation)
        .hadErrorContaining("[Spec/KvHeads]")
        .inFile(badFile)
        .onLine(bad.lineOf("numKeyValueHeads"));
    // compile-testing refuses generatedSourceFile(...) on a failed compilation; the Filer saw them.
    assertThat(processor.createdSources())
        .containsExactly("test.FineWeights", "test.FineAttention", "test.FineDecoder");
  }

  /**
   * The same valid spec on its own: what the recording processor sees is what compile-testing sees.
   */
  @Test
  void recordingProcessorSeesWhatCompileTestingSees() {
    SpecSource good = SpecSource.llama("Fine");
    RecordingProcessor processor = new RecordingProcessor();
    Compilation compilation = Compiler.javac().withProcessors(processor).compile(good.file());

    assertThat(compilation).succeededWithoutWarnings();
    for (String name : processor.createdSources()) {
      assertThat(compilation).generatedSourceFile(name);
    }
    assertThat(
            compilation.generatedSourceFiles().stream()
                .filter(f -> !f.toUri().getPath().contains(KilnProcessor.TORNADO_RESOURCE_ROOT))
                .toList())
        .hasSize(processor.createdSources().size());
  }

  static Stream<SpecSource> wrongTargets() {
    return Stream.of(
        SpecSource.llama("Colors").declaredAs("public enum %s { RED, GREEN }"),
        SpecSource.llama("Marker").declaredAs("public @interface %s {}"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("wrongTargets")
  void specOnAWrongKindOfTypeIsAnError(SpecSource spec) {
    RecordingProcessor processor = new RecordingProcessor();
    JavaFileObject file = spec.file();
    Compilation compilation = Compiler.javac().withProcessors(processor).compile(file);

    String kind = spec.simpleName().equals("Colors") ? "enum" : "annotation type";
    assertThat(compilation).failed();
    assertThat(compilation).hadErrorCount(1);
    assertThat(compilation)
        .hadErrorContaining(
            "[Spec/Target] @ModelSpec goes on a class or interface, not on "
                + kind
                + " "
                + spec.qualifiedName())
        .inFile(file)
        .onLine(spec.annotationLine());
    assertThat(processor.createdSources()).isEmpty();
  }

  /** Classes, records and nested types (static or inner, even private) are all fine hosts. */
  @Test
  void specOnClassesRecordsAndNestedTypesGenerates() {
    JavaFileObject record =
        SpecSource.llama("AsRecord").declaredAs("public record %s(int unused) {}").file();
    JavaFileObject abstractClass =
        SpecSource.llama("AsClass").declaredAs("public abstract class %s {}").file();
    SpecSource inner = SpecSource.llama("Inner");
    List<String> outerLines = new java.util.ArrayList<>(inner.lines());
    int declaration = outerLines.size() - 1;
    outerLines.add(inner.annotationLine() - 1, "public class Outer {");
    outerLines.set(declaration + 1, "  private class Inner {}");
    outerLines.add("}");
    JavaFileObject outer =
        com.google.testing.compile.JavaFileObjects.forSourceLines("test.Outer", outerLines);

    Compilation compilation =
        Compiler.javac().withProcessors(new KilnProcessor()).compile(record, abstractClass, outer);

    assertThat(compilation).succeededWithoutWarnings();
    for (String base : List.of("test.AsRecord", "test.AsClass", "test.Outer_Inner")) {
      assertThat(compilation).generatedSourceFile(base + "Decoder");
      assertThat(compilation).generatedSourceFile(base + "Weights");
      assertThat(compilation).generatedSourceFile(base + "Attention");
    }
  }

  /** A required element left out is javac's error alone; Kiln adds no misleading "was 0". */
  @Test
  void missingRequiredElementIsOnlyJavacsError() {
    SpecSource spec = SpecSource.llama("NoVocab").remove("vocabSize");
    Compilation compilation =
        Compiler.javac().withProcessors(new KilnProcessor()).compile(spec.file());

    assertThat(compilation).failed();
    assertThat(compilation).hadErrorCount(1);
    assertThat(compilation).hadErrorContaining("vocabSize");
    assertNoKilnErrors(compilation);
  }

  /** A value of the wrong type is javac's error alone. */
  @Test
  void illTypedValueIsOnlyJavacsError() {
    SpecSource spec = SpecSource.llama("LongVocab").set("vocabSize", "100L");
    JavaFileObject file = spec.file();
    Compilation compilation = Compiler.javac().withProcessors(new KilnProcessor()).compile(file);

    assertThat(compilation).failed();
    assertThat(compilation).hadErrorCount(1);
    assertThat(compilation)
        .hadErrorContaining("lossy conversion from long to int")
        .inFile(file)
        .onLine(spec.lineOf("vocabSize"));
    assertNoKilnErrors(compilation);
  }

  private static void assertNoKilnErrors(Compilation compilation) {
    for (Diagnostic<? extends JavaFileObject> error : compilation.errors()) {
      assertWithMessage("javac's error").that(error.getMessage(null)).doesNotContain("[Spec/");
    }
  }
}
