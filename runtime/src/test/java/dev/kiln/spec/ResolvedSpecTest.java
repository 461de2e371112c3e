package dev.kiln.spec;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.Activation;
import dev.kiln.KilnException;
import dev.kiln.MlpKind;
import dev.kiln.NormKind;
import dev.kiln.PositionEncoding;
import dev.kiln.RopeScaling;
import dev.kiln.ScoreNormalization;
import dev.kiln.SlidingWindowLayers;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.Element;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * The {@link ResolvedSpec} record: derived sizes, builder defaults, annotation source, differences.
 */
class ResolvedSpecTest {

  /**
   * vocab 10, hidden 8, intermediate 12, 2 layers, 2 heads of 4, 1 KV head; everything else
   * default.
   */
  private static ResolvedSpec smallGqa() {
    return ResolvedSpec.builder()
        .vocabSize(10)
        .hiddenSize(8)
        .intermediateSize(12)
        .numHiddenLayers(2)
        .numAttentionHeads(2)
        .numKeyValueHeads(1)
        .build();
  }

  /** The seed notebook's toy single-head model. */
  private static ResolvedSpec toy() {
    return ResolvedSpec.builder()
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
  }

  /**
   * Differs from {@link #smallGqa()} in every element of the newer families (RoPE scaling, Qwen,
   * Gemma); with {@link #everythingElse()} they cover every element.
   */
  private static ResolvedSpec newFamilies() {
    return smallGqa().toBuilder()
        .ropeScaling(RopeScaling.LLAMA3)
        .ropeScalingFactor(8.0)
        .ropeScalingLowFreqFactor(2.0)
        .ropeScalingHighFreqFactor(8.0)
        .ropeScalingOriginalMaxPositionEmbeddings(16)
        .qkvBias(true)
        .qkNorm(true)
        .rmsNormUnitOffset(true)
        .scaleEmbeddings(true)
        .sandwichNorms(true)
        .hiddenAct(Activation.GELU_TANH)
        .queryPreAttnScalar(16.0)
        .attnLogitSoftcapping(20.0)
        .finalLogitSoftcapping(10.0)
        .slidingWindow(3)
        .slidingWindowLayers(SlidingWindowLayers.EVEN)
        .build();
  }

  /**
   * Differs from {@link #smallGqa()} in every element of the Llama architecture (the newer
   * families' excepted).
   */
  private static ResolvedSpec everythingElse() {
    return ResolvedSpec.builder()
        .vocabSize(11)
        .hiddenSize(16)
        .intermediateSize(0)
        .numHiddenLayers(3)
        .numAttentionHeads(8)
        .numKeyValueHeads(2)
        .headDim(2)
        .maxPositionEmbeddings(8)
        .ropeTheta(500000.0)
        .rmsNormEps(1e-5)
        .tieWordEmbeddings(true)
        .attentionBias(true)
        .mlpBias(true)
        .lmHeadBias(true)
        .attentionOutputProjection(false)
        .residualConnections(false)
        .norm(NormKind.NONE)
        .mlp(MlpKind.NONE)
        .positionEncoding(PositionEncoding.NONE)
        .scoreNormalization(ScoreNormalization.NONE)
        .causalMask(false)
        .maxBatchSize(2)
        .maxKvCacheBytes(1L << 30)
        .build();
  }

  @Test
  void derivedSizes() {
    ResolvedSpec spec = smallGqa();
    assertThat(spec.headDim()).isEqualTo(4); // 8 / 2
    assertThat(spec.numKeyValueHeads()).isEqualTo(1);
    assertThat(spec.qDim()).isEqualTo(8);
    assertThat(spec.kvDim()).isEqualTo(4);
    assertThat(spec.kvGroupSize()).isEqualTo(2);

    ResolvedSpec explicit =
        ResolvedSpec.builder()
            .vocabSize(10)
            .hiddenSize(8)
            .intermediateSize(12)
            .numHiddenLayers(1)
            .numAttentionHeads(6)
            .numKeyValueHeads(2)
            .headDim(10)
            .build();
    assertThat(explicit.qDim()).isEqualTo(60);
    assertThat(explicit.kvDim()).isEqualTo(20);
    assertThat(explicit.kvGroupSize()).isEqualTo(3);
  }

  @Test
  void kvCacheBytes() {
    ResolvedSpec spec = smallGqa().toBuilder().maxBatchSize(3).maxPositionEmbeddings(100).build();
    // 2 (k and v) x 2 layers x 3 sequences x 100 positions x kv_dim 4 x 4 bytes
    assertThat(spec.kvCacheBytes()).isEqualTo(2L * 2 * 3 * 100 * 4 * 4);
    assertThat(spec.kvCacheBytes(1, 7)).isEqualTo(2L * 2 * 1 * 7 * 4 * 4);
    assertThat(ResolvedSpec.KV_CACHE_ELEMENT_BYTES).isEqualTo(4);
  }

  @Test
  void kvCacheBytesDoesNotOverflowInt() {
    // Llama 2 7B at batch 8: 2 x 32 x 8 x 4096 x 4096 x 4 = 32 GiB.
    ResolvedSpec spec =
        ResolvedSpec.builder()
            .vocabSize(32000)
            .hiddenSize(4096)
            .intermediateSize(11008)
            .numHiddenLayers(32)
            .numAttentionHeads(32)
            .maxPositionEmbeddings(4096)
            .maxBatchSize(8)
            .build();
    assertThat(spec.kvCacheBytes()).isEqualTo(32L << 30);
  }

  @Test
  void parameterCountOfASmallConfigByHand() {
    // Per layer: input norm 8, q 8x8, k 4x8, v 4x8, o 8x8, post norm 8, gate/up/down 3 x 12x8.
    long perLayer = 8 + 64 + 32 + 32 + 64 + 8 + 3 * 96;
    // embed 10x8, final norm 8, lm_head 10x8.
    long expected = 80 + 2 * perLayer + 8 + 80;
    assertThat(expected).isEqualTo(1160);
    assertThat(smallGqa().parameterCount()).isEqualTo(expected);
  }

  @Test
  void parameterCountWithBiasesAndTiedEmbeddings() {
    ResolvedSpec spec =
        smallGqa().toBuilder()
            .attentionBias(true)
            .mlpBias(true)
            .lmHeadBias(true)
            .tieWordEmbeddings(true)
            .build();
    // + per layer biases q 8, k 4, v 4, o 8, gate 12, up 12, down 8; + lm_head bias 10; - lm_head
    // 80.
    long expected = 1160 + 2 * (8 + 4 + 4 + 8 + 12 + 12 + 8) - 80 + 10;
    assertThat(spec.parameterCount()).isEqualTo(expected);
  }

  @Test
  void parameterCountOfTheToy() {
    // embed 64x128, q/k/v 128x128 with biases, lm_head 64x128 + bias 64.
    assertThat(toy().parameterCount()).isEqualTo(64 * 128 + 3 * (128 * 128 + 128) + 64 * 128 + 64);
  }

  @Test
  void parameterCountOfPublishedLlamas() {
    // Published sizes: Llama-2-7b-hf has 6,738,415,616 parameters, Meta-Llama-3-8B 8,030,261,248.
    ResolvedSpec llama2 =
        ResolvedSpec.builder()
            .vocabSize(32000)
            .hiddenSize(4096)
            .intermediateSize(11008)
            .numHiddenLayers(32)
            .numAttentionHeads(32)
            .maxPositionEmbeddings(4096)
            .rmsNormEps(1e-5)
            .build();
    assertThat(llama2.parameterCount()).isEqualTo(6_738_415_616L);
    ResolvedSpec llama3 =
        ResolvedSpec.builder()
            .vocabSize(128256)
            .hiddenSize(4096)
            .intermediateSize(14336)
            .numHiddenLayers(32)
            .numAttentionHeads(32)
            .numKeyValueHeads(8)
            .maxPositionEmbeddings(8192)
            .ropeTheta(500000.0)
            .rmsNormEps(1e-5)
            .build();
    assertThat(llama3.parameterCount()).isEqualTo(8_030_261_248L);
  }

  @Test
  void builderDefaultsAreLlamaConfigsDefaults() {
    SpecDraft d = ResolvedSpec.builder().draft();
    assertThat(d.intermediateSize()).isEqualTo(0);
    assertThat(d.numKeyValueHeads()).isEqualTo(0);
    assertThat(d.headDim()).isEqualTo(0);
    assertThat(d.maxPositionEmbeddings()).isEqualTo(2048);
    assertThat(d.ropeTheta()).isEqualTo(10000.0);
    assertThat(d.rmsNormEps()).isEqualTo(1e-6);
    assertThat(d.tieWordEmbeddings()).isFalse();
    assertThat(d.attentionBias()).isFalse();
    assertThat(d.mlpBias()).isFalse();
    assertThat(d.lmHeadBias()).isFalse();
    assertThat(d.attentionOutputProjection()).isTrue();
    assertThat(d.residualConnections()).isTrue();
    assertThat(d.norm()).isEqualTo(NormKind.RMS_NORM);
    assertThat(d.mlp()).isEqualTo(MlpKind.SWIGLU);
    assertThat(d.positionEncoding()).isEqualTo(PositionEncoding.ROPE);
    assertThat(d.scoreNormalization()).isEqualTo(ScoreNormalization.SOFTMAX);
    assertThat(d.causalMask()).isTrue();
    assertThat(d.maxBatchSize()).isEqualTo(1);
    assertThat(d.maxKvCacheBytes()).isEqualTo(Long.MAX_VALUE);
    // Required elements start at 0, which the rules reject.
    assertThat(d.vocabSize()).isEqualTo(0);
    assertThat(d.hiddenSize()).isEqualTo(0);
    assertThat(d.numHiddenLayers()).isEqualTo(0);
    assertThat(d.numAttentionHeads()).isEqualTo(0);
  }

  @Test
  void builderDefaultsEqualTheAnnotationsDeclaredDefaults() throws NoSuchMethodException {
    SpecDraft d = ResolvedSpec.builder().draft();
    for (SpecElement element : SpecElement.values()) {
      Method method = dev.kiln.ModelSpec.class.getMethod(element.elementName());
      Object declared = method.getDefaultValue();
      if (declared != null) {
        assertThat(d.value(element)).isEqualTo(declared);
      }
    }
  }

  @Test
  void specElementsMatchTheAnnotationAndTheSpecs() throws NoSuchMethodException {
    Set<String> elements =
        Arrays.stream(SpecElement.values())
            .map(SpecElement::elementName)
            .collect(Collectors.toSet());
    Set<String> annotation =
        Arrays.stream(dev.kiln.ModelSpec.class.getDeclaredMethods())
            .map(Method::getName)
            .collect(Collectors.toSet());
    assertThat(annotation).isEqualTo(elements);
    // Every element has an accessor of its type on the resolved spec and on the draft.
    for (SpecElement element : SpecElement.values()) {
      assertThat(ResolvedSpec.class.getMethod(element.elementName()).getReturnType())
          .isEqualTo(element.type());
      assertThat(SpecDraft.class.getMethod(element.elementName()).getReturnType())
          .isEqualTo(element.type());
    }
  }

  @Test
  void theTableMatchesTheAnnotationOneToOne() {
    // The same names, with the annotation's types and defaults.
    List<Method> methods = Arrays.stream(dev.kiln.ModelSpec.class.getDeclaredMethods()).toList();
    assertThat(methods.stream().map(Method::getName).toList())
        .containsExactlyElementsIn(
            Arrays.stream(SpecElement.values()).map(SpecElement::elementName).toList());
    for (Method method : methods) {
      SpecElement element =
          Arrays.stream(SpecElement.values())
              .filter(e -> e.elementName().equals(method.getName()))
              .findFirst()
              .orElseThrow();
      assertThat(element.type()).isEqualTo(method.getReturnType());
      assertThat(element.required()).isEqualTo(method.getDefaultValue() == null);
      if (method.getDefaultValue() != null) {
        assertThat(element.defaultValue()).isEqualTo(method.getDefaultValue());
      } else {
        assertThat(element.defaultValue()).isEqualTo(0);
      }
      assertThat(element.accepts(element.defaultValue())).isTrue();
      if (element.zeroMeans() != null) {
        assertThat(element.defaultValue()).isAnyOf(0, 0.0);
      }
    }
  }

  @Test
  void builderRejectsValuesOfTheWrongType() {
    var builder = ResolvedSpec.builder();
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> builder.set(SpecElement.ROPE_THETA, 10000));
    assertThat(e).hasMessageThat().contains("ropeTheta takes a Double");
    assertThrows(IllegalArgumentException.class, () -> builder.set(SpecElement.VOCAB_SIZE, null));
    assertThrows(IllegalArgumentException.class, () -> builder.set(SpecElement.NORM, MlpKind.NONE));
  }

  @Test
  void toBuilderAndDraftKeepEveryValue() {
    for (ResolvedSpec spec : List.of(smallGqa(), toy(), everythingElse())) {
      assertThat(spec.toBuilder().build()).isEqualTo(spec);
      assertThat(spec.toDraft().resolve()).isEqualTo(spec);
    }
  }

  @Test
  void annotationSourceListsOnlyNonDefaults() {
    assertThat(smallGqa().toAnnotationSource())
        .isEqualTo(
            """
        @ModelSpec(
            vocabSize = 10,
            hiddenSize = 8,
            intermediateSize = 12,
            numHiddenLayers = 2,
            numAttentionHeads = 2,
            numKeyValueHeads = 1)""");
    assertThat(everythingElse().toAnnotationSource())
        .contains("\n    ropeTheta = 500000.0,\n    rmsNormEps = 1.0e-5,\n");
    assertThat(everythingElse().toAnnotationSource()).contains("norm = NormKind.NONE,");
    assertThat(everythingElse().toAnnotationSource()).endsWith("maxKvCacheBytes = 1073741824L)");
  }

  @Test
  void annotationSourceRoundTripsThroughJavac() throws Exception {
    ResolvedSpec nonFinite = toy().toBuilder().ropeTheta(Double.NaN).build();
    ResolvedSpec infinite =
        toy().toBuilder()
            .ropeTheta(Double.POSITIVE_INFINITY)
            .rmsNormEps(Double.NEGATIVE_INFINITY)
            .build();
    ResolvedSpec explicitHeadDim = smallGqa().toBuilder().headDim(6).build();
    for (ResolvedSpec spec :
        List.of(
            smallGqa(),
            toy(),
            everythingElse(),
            newFamilies(),
            explicitHeadDim,
            nonFinite,
            infinite)) {
      assertThat(compileAndRead(spec.toAnnotationSource())).isEqualTo(spec);
    }
  }

  @Test
  void differencesListEveryDifferingElement() {
    ResolvedSpec a = smallGqa();
    ResolvedSpec b = everythingElse();
    List<String> differences = new ArrayList<>(a.differences(b));
    List<String> newer = a.differences(newFamilies());
    assertThat(newer).hasSize(16);
    // everythingElse's head dim is 2, so its resolved queryPreAttnScalar (headDim) differs too:
    // count it once
    assertThat(differences).contains("queryPreAttnScalar: 4.0 here, 2.0 there");
    differences.remove("queryPreAttnScalar: 4.0 here, 2.0 there");
    assertThat(differences).containsNoneIn(newer);
    assertThat(newer).contains("ropeScaling: NONE here, LLAMA3 there");
    assertThat(newer).contains("queryPreAttnScalar: 4.0 here, 16.0 there");
    differences.addAll(newer);
    differences.sort(
        java.util.Comparator.comparingInt(
            line ->
                SpecElement.valueOf(
                        line.substring(0, line.indexOf(':'))
                            .replaceAll("([a-z])([A-Z])", "$1_$2")
                            .toUpperCase(java.util.Locale.ROOT))
                    .ordinal()));
    assertThat(differences).hasSize(SpecElement.values().length);
    assertThat(differences).contains("vocabSize: 10 here, 11 there");
    assertThat(differences).contains("numKeyValueHeads: 1 here, 2 there");
    assertThat(differences).contains("ropeTheta: 10000.0 here, 500000.0 there");
    assertThat(differences).contains("norm: RMS_NORM here, NONE there");
    assertThat(differences).contains("maxKvCacheBytes: 9223372036854775807 here, 1073741824 there");
    for (int i = 0; i < SpecElement.values().length; i++) {
      assertThat(differences.get(i)).startsWith(SpecElement.values()[i].elementName() + ": ");
    }
    assertThat(a.differences(a.toBuilder().build())).isEmpty();
    assertThat(a.differences(a.toBuilder().maxBatchSize(2).build()))
        .containsExactly("maxBatchSize: 1 here, 2 there");
  }

  @Test
  void requireSameThrowsListingEveryDifference() {
    ResolvedSpec a = smallGqa();
    a.requireSame(a.toBuilder().build());
    var e = assertThrows(KilnException.class, () -> a.requireSame(everythingElse()));
    for (String line : a.differences(everythingElse())) {
      assertThat(e).hasMessageThat().contains("\n  " + line);
    }
    var one =
        assertThrows(
            KilnException.class, () -> a.requireSame(a.toBuilder().rmsNormEps(1e-5).build()));
    assertThat(one).hasMessageThat().endsWith(":\n  rmsNormEps: 1.0E-6 here, 1.0E-5 there");
  }

  // --- javac round trip -------------------------------------------------------------------------

  /**
   * Compiles {@code source} on an interface with the runtime on the class path and reads the
   * annotation back.
   */
  private static ResolvedSpec compileAndRead(String annotationSource) throws URISyntaxException {
    String code =
        "package roundtrip;\nimport dev.kiln.*;\n" + annotationSource + "\ninterface Declared {}\n";
    var file =
        new SimpleJavaFileObject(
            java.net.URI.create("string:///roundtrip/Declared.java"), JavaFileObject.Kind.SOURCE) {
          @Override
          public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return code;
          }
        };
    Path runtimeClasses =
        Path.of(
            dev.kiln.ModelSpec.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    var compiler = ToolProvider.getSystemJavaCompiler();
    var diagnostics = new DiagnosticCollector<JavaFileObject>();
    var reader = new AnnotationReader();
    var task =
        compiler.getTask(
            null,
            null,
            diagnostics,
            List.of("-proc:only", "-classpath", runtimeClasses.toString()),
            null,
            List.of(file));
    task.setProcessors(List.of(reader));
    boolean ok = task.call();
    assertThat(diagnostics.getDiagnostics().stream().map(Object::toString).toList()).isEmpty();
    assertThat(ok).isTrue();
    assertThat(reader.values).isNotNull();
    return SpecDraft.read(e -> reader.values.get(e.elementName())).resolve();
  }

  /** Reads {@code @ModelSpec} with its defaults, as the processor sees it. */
  @javax.annotation.processing.SupportedAnnotationTypes("dev.kiln.ModelSpec")
  private static final class AnnotationReader extends AbstractProcessor {
    Map<String, Object> values;

    @Override
    public SourceVersion getSupportedSourceVersion() {
      return SourceVersion.latestSupported();
    }

    @Override
    public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
      for (TypeElement annotation : annotations) {
        for (Element element : round.getElementsAnnotatedWith(annotation)) {
          for (AnnotationMirror mirror : element.getAnnotationMirrors()) {
            values = new HashMap<>();
            processingEnv
                .getElementUtils()
                .getElementValuesWithDefaults(mirror)
                .forEach(
                    (method, value) -> {
                      Object v = value.getValue();
                      if (v instanceof VariableElement constant) {
                        v =
                            enumConstant(
                                ((TypeElement) constant.getEnclosingElement())
                                    .getQualifiedName()
                                    .toString(),
                                constant.getSimpleName().toString());
                      }
                      values.put(method.getSimpleName().toString(), v);
                    });
          }
        }
      }
      return true;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object enumConstant(String type, String name) {
      try {
        return Enum.valueOf((Class) Class.forName(type), name);
      } catch (ClassNotFoundException e) {
        throw new AssertionError(e);
      }
    }
  }
}
