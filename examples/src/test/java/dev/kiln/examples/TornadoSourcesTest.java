package dev.kiln.examples;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.sun.source.util.JavacTask;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every spec of this module, main and test, has its {@code XTornadoDecoder}: without TornadoVM the
 * build keeps it as a resource (well-formed Java, checked by javac's parser); with TornadoVM (the
 * {@code tornado} profile) it is a compiled class. Either way it runs the same kernel plan as the
 * Java decoder.
 */
class TornadoSourcesTest {
  static final String RESOURCE_ROOT = "META-INF/kiln/tornado/";

  static Stream<Class<?>> decoders() {
    return Stream.of(
        SeedLlamaDecoder.class,
        SeedSingleHeadDecoder.class,
        Stories110MDecoder.class,
        Llama1BDecoder.class,
        dev.kiln.examples.specs.GqaTwoKvHeadsDecoder.class,
        dev.kiln.examples.specs.MultiQueryDecoder.class,
        dev.kiln.examples.specs.HeadDim40Decoder.class,
        dev.kiln.examples.specs.HeadDim96Decoder.class,
        dev.kiln.examples.specs.TiedEmbeddingsDecoder.class,
        dev.kiln.examples.specs.AllBiasesDecoder.class,
        dev.kiln.examples.specs.AttentionOnlyResidualDecoder.class,
        dev.kiln.examples.specs.ConformanceTinyDecoder.class,
        dev.kiln.examples.specs.ConformanceSeedDecoder.class,
        dev.kiln.examples.specs.ConformanceGqaDecoder.class,
        dev.kiln.examples.specs.ConformanceLlama3RopeDecoder.class,
        dev.kiln.examples.specs.ConformanceQwen2Decoder.class,
        dev.kiln.examples.specs.ConformanceQwen3Decoder.class,
        dev.kiln.examples.specs.ConformanceGemma2Decoder.class);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("decoders")
  void tornadoDecoderExistsAndRunsTheSamePlan(Class<?> javaDecoder) throws Exception {
    String name = javaDecoder.getName().replaceAll("Decoder$", "TornadoDecoder");
    List<String> javaPlan = plannedKernels(javaDecoder);
    assertThat(javaPlan).isNotEmpty();

    String resource = RESOURCE_ROOT + name.replace('.', '/') + ".java";
    try (InputStream in = javaDecoder.getClassLoader().getResourceAsStream(resource)) {
      if (in != null) {
        String source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        assertWithMessage("syntax errors in %s", resource)
            .that(syntaxErrors(name, source))
            .isEmpty();
        assertWithMessage("PLANNED_KERNELS of %s", resource)
            .that(stringList(source, "PLANNED_KERNELS"))
            .isEqualTo(javaPlan);
        return;
      }
    }
    Class<?> compiled;
    try {
      compiled = Class.forName(name, false, javaDecoder.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new AssertionError(
          "neither " + resource + " nor the class " + name + " was generated", e);
    }
    assertWithMessage("PLANNED_KERNELS of %s", name)
        .that(plannedKernels(compiled))
        .isEqualTo(javaPlan);
  }

  @SuppressWarnings("unchecked")
  private static List<String> plannedKernels(Class<?> decoder) throws ReflectiveOperationException {
    return (List<String>) decoder.getField("PLANNED_KERNELS").get(null);
  }

  private static List<String> stringList(String source, String field) {
    Matcher m = Pattern.compile(field + " = List\\.of\\(([^)]*)\\)").matcher(source);
    assertWithMessage("%s in source", field).that(m.find()).isTrue();
    List<String> result = new ArrayList<>();
    Matcher item = Pattern.compile("\"(\\w+)\"").matcher(m.group(1));
    while (item.find()) {
      result.add(item.group(1));
    }
    return result;
  }

  private static List<String> syntaxErrors(String name, String source) throws IOException {
    JavaFileObject file =
        new SimpleJavaFileObject(
            URI.create("string:///" + name.replace('.', '/') + ".java"),
            JavaFileObject.Kind.SOURCE) {
          @Override
          public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return source;
          }
        };
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    JavacTask task =
        (JavacTask)
            ToolProvider.getSystemJavaCompiler()
                .getTask(null, null, diagnostics, List.of("-proc:none"), null, List.of(file));
    task.parse();
    return diagnostics.getDiagnostics().stream()
        .filter(d -> d.getKind() == javax.tools.Diagnostic.Kind.ERROR)
        .map(d -> d.getLineNumber() + ": " + d.getMessage(null))
        .toList();
  }
}
