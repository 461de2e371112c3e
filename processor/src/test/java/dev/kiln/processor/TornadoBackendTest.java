package dev.kiln.processor;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static com.google.testing.compile.CompilationSubject.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.testing.compile.Compilation;
import com.sun.source.util.JavacTask;
import dev.kiln.Activation;
import dev.kiln.RopeScaling;
import dev.kiln.SlidingWindowLayers;
import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import dev.kiln.processor.backend.tornado.TornadoBackend;
import dev.kiln.processor.backend.tornado.TornadoPlanException;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.processor.plan.KernelPlan;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.LayerTensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaFileObject;
import javax.tools.StandardLocation;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The TornadoVM backend without TornadoVM: for every example spec the processor writes {@code
 * XTornadoDecoder}'s source (as a resource, since TornadoVM is not on this class path), the source
 * is well-formed Java, and its tasks implement exactly the kernel plan the Java backend emits, in
 * the same order.
 */
class TornadoBackendTest {
  static Stream<GeneratedSourceTest.Example> examples() {
    return GeneratedSourceTest.examples();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("examples")
  void sourceIsWrittenAsAResourceAndParses(GeneratedSourceTest.Example example) throws IOException {
    Compilation compilation = GeneratedSourceTest.compile(example, GeneratedSourceTest.STRICT);
    assertThat(compilation).succeededWithoutWarnings();
    String path =
        KilnProcessor.TORNADO_RESOURCE_ROOT
            + example.base().replace('.', '/')
            + "TornadoDecoder.java";
    JavaFileObject resource =
        compilation
            .generatedFile(StandardLocation.CLASS_OUTPUT, "", path)
            .orElseThrow(() -> new AssertionError("not written: " + path));
    String source = resource.getCharContent(true).toString();

    assertWithMessage("syntax errors in %s", path).that(syntaxErrors(source)).isEmpty();
    assertThat(source)
        .contains(
            "public final class "
                + simpleName(example)
                + "TornadoDecoder extends GeneratedDecoder");
    assertThat(source).contains("import uk.ac.manchester.tornado.api.TaskGraph;");

    String decoder = GeneratedSourceTest.generated(compilation, example.base() + "Decoder");
    assertWithMessage("PLANNED_KERNELS of the two backends")
        .that(stringList(source, "PLANNED_KERNELS"))
        .isEqualTo(stringList(decoder, "PLANNED_KERNELS"));
    for (String kernel : stringList(decoder, "PLANNED_KERNELS")) {
      assertWithMessage("Java backend method for %s", kernel)
          .that(decoder)
          .containsMatch("private void " + kernel + "\\(");
    }
  }

  static Stream<Arguments> specs() {
    return Stream.of(
        Arguments.of("seed Llama", PlanTest.SEED_LLAMA),
        Arguments.of(
            "GQA, 2 kv heads", PlanTest.SEED_LLAMA.toBuilder().numKeyValueHeads(2).build()),
        Arguments.of(
            "tied embeddings, biases",
            PlanTest.SEED_LLAMA.toBuilder()
                .tieWordEmbeddings(true)
                .attentionBias(true)
                .mlpBias(true)
                .build()),
        Arguments.of("no causal mask", PlanTest.SEED_LLAMA.toBuilder().causalMask(false).build()),
        Arguments.of(
            "no MLP",
            PlanTest.SEED_LLAMA.toBuilder().mlp(dev.kiln.MlpKind.NONE).intermediateSize(0).build()),
        Arguments.of("seed single head", PlanTest.SEED_SINGLE_HEAD),
        Arguments.of("Llama 3 RoPE scaling", LLAMA3_ROPE),
        Arguments.of("Qwen2 q/k/v biases", QWEN2),
        Arguments.of("Qwen3 q/k norms", QWEN3),
        Arguments.of("Gemma 2", GEMMA2),
        Arguments.of(
            "sliding window on every layer, query scale",
            PlanTest.SEED_LLAMA.toBuilder()
                .slidingWindow(16)
                .slidingWindowLayers(SlidingWindowLayers.ALL)
                .queryPreAttnScalar(48)
                .build()));
  }

  /**
   * The shared conformance models of the other architectures (as examples/src/test declares them).
   */
  static final ResolvedSpec LLAMA3_ROPE =
      ResolvedSpec.builder()
          .vocabSize(256)
          .hiddenSize(128)
          .intermediateSize(256)
          .numHiddenLayers(2)
          .numAttentionHeads(2)
          .numKeyValueHeads(1)
          .headDim(64)
          .maxPositionEmbeddings(128)
          .ropeTheta(500000.0)
          .ropeScaling(RopeScaling.LLAMA3)
          .ropeScalingFactor(8.0)
          .ropeScalingLowFreqFactor(1.0)
          .ropeScalingHighFreqFactor(4.0)
          .ropeScalingOriginalMaxPositionEmbeddings(32)
          .build();

  static final ResolvedSpec QWEN2 =
      ResolvedSpec.builder()
          .vocabSize(256)
          .hiddenSize(128)
          .intermediateSize(320)
          .numHiddenLayers(2)
          .numAttentionHeads(4)
          .numKeyValueHeads(2)
          .maxPositionEmbeddings(128)
          .rmsNormEps(1e-6)
          .ropeTheta(1000000.0)
          .qkvBias(true)
          .build();
  static final ResolvedSpec QWEN3 =
      ResolvedSpec.builder()
          .vocabSize(256)
          .hiddenSize(128)
          .intermediateSize(256)
          .numHiddenLayers(2)
          .numAttentionHeads(4)
          .numKeyValueHeads(2)
          .headDim(48)
          .maxPositionEmbeddings(128)
          .rmsNormEps(1e-6)
          .ropeTheta(1000000.0)
          .qkNorm(true)
          .build();
  static final ResolvedSpec GEMMA2 =
      ResolvedSpec.builder()
          .vocabSize(256)
          .hiddenSize(64)
          .intermediateSize(192)
          .numHiddenLayers(3)
          .numAttentionHeads(4)
          .numKeyValueHeads(2)
          .headDim(32)
          .maxPositionEmbeddings(128)
          .rmsNormEps(1e-6)
          .tieWordEmbeddings(true)
          .rmsNormUnitOffset(true)
          .scaleEmbeddings(true)
          .sandwichNorms(true)
          .hiddenAct(Activation.GELU_TANH)
          .queryPreAttnScalar(32)
          .attnLogitSoftcapping(20.0)
          .finalLogitSoftcapping(10.0)
          .slidingWindow(4)
          .slidingWindowLayers(SlidingWindowLayers.EVEN)
          .build();

  /** What each new spec element puts into the generated TornadoVM source. */
  static Stream<Arguments> elements() {
    return Stream.of(
        Arguments.of(
            "ropeScaling",
            LLAMA3_ROPE,
            List.of(
                "private static final double[] INV_FREQ = {", "double frequency = INV_FREQ[i];")),
        Arguments.of(
            "qkvBias",
            QWEN2,
            List.of(
                "inputLayernorm) + qProjBias.get(o);",
                "inputLayernorm) + kProjBias.get(o);",
                "inputLayernorm) + vProjBias.get(o);")),
        Arguments.of(
            "qkNorm",
            QWEN3,
            List.of(
                "graph.task(\"qk_norm\", PlannedTornadoDecoder::qkNorm, context, rowInfo, q, layer.qNorm, layer.keyCache, layer.kNorm);",
                "grid(ROW_CAPACITY * (NUM_ATTENTION_HEADS + NUM_KEY_VALUE_HEADS), LOCAL_SIZE)",
                "headRmsNorm(q, r * Q_DIM + head * HEAD_DIM, qNorm);",
                "headRmsNorm(keyCache, rowInfo.get(ROW_INFO_START + r * ROW_FIELDS + CACHE_OFFSET) + (head - NUM_ATTENTION_HEADS)"
                    + " * HEAD_DIM, kNorm);",
                "float scale = 1f / TornadoMath.sqrt(sum / HEAD_DIM + (float) RMS_NORM_EPS);")),
        Arguments.of(
            "rmsNormUnitOffset",
            GEMMA2,
            List.of("(x.get(xStart + i) * scale * (1f + gain.get(i)))")),
        Arguments.of(
            "scaleEmbeddings",
            GEMMA2,
            List.of(
                "x.set(index, embedTokens.get(token * HIDDEN_SIZE + i) * EMBEDDING_SCALE);",
                "embedTokens.get(block + 2 + i % 32) * EMBEDDING_SCALE);")),
        Arguments.of(
            "sandwichNorms",
            GEMMA2,
            List.of(
                "graph.task(\"post_attention_layernorm_reduce\", PlannedTornadoDecoder::rmsNormReduce, context, rowInfo, attnOut, normPartials);",
                "graph.task(\"post_attention_layernorm_add\", PlannedTornadoDecoder::normResidualAdd, context, rowInfo, x, attnOut, normScale, layer.postAttentionLayernorm);",
                "graph.task(\"post_feedforward_layernorm_add\", PlannedTornadoDecoder::normResidualAdd, context, rowInfo, x, mlpOut, normScale, layer.postFeedforwardLayernorm);",
                "x.set(index, x.get(index) + branch.get(index) * normScale.get(r) * (1f + gain.get(i)));")),
        Arguments.of(
            "hiddenAct",
            GEMMA2,
            List.of(
                "act.set(r * INTERMEDIATE_SIZE + o, geluTanh(gate) * up);",
                "return 0.5f * v * (1f + TornadoMath.tanh(0.7978846f * (v + 0.044715f * v * v * v)));")),
        Arguments.of(
            "queryPreAttnScalar",
            PlanTest.SEED_LLAMA.toBuilder().queryPreAttnScalar(48).build(),
            List.of(
                "static final float ATTENTION_SCALE = " + (float) (1 / Math.sqrt(48)) + "f;",
                "score *= ATTENTION_SCALE;")),
        Arguments.of(
            "attnLogitSoftcapping",
            GEMMA2,
            List.of(
                "static final float ATTN_LOGIT_SOFTCAPPING = 20.0f;",
                "score = ATTN_LOGIT_SOFTCAPPING * TornadoMath.tanh(score / ATTN_LOGIT_SOFTCAPPING);")),
        Arguments.of(
            "finalLogitSoftcapping",
            GEMMA2,
            List.of(
                "logits.set(o, FINAL_LOGIT_SOFTCAPPING * TornadoMath.tanh(value / FINAL_LOGIT_SOFTCAPPING));")),
        Arguments.of(
            "slidingWindow",
            GEMMA2,
            List.of(
                "layers[i].slidingWindow.set(0, SPEC.slidingWindow(i));",
                "final IntArray slidingWindow = new IntArray(1);",
                "attn, layer.slidingWindow);",
                "int start = window > 0 && end > window ? end - window : 0;",
                "for (int t = start; t < end; t++) {")));
  }

  /**
   * Each new spec element is emitted (no TornadoVM problem), into a source that parses, as the
   * lines it needs.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("elements")
  void newElementsAreEmitted(String element, ResolvedSpec spec, List<String> lines) {
    Pipeline.Result result = PlanTest.plan(spec);
    assertWithMessage("TornadoVM problem").that(result.tornadoProblem()).isNull();
    String source = result.tornado().file().toString();
    assertWithMessage("syntax errors").that(syntaxErrors(source)).isEmpty();
    for (String line : lines) {
      assertWithMessage("%s: generated source", element).that(source).contains(line);
    }
  }

  /**
   * Without the new elements, none of their code appears (the Llama kernels are what they were).
   */
  @Test
  void llamaSourceHasNoneOfTheNewElements() {
    String source = PlanTest.plan(PlanTest.SEED_LLAMA).tornado().file().toString();
    for (String absent :
        List.of(
            "INV_FREQ",
            "EMBEDDING_SCALE",
            "SOFTCAPPING",
            "geluTanh",
            "headRmsNorm",
            "normResidualAdd",
            "slidingWindow",
            "1f + gain")) {
      assertWithMessage("Llama source").that(source).doesNotContain(absent);
    }
    assertThat(source).contains("double frequency = Math.pow(ROPE_THETA, -2.0 * i / HEAD_DIM);");
    assertThat(source).contains("(x.get(xStart + i) * scale * gain.get(i))");
  }

  @Test
  void qwen3NormsTheHeadsBetweenProjectionAndRope() {
    assertThat(layerTasks(QWEN3))
        .containsExactly(
            "input_layernorm_reduce",
            "input_layernorm_finalize",
            "qkv_projection",
            "qk_norm",
            "rope",
            "attention",
            "output_projection",
            "post_attention_layernorm_reduce",
            "post_attention_layernorm_finalize",
            "gate_up_silu",
            "down_projection")
        .inOrder();
  }

  /**
   * Gemma 2's post norms: reduce, finalize, then the add that applies the norm; the MLP's norm is
   * pre_feedforward.
   */
  @Test
  void gemma2LayerTasksNormEachBranchBeforeItsAdd() {
    assertThat(layerTasks(GEMMA2))
        .containsExactly(
            "input_layernorm_reduce",
            "input_layernorm_finalize",
            "qkv_projection",
            "rope",
            "attention",
            "output_projection",
            "post_attention_layernorm_reduce",
            "post_attention_layernorm_finalize",
            "post_attention_layernorm_add",
            "pre_feedforward_layernorm_reduce",
            "pre_feedforward_layernorm_finalize",
            "gate_up_gelu",
            "down_projection",
            "post_feedforward_layernorm_reduce",
            "post_feedforward_layernorm_finalize",
            "post_feedforward_layernorm_add")
        .inOrder();
    assertThat(PlanTest.plan(GEMMA2).tornado().tasks().getLast())
        .isEqualTo("logits.lm_head <- fusedRmsNormLmHeadSoftcap");
  }

  private static List<String> layerTasks(ResolvedSpec spec) {
    return PlanTest.plan(spec).tornado().tasks().stream()
        .filter(t -> t.startsWith("layer."))
        .map(t -> t.substring(6, t.indexOf(' ')))
        .toList();
  }

  /** Each task names the planned kernel it implements; together they cover the plan in order. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("specs")
  void tasksCoverThePlanInOrder(String name, ResolvedSpec spec) {
    Pipeline.Result result = PlanTest.plan(spec);
    assertWithMessage("TornadoVM problem").that(result.tornadoProblem()).isNull();
    Map<Kernel, String> names = result.plan().uniqueNames();
    List<String> planned = new ArrayList<>();
    result.plan().sections().forEach(section -> section.forEach(k -> planned.add(names.get(k))));

    List<String> tasks = result.tornado().tasks();
    LinkedHashSet<String> covered = new LinkedHashSet<>();
    String previousGraph = "embedding";
    List<String> graphOrder = List.of("embedding", "layer", "logits");
    for (String task : tasks) {
      Matcher m = Pattern.compile("(\\w+)\\.(\\w+) <- (\\w+)").matcher(task);
      assertWithMessage("task %s", task).that(m.matches()).isTrue();
      assertWithMessage("graph order at %s", task)
          .that(graphOrder.indexOf(m.group(1)))
          .isAtLeast(graphOrder.indexOf(previousGraph));
      previousGraph = m.group(1);
      covered.add(m.group(3));
    }
    assertThat(List.copyOf(covered)).isEqualTo(planned);
    assertThat(tasks.getFirst()).isEqualTo("embedding.embed_tokens <- embedTokens");
    assertThat(tasks.getLast()).endsWith("<- " + planned.getLast());
    assertThat(tasks.getLast()).startsWith("logits.lm_head");
  }

  @Test
  void llamaLayerTasksSplitOnlyTheNormsAndRope() {
    List<String> layer =
        PlanTest.plan(PlanTest.SEED_LLAMA).tornado().tasks().stream()
            .filter(t -> t.startsWith("layer."))
            .map(t -> t.substring(6, t.indexOf(' ')))
            .toList();
    assertThat(layer)
        .containsExactly(
            "input_layernorm_reduce",
            "input_layernorm_finalize",
            "qkv_projection",
            "rope",
            "attention",
            "output_projection",
            "post_attention_layernorm_reduce",
            "post_attention_layernorm_finalize",
            "gate_up_silu",
            "down_projection")
        .inOrder();
  }

  /**
   * The gpu layout: one RMSNorm task per norm, attention as a split and a combine task, the rest as
   * the cpu layout.
   */
  @Test
  void gpuLayoutTasksNormInOneTaskAndSplitAttention() {
    List<String> layer =
        PlanTest.plan(PlanTest.SEED_LLAMA).tornado().gpuTasks().stream()
            .filter(t -> t.startsWith("layer."))
            .map(t -> t.substring(6, t.indexOf(' ')))
            .toList();
    assertThat(layer)
        .containsExactly(
            "input_layernorm_scale",
            "qkv_projection",
            "rope",
            "attention_split",
            "attention_combine",
            "output_projection",
            "post_attention_layernorm_scale",
            "gate_up_silu",
            "down_projection")
        .inOrder();
    List<String> gemma =
        PlanTest.plan(GEMMA2).tornado().gpuTasks().stream()
            .filter(t -> t.startsWith("layer."))
            .map(t -> t.substring(6, t.indexOf(' ')))
            .toList();
    assertThat(gemma)
        .containsExactly(
            "input_layernorm_scale",
            "qkv_projection",
            "rope",
            "attention_split",
            "attention_combine",
            "output_projection",
            "post_attention_layernorm_scale",
            "post_attention_layernorm_add",
            "pre_feedforward_layernorm_scale",
            "gate_up_gelu",
            "down_projection",
            "post_feedforward_layernorm_scale",
            "post_feedforward_layernorm_add")
        .inOrder();
  }

  /**
   * Both layouts' tasks are in the one generated class: the gpu projections in every weight type
   * the device keeps.
   */
  @Test
  void theDecoderHoldsBothLayouts() {
    String source = PlanTest.plan(PlanTest.SEED_LLAMA).tornado().file().toString();
    assertThat(source).contains("buildCpuPlan()");
    assertThat(source).contains("buildGpuPlan()");
    for (String method :
        List.of(
            "qkvProjectionF32(",
            "qkvProjectionQ8_0(",
            "qkvProjectionGpuF32(",
            "qkvProjectionGpuF16(",
            "qkvProjectionGpuQ8_0(",
            "qkvProjectionGpuQ4_0(",
            "attentionSplit(",
            "attentionCombine(",
            "rmsNormRow(",
            "rmsNormReduce(",
            "attention(")) {
      assertWithMessage(method).that(source).contains("static void " + method);
    }
    assertThat(source).doesNotContain("qkvProjectionF16(");
  }

  /** A kernel TornadoVM cannot take as one task is refused when the plan is emitted, naming it. */
  @Test
  void aTaskOverTwentyArgumentsIsRefusedAtBuildTime() {
    ResolvedSpec spec = PlanTest.SEED_LLAMA.toBuilder().attentionBias(true).mlpBias(true).build();
    KernelPlan standard = PlanTest.plan(spec).plan();
    List<Op> ops =
        new ArrayList<>(
            List.of(new Op.RmsNorm(Value.X, LayerTensor.INPUT_LAYERNORM, Value.NORMED)));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.Q_PROJ, LayerTensor.Q_PROJ_BIAS, Value.Q));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.K_PROJ, LayerTensor.K_PROJ_BIAS, Value.K));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.V_PROJ, LayerTensor.V_PROJ_BIAS, Value.V));
    ops.add(
        new Op.Linear(Value.NORMED, LayerTensor.GATE_PROJ, LayerTensor.GATE_PROJ_BIAS, Value.GATE));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.UP_PROJ, LayerTensor.UP_PROJ_BIAS, Value.UP));
    ops.add(
        new Op.Linear(Value.NORMED, LayerTensor.O_PROJ, LayerTensor.O_PROJ_BIAS, Value.ATTN_OUT));
    ops.add(
        new Op.Linear(
            Value.NORMED, LayerTensor.DOWN_PROJ, LayerTensor.DOWN_PROJ_BIAS, Value.MLP_OUT));
    KernelPlan wide =
        new KernelPlan(spec, standard.prologue(), List.of(new Kernel(ops)), standard.epilogue());

    var e =
        assertThrows(
            TornadoPlanException.class,
            () -> TornadoBackend.emit(wide, new GeneratedNames("test", "Wide", "test.Wide")));
    assertThat(e).hasMessageThat().contains("task layer.");
    assertThat(e).hasMessageThat().contains("arguments; a TornadoVM task takes at most 20");
  }

  private static String simpleName(GeneratedSourceTest.Example example) {
    return example.base().substring(example.base().lastIndexOf('.') + 1);
  }

  /** {@code NAME = List.of("a", "b")} in a source, as a list. */
  static List<String> stringList(String source, String name) {
    Matcher m = Pattern.compile(name + " = List\\.of\\(([^)]*)\\)").matcher(source);
    assertWithMessage("%s in source", name).that(m.find()).isTrue();
    List<String> result = new ArrayList<>();
    Matcher item = Pattern.compile("\"(\\w+)\"").matcher(m.group(1));
    while (item.find()) {
      result.add(item.group(1));
    }
    return result;
  }

  /** javac's parser over the source alone (no types resolved: TornadoVM is not here). */
  static List<String> syntaxErrors(String source) {
    var compiler = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    JavaFileObject file =
        com.google.testing.compile.JavaFileObjects.forSourceString("Generated", source);
    JavacTask task =
        (JavacTask)
            compiler.getTask(null, null, diagnostics, List.of("-proc:none"), null, List.of(file));
    try {
      task.parse();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return diagnostics.getDiagnostics().stream()
        .filter(d -> d.getKind() == javax.tools.Diagnostic.Kind.ERROR)
        .map(d -> d.getLineNumber() + ": " + d.getMessage(null))
        .toList();
  }
}
