package dev.kiln.processor;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static com.google.testing.compile.CompilationSubject.assertThat;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.ScoreNormalization;
import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.pass.Pass;
import dev.kiln.processor.pass.Passes;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.processor.plan.KernelPlan;
import dev.kiln.processor.plan.KernelShape;
import dev.kiln.spec.ResolvedSpec;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the fusion passes make of a spec's op graph: which ops share a kernel, for a Llama and for
 * the seed's single-head toy, run through {@link Pipeline#run} (and, once, through the {@code
 * -Akiln.dumpIr} notes of a real compilation).
 */
class PlanTest {
  /** The seed's Llama, as {@code dev.kiln.examples.SeedLlama} declares it. */
  static final ResolvedSpec SEED_LLAMA =
      ResolvedSpec.builder()
          .vocabSize(100)
          .hiddenSize(256)
          .intermediateSize(512)
          .numHiddenLayers(2)
          .numAttentionHeads(4)
          .numKeyValueHeads(4)
          .build();

  /** The seed's toy, as {@code dev.kiln.examples.SeedSingleHead} declares it. */
  static final ResolvedSpec SEED_SINGLE_HEAD =
      ResolvedSpec.builder()
          .vocabSize(64)
          .hiddenSize(128)
          .numHiddenLayers(1)
          .numAttentionHeads(1)
          .maxPositionEmbeddings(64)
          .maxBatchSize(4)
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

  static Pipeline.Result plan(ResolvedSpec spec) {
    return Pipeline.run(spec, new GeneratedNames("test", "Planned", "test.Planned"));
  }

  @Test
  void llamaLayerIsFiveFusedKernels() {
    KernelPlan plan = plan(SEED_LLAMA).plan();

    assertThat(plan.layer()).hasSize(5);
    assertThat(signatures(plan.layer()))
        .containsExactly(
            // RMSNorm folded into q/k/v; RoPE and the cache write fused into the qkv projection.
            List.of(
                "RmsNorm(INPUT_LAYERNORM)",
                "Linear(Q_PROJ)->q",
                "Linear(K_PROJ)->k",
                "Linear(V_PROJ)->v",
                "Rope(q)",
                "Rope(k)",
                "CacheWrite(k,v)"),
            // Attention as one kernel.
            List.of("Scores(causal)", "Softmax", "WeightedValues->attn"),
            // Residual add in the output projection.
            List.of("Linear(O_PROJ)->attnOut", "Add(x,attnOut)->x"),
            // RMSNorm folded into gate/up, SiLU x up fused.
            List.of(
                "RmsNorm(POST_ATTENTION_LAYERNORM)",
                "Linear(GATE_PROJ)->gate",
                "Linear(UP_PROJ)->up",
                "Silu(gate)",
                "Multiply(gateAct,up)"),
            // Residual add in the down projection.
            List.of("Linear(DOWN_PROJ)->mlpOut", "Add(x,mlpOut)->x"))
        .inOrder();
    assertThat(names(plan.layer()))
        .containsExactly(
            "fusedRmsNormQkvRopeCacheWrite",
            "fusedAttention",
            "fusedOutputProjectionResidual",
            "fusedRmsNormGateUpSilu",
            "fusedDownProjectionResidual")
        .inOrder();
    assertThat(shapes(plan.layer()))
        .containsExactly(
            KernelShape.PROJECTION,
            KernelShape.ATTENTION,
            KernelShape.PROJECTION,
            KernelShape.PROJECTION,
            KernelShape.PROJECTION)
        .inOrder();
  }

  @Test
  void llamaEndsWithTheFinalNormFusedIntoTheLmHead() {
    KernelPlan plan = plan(SEED_LLAMA).plan();

    assertThat(signatures(plan.prologue())).containsExactly(List.of("Embed->x"));
    assertThat(names(plan.prologue())).containsExactly("embedTokens");
    assertThat(signatures(plan.epilogue()))
        .containsExactly(List.of("RmsNorm(NORM)", "Linear(LM_HEAD)->logits"));
    assertThat(names(plan.epilogue())).containsExactly("fusedRmsNormLmHead");
  }

  /**
   * What fusion is for: between the Llama layer's kernels only the stream, q, the attention output
   * and the MLP activation travel through memory; normalized rows, k and v (straight into the
   * cache), scores, gate/up and the projections' outputs stay inside their kernel.
   */
  @Test
  void llamaKernelsExchangeOnlyTheStreamQAttentionAndActivation() {
    KernelPlan plan = plan(SEED_LLAMA).plan();

    Set<Value> crossing = new LinkedHashSet<>();
    for (Kernel kernel : plan.layer()) {
      crossing.addAll(kernel.externalReads());
    }
    assertThat(crossing).containsExactly(Value.X, Value.Q, Value.ATTN, Value.ACT);
  }

  @Test
  void fusionKeepsEveryOpOfTheGraphInOrder() {
    Pipeline.Result result = plan(SEED_LLAMA);

    assertThat(result.graph().layer()).hasSize(19);
    assertThat(flatten(result.plan().layer()))
        .containsExactlyElementsIn(result.graph().layer())
        .inOrder();
    assertThat(flatten(result.plan().prologue()))
        .containsExactlyElementsIn(result.graph().prologue())
        .inOrder();
    assertThat(flatten(result.plan().epilogue()))
        .containsExactlyElementsIn(result.graph().epilogue())
        .inOrder();
  }

  @Test
  void singleHeadToyIsTwoKernelsPerLayer() {
    KernelPlan plan = plan(SEED_SINGLE_HEAD).plan();

    // No norm, no RoPE, no softmax, no mask, no output projection, no residual, no MLP; biases.
    assertThat(signatures(plan.layer()))
        .containsExactly(
            List.of(
                "Linear(Q_PROJ+Q_PROJ_BIAS)->q",
                "Linear(K_PROJ+K_PROJ_BIAS)->k",
                "Linear(V_PROJ+V_PROJ_BIAS)->v",
                "CacheWrite(k,v)"),
            // The heads' output replaces the stream.
            List.of("Scores(unmasked)", "WeightedValues->x"))
        .inOrder();
    assertThat(names(plan.layer()))
        .containsExactly("fusedQkvCacheWrite", "fusedAttention")
        .inOrder();
    assertThat(shapes(plan.layer()))
        .containsExactly(KernelShape.PROJECTION, KernelShape.ATTENTION)
        .inOrder();

    assertThat(signatures(plan.prologue())).containsExactly(List.of("Embed->x"));
    // A lone LM head with its bias: nothing to fuse it with.
    assertThat(signatures(plan.epilogue()))
        .containsExactly(List.of("Linear(LM_HEAD+LM_HEAD_BIAS)->logits"));
    assertThat(names(plan.epilogue())).containsExactly("lmHead");
  }

  @Test
  void tiedEmbeddingsProjectWithTheEmbeddingTable() {
    KernelPlan plan = plan(SEED_LLAMA.toBuilder().tieWordEmbeddings(true).build()).plan();

    assertThat(signatures(plan.epilogue()))
        .containsExactly(List.of("RmsNorm(NORM)", "Linear(EMBED_TOKENS)->logits"));
    assertThat(names(plan.epilogue())).containsExactly("fusedRmsNormLmHead");
  }

  @Test
  void biasesRideAlongInTheSameKernels() {
    KernelPlan plan =
        plan(SEED_LLAMA.toBuilder().attentionBias(true).mlpBias(true).lmHeadBias(true).build())
            .plan();

    assertThat(names(plan.layer()))
        .containsExactly(
            "fusedRmsNormQkvRopeCacheWrite",
            "fusedAttention",
            "fusedOutputProjectionResidual",
            "fusedRmsNormGateUpSilu",
            "fusedDownProjectionResidual")
        .inOrder();
    assertThat(signatures(plan.layer()).get(0)).contains("Linear(Q_PROJ+Q_PROJ_BIAS)->q");
    assertThat(signatures(plan.layer()).get(2))
        .containsExactly("Linear(O_PROJ+O_PROJ_BIAS)->attnOut", "Add(x,attnOut)->x");
    assertThat(signatures(plan.layer()).get(4))
        .containsExactly("Linear(DOWN_PROJ+DOWN_PROJ_BIAS)->mlpOut", "Add(x,mlpOut)->x");
    assertThat(signatures(plan.epilogue()))
        .containsExactly(List.of("RmsNorm(NORM)", "Linear(LM_HEAD+LM_HEAD_BIAS)->logits"));
  }

  /** With nothing to absorb it, the residual add after attention stays a kernel of its own. */
  @Test
  void attentionOnlyResidualKeepsAStandaloneAdd() {
    ResolvedSpec spec =
        ResolvedSpec.builder()
            .vocabSize(50)
            .hiddenSize(32)
            .numHiddenLayers(2)
            .numAttentionHeads(4)
            .maxPositionEmbeddings(64)
            .norm(NormKind.NONE)
            .mlp(MlpKind.NONE)
            .attentionOutputProjection(false)
            .maxBatchSize(2)
            .build();
    KernelPlan plan = plan(spec).plan();

    assertThat(signatures(plan.layer()))
        .containsExactly(
            List.of(
                "Linear(Q_PROJ)->q",
                "Linear(K_PROJ)->k",
                "Linear(V_PROJ)->v",
                "Rope(q)",
                "Rope(k)",
                "CacheWrite(k,v)"),
            List.of("Scores(causal)", "Softmax", "WeightedValues->attn"),
            List.of("Add(x,attn)->x"))
        .inOrder();
    assertThat(names(plan.layer()))
        .containsExactly("fusedQkvRopeCacheWrite", "fusedAttention", "residualAdd")
        .inOrder();
    assertThat(shapes(plan.layer()).get(2)).isEqualTo(KernelShape.RESIDUAL_ADD);
  }

  /**
   * Qwen3: each head of q and k is normalized in the qkv kernel, before RoPE rotates it and it is
   * cached.
   */
  @Test
  void qwen3HeadNormsJoinTheQkvKernelBeforeRope() {
    KernelPlan plan = plan(SEED_LLAMA.toBuilder().headDim(96).qkNorm(true).build()).plan();

    assertThat(signatures(plan.layer()).get(0))
        .containsExactly(
            "RmsNorm(INPUT_LAYERNORM)",
            "Linear(Q_PROJ)->q",
            "Linear(K_PROJ)->k",
            "Linear(V_PROJ)->v",
            "HeadRmsNorm(Q_NORM)",
            "HeadRmsNorm(K_NORM)",
            "Rope(q)",
            "Rope(k)",
            "CacheWrite(k,v)")
        .inOrder();
    assertThat(names(plan.layer()).get(0)).isEqualTo("fusedRmsNormQkvQkNormRopeCacheWrite");
    assertThat(plan.layer()).hasSize(5);
  }

  /** Qwen2: biases on q, k and v only; o_proj has none. */
  @Test
  void qwen2BiasesAreOnQkvOnly() {
    KernelPlan plan = plan(SEED_LLAMA.toBuilder().qkvBias(true).build()).plan();

    assertThat(signatures(plan.layer()).get(0))
        .containsAtLeast(
            "Linear(Q_PROJ+Q_PROJ_BIAS)->q",
            "Linear(K_PROJ+K_PROJ_BIAS)->k",
            "Linear(V_PROJ+V_PROJ_BIAS)->v");
    assertThat(signatures(plan.layer()).get(2))
        .containsExactly("Linear(O_PROJ)->attnOut", "Add(x,attnOut)->x");
  }

  /**
   * Gemma 2: the post norms cannot join the projection before them (they need the whole row), so
   * each joins the residual add after it; the pre-MLP norm is pre_feedforward_layernorm; GELU and
   * the final soft-capping ride in their projections.
   */
  @Test
  void gemma2SandwichNormsJoinTheResidualAdds() {
    ResolvedSpec gemma =
        SEED_LLAMA.toBuilder()
            .tieWordEmbeddings(true)
            .rmsNormUnitOffset(true)
            .scaleEmbeddings(true)
            .sandwichNorms(true)
            .hiddenAct(dev.kiln.Activation.GELU_TANH)
            .queryPreAttnScalar(32.0)
            .attnLogitSoftcapping(50.0)
            .finalLogitSoftcapping(30.0)
            .slidingWindow(16)
            .slidingWindowLayers(dev.kiln.SlidingWindowLayers.EVEN)
            .build();
    KernelPlan plan = plan(gemma).plan();

    assertThat(signatures(plan.prologue())).containsExactly(List.of("Embed->x"));
    assertThat(signatures(plan.layer()))
        .containsExactly(
            List.of(
                "RmsNorm(INPUT_LAYERNORM)",
                "Linear(Q_PROJ)->q",
                "Linear(K_PROJ)->k",
                "Linear(V_PROJ)->v",
                "Rope(q)",
                "Rope(k)",
                "CacheWrite(k,v)"),
            List.of("Scores(causal)", "Softmax", "WeightedValues->attn"),
            List.of("Linear(O_PROJ)->attnOut"),
            List.of("RmsNorm(POST_ATTENTION_LAYERNORM)->attnOut", "Add(x,attnOut)->x"),
            List.of(
                "RmsNorm(PRE_FEEDFORWARD_LAYERNORM)",
                "Linear(GATE_PROJ)->gate",
                "Linear(UP_PROJ)->up",
                "GeluTanh(gate)",
                "Multiply(gateAct,up)"),
            List.of("Linear(DOWN_PROJ)->mlpOut"),
            List.of("RmsNorm(POST_FEEDFORWARD_LAYERNORM)->mlpOut", "Add(x,mlpOut)->x"))
        .inOrder();
    assertThat(names(plan.layer()))
        .containsExactly(
            "fusedRmsNormQkvRopeCacheWrite",
            "fusedAttention",
            "outputProjection",
            "fusedPostNormResidualAdd",
            "fusedRmsNormGateUpGelu",
            "downProjection",
            "fusedPostNormResidualAdd")
        .inOrder();
    assertThat(shapes(plan.layer()).get(3)).isEqualTo(KernelShape.NORM_RESIDUAL_ADD);
    assertThat(signatures(plan.epilogue()))
        .containsExactly(
            List.of("RmsNorm(NORM)", "Linear(EMBED_TOKENS)->logits", "Softcap(logits)"));
    assertThat(names(plan.epilogue())).containsExactly("fusedRmsNormLmHeadSoftcap");
    // The flags that the backends read from the ops.
    Op.Embed embed = (Op.Embed) plan.prologue().getFirst().single();
    assertThat(embed.scaled()).isTrue();
    Op.AttentionScores scores = (Op.AttentionScores) plan.layer().get(1).ops().getFirst();
    assertThat(scores.customScale()).isTrue();
    assertThat(scores.softcapped()).isTrue();
    assertThat(scores.windowed()).isTrue();
    assertThat(plan.layer().getFirst().opsOf(Op.RmsNorm.class).getFirst().unitOffset()).isTrue();
  }

  static Stream<Arguments> kernelsPerLayer() {
    return Stream.of(
        Arguments.of("seed Llama", SEED_LLAMA, 5),
        Arguments.of("GQA, 2 kv heads", SEED_LLAMA.toBuilder().numKeyValueHeads(2).build(), 5),
        Arguments.of(
            "multi-query, 1 kv head", SEED_LLAMA.toBuilder().numKeyValueHeads(1).build(), 5),
        Arguments.of(
            "head dim 40",
            ResolvedSpec.builder()
                .vocabSize(131)
                .hiddenSize(120)
                .intermediateSize(160)
                .numHiddenLayers(1)
                .numAttentionHeads(3)
                .maxPositionEmbeddings(64)
                .build(),
            5),
        Arguments.of(
            "head dim 96",
            ResolvedSpec.builder()
                .vocabSize(257)
                .hiddenSize(160)
                .intermediateSize(224)
                .numHiddenLayers(3)
                .numAttentionHeads(2)
                .numKeyValueHeads(1)
                .headDim(96)
                .build(),
            5),
        Arguments.of("no causal mask", SEED_LLAMA.toBuilder().causalMask(false).build(), 5),
        Arguments.of(
            "no MLP", SEED_LLAMA.toBuilder().mlp(MlpKind.NONE).intermediateSize(0).build(), 3),
        Arguments.of("seed single head", SEED_SINGLE_HEAD, 2),
        Arguments.of("Qwen3 head norms", SEED_LLAMA.toBuilder().qkNorm(true).build(), 5),
        Arguments.of(
            "Gemma 2 sandwich norms", SEED_LLAMA.toBuilder().sandwichNorms(true).build(), 7),
        Arguments.of(
            "sandwich norms without MLP",
            SEED_LLAMA.toBuilder()
                .sandwichNorms(true)
                .mlp(MlpKind.NONE)
                .intermediateSize(0)
                .build(),
            4));
  }

  @ParameterizedTest(name = "{0}: {2} kernels per layer")
  @MethodSource("kernelsPerLayer")
  void kernelCountPerLayer(String name, ResolvedSpec spec, int kernels) {
    KernelPlan plan = plan(spec).plan();

    assertThat(plan.layer()).hasSize(kernels);
    for (List<Kernel> section : plan.sections()) {
      for (Kernel kernel : section) {
        assertWithMessage("template of %s", kernel).that(kernel.shape()).isNotNull();
      }
    }
  }

  /**
   * The public seam of a compilation: {@code -Akiln.dumpIr=true} notes the plan after each pass.
   */
  @Test
  void dumpIrNotesThePlanAfterEveryPass() {
    JavaFileObject source = ExampleSpecs.source("main", "dev.kiln.examples.SeedLlama");
    Compilation compilation =
        Compiler.javac()
            .withProcessors(new KilnProcessor())
            .withOptions("-Akiln.dumpIr=true")
            .compile(source);

    assertThat(compilation).succeeded();
    List<String> notes = new ArrayList<>();
    for (Diagnostic<? extends JavaFileObject> note : compilation.notes()) {
      if (note.getMessage(null).startsWith("[Kiln/IR] ")) {
        notes.add(note.getMessage(null));
      }
    }
    List<Pass> passes = Passes.standard();
    assertThat(notes).hasSize(1 + passes.size());
    assertThat(notes.get(0)).startsWith("[Kiln/IR] op graph of dev.kiln.examples.SeedLlama:\n");
    for (int i = 0; i < passes.size(); i++) {
      assertThat(notes.get(i + 1)).startsWith("[Kiln/IR] after " + passes.get(i).name() + ":\n");
    }
    String lastPass = "[Kiln/IR] after " + passes.getLast().name() + ":";
    assertThat(compilation).hadNoteContaining(lastPass).inFile(source);

    // The last note is the final plan, as Pipeline.run makes it for the same spec.
    KernelPlan plan = plan(SEED_LLAMA).plan();
    // (javac indents a diagnostic's continuation lines and drops its trailing newline)
    assertThat(strippedLines(notes.getLast()))
        .containsExactlyElementsIn(strippedLines(lastPass + "\n" + plan.dump()))
        .inOrder();
    // Unfused, the op graph lists every op as its own kernel: 19 in the layer.
    String layerSection =
        notes
            .get(0)
            .substring(
                notes.get(0).indexOf("layer (x numHiddenLayers):"),
                notes.get(0).indexOf("epilogue:"));
    assertThat(strippedLines(layerSection)).hasSize(1 + 19);
  }

  @Test
  void noIrNotesWithoutTheOption() {
    JavaFileObject source = ExampleSpecs.source("main", "dev.kiln.examples.SeedLlama");
    Compilation compilation = Compiler.javac().withProcessors(new KilnProcessor()).compile(source);

    assertThat(compilation).succeeded();
    for (Diagnostic<? extends JavaFileObject> note : compilation.notes()) {
      assertThat(note.getMessage(null)).doesNotContain("[Kiln/IR]");
    }
  }

  // --- Describing kernels by their ops' record fields (not by the text the backend prints).

  static List<List<String>> signatures(List<Kernel> kernels) {
    return kernels.stream()
        .map(kernel -> kernel.ops().stream().map(PlanTest::signature).toList())
        .toList();
  }

  static String signature(Op op) {
    return switch (op) {
      case Op.Embed embed -> "Embed->" + embed.out().name();
      case Op.RmsNorm norm ->
          "RmsNorm("
              + norm.gain()
              + ")"
              + (norm.in().equals(norm.out()) ? "->" + norm.out().name() : "");
      case Op.Linear linear ->
          "Linear("
              + linear.weight()
              + (linear.bias() == null ? "" : "+" + linear.bias())
              + ")->"
              + linear.out().name();
      case Op.Rope rope -> "Rope(" + rope.target().name() + ")";
      case Op.CacheWrite write ->
          "CacheWrite(" + write.keys().name() + "," + write.values().name() + ")";
      case Op.AttentionScores scores -> "Scores(" + (scores.causal() ? "causal" : "unmasked") + ")";
      case Op.Softmax softmax -> "Softmax";
      case Op.WeightedValues weighted -> "WeightedValues->" + weighted.out().name();
      case Op.Activate activate ->
          (activate.function() == dev.kiln.Activation.SILU ? "Silu(" : "GeluTanh(")
              + activate.in().name()
              + ")";
      case Op.HeadRmsNorm norm -> "HeadRmsNorm(" + norm.gain() + ")";
      case Op.Softcap softcap -> "Softcap(" + softcap.target().name() + ")";
      case Op.Multiply multiply ->
          "Multiply(" + multiply.a().name() + "," + multiply.b().name() + ")";
      case Op.Add add -> "Add(" + add.a().name() + "," + add.b().name() + ")->" + add.out().name();
    };
  }

  static List<String> names(List<Kernel> kernels) {
    return kernels.stream().map(Kernel::name).toList();
  }

  static List<KernelShape> shapes(List<Kernel> kernels) {
    return kernels.stream().map(Kernel::shape).toList();
  }

  static List<String> strippedLines(String text) {
    return text.lines().map(String::strip).filter(line -> !line.isEmpty()).toList();
  }

  static List<Op> flatten(List<Kernel> kernels) {
    return kernels.stream().flatMap(kernel -> kernel.ops().stream()).toList();
  }
}
