package dev.kiln.processor;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static com.google.testing.compile.CompilationSubject.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.Compiler;
import com.sun.source.util.JavacTask;
import dev.kiln.processor.backend.tornado.TornadoBackend;
import dev.kiln.processor.backend.tornado.TornadoPlanException;
import dev.kiln.processor.ir.Op;
import dev.kiln.processor.ir.Value;
import dev.kiln.processor.plan.Kernel;
import dev.kiln.processor.plan.KernelPlan;
import dev.kiln.spec.ModelSpec;
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
 * The TornadoVM backend without TornadoVM: for every example spec the processor writes
 * {@code XTornadoDecoder}'s source (as a resource, since TornadoVM is not on this class path), the
 * source is well-formed Java, and its tasks implement exactly the kernel plan the Java backend
 * emits, in the same order.
 */
class TornadoBackendTest {
  static Stream<GeneratedSourceTest.Example> examples() {
    return GeneratedSourceTest.examples();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("examples")
  void sourceIsWrittenAsAResourceAndParses(GeneratedSourceTest.Example example) throws IOException {
    Compilation compilation = Compiler.javac().withProcessors(new KilnProcessor())
        .withOptions(GeneratedSourceTest.STRICT)
        .compile(ExampleSpecs.source(example.sourceSet(), example.qualifiedName()));
    assertThat(compilation).succeededWithoutWarnings();
    String path = KilnProcessor.TORNADO_RESOURCE_ROOT + example.base().replace('.', '/') + "TornadoDecoder.java";
    JavaFileObject resource = compilation.generatedFile(StandardLocation.CLASS_OUTPUT, "", path)
        .orElseThrow(() -> new AssertionError("not written: " + path));
    String source = resource.getCharContent(true).toString();

    assertWithMessage("syntax errors in %s", path).that(syntaxErrors(source)).isEmpty();
    assertThat(source).contains("public final class " + simpleName(example) + "TornadoDecoder extends GeneratedDecoder");
    assertThat(source).contains("import uk.ac.manchester.tornado.api.TaskGraph;");

    String decoder = GeneratedSourceTest.generated(compilation, example.base() + "Decoder");
    assertWithMessage("PLANNED_KERNELS of the two backends").that(stringList(source, "PLANNED_KERNELS"))
        .isEqualTo(stringList(decoder, "PLANNED_KERNELS"));
    for (String kernel : stringList(decoder, "PLANNED_KERNELS")) {
      assertWithMessage("Java backend method for %s", kernel).that(decoder).containsMatch("private void " + kernel + "\\(");
    }
  }

  static Stream<Arguments> specs() {
    return Stream.of(
        Arguments.of("seed Llama", PlanTest.SEED_LLAMA),
        Arguments.of("GQA, 2 kv heads", PlanTest.SEED_LLAMA.toBuilder().numKeyValueHeads(2).build()),
        Arguments.of("tied embeddings, biases", PlanTest.SEED_LLAMA.toBuilder().tieWordEmbeddings(true).attentionBias(true)
            .mlpBias(true).build()),
        Arguments.of("no causal mask", PlanTest.SEED_LLAMA.toBuilder().causalMask(false).build()),
        Arguments.of("no MLP", PlanTest.SEED_LLAMA.toBuilder().mlp(dev.kiln.MlpKind.NONE).intermediateSize(0).build()),
        Arguments.of("seed single head", PlanTest.SEED_SINGLE_HEAD));
  }

  /** Each task names the planned kernel it implements; together they cover the plan in order. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("specs")
  void tasksCoverThePlanInOrder(String name, ModelSpec spec) {
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
      assertWithMessage("graph order at %s", task).that(graphOrder.indexOf(m.group(1)))
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
    List<String> layer = PlanTest.plan(PlanTest.SEED_LLAMA).tornado().tasks().stream()
        .filter(t -> t.startsWith("layer.")).map(t -> t.substring(6, t.indexOf(' '))).toList();
    assertThat(layer).containsExactly("input_layernorm_reduce", "input_layernorm_finalize", "qkv_projection", "rope",
        "attention", "output_projection", "post_attention_layernorm_reduce", "post_attention_layernorm_finalize",
        "gate_up_silu", "down_projection").inOrder();
  }

  /** A kernel TornadoVM cannot take as one task is refused when the plan is emitted, naming it. */
  @Test
  void aTaskOverTwentyArgumentsIsRefusedAtBuildTime() {
    ModelSpec spec = PlanTest.SEED_LLAMA.toBuilder().attentionBias(true).mlpBias(true).build();
    KernelPlan standard = PlanTest.plan(spec).plan();
    List<Op> ops = new ArrayList<>(List.of(new Op.RmsNorm(Value.X, LayerTensor.INPUT_LAYERNORM, Value.NORMED)));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.Q_PROJ, LayerTensor.Q_PROJ_BIAS, Value.Q));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.K_PROJ, LayerTensor.K_PROJ_BIAS, Value.K));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.V_PROJ, LayerTensor.V_PROJ_BIAS, Value.V));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.GATE_PROJ, LayerTensor.GATE_PROJ_BIAS, Value.GATE));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.UP_PROJ, LayerTensor.UP_PROJ_BIAS, Value.UP));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.O_PROJ, LayerTensor.O_PROJ_BIAS, Value.ATTN_OUT));
    ops.add(new Op.Linear(Value.NORMED, LayerTensor.DOWN_PROJ, LayerTensor.DOWN_PROJ_BIAS, Value.MLP_OUT));
    KernelPlan wide = new KernelPlan(spec, standard.prologue(), List.of(new Kernel(ops)), standard.epilogue());

    var e = assertThrows(TornadoPlanException.class,
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
    JavaFileObject file = com.google.testing.compile.JavaFileObjects.forSourceString("Generated", source);
    JavacTask task = (JavacTask) compiler.getTask(null, null, diagnostics, List.of("-proc:none"), null, List.of(file));
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
