package dev.kiln.processor;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static com.google.testing.compile.CompilationSubject.assertThat;

import com.google.testing.compile.Compilation;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The classes generated for the example specs and the stress specs of the examples module: they
 * compile with every lint on and warnings as errors, carry the spec as constants named after its
 * elements, and document each fused kernel with the ops it fuses.
 */
class GeneratedSourceTest {
  /**
   * Every lint but "processing", which warns about every annotation no processor claims (here the
   * generated classes' {@code @Generated}). This project's own build turns it off too, as is the
   * usual advice (google/auto#112; Error Prone's DoNotClaimAnnotations advises processors not to
   * claim annotations to silence it). {@link
   * #fullLintWarnsOnlyAboutTheUnclaimedGeneratedAnnotation} checks that it is the only warning
   * under plain {@code -Xlint:all}.
   */
  static final List<String> STRICT = List.of("-Xlint:all,-processing", "-Werror");

  /**
   * One example spec and what its generated classes must say.
   *
   * @param decoderConstants {@code int} constants of {@code XDecoder}, name to value
   * @param attentionConstants constants of {@code XAttention}, name to initializer
   * @param absentConstants constants the spec has no use for, in neither class
   * @param fused the decoder's fused kernel methods, name to the ops their comment must list
   * @param layerKernels kernels per layer, as the decoder's class comment counts them
   */
  record Example(
      String qualifiedName,
      String sourceSet,
      Map<String, Integer> decoderConstants,
      Map<String, String> attentionConstants,
      List<String> absentConstants,
      Map<String, String> fused,
      int layerKernels) {
    /** The generated classes' names are this plus Decoder, Weights, Attention. */
    String base() {
      return qualifiedName;
    }

    @Override
    public String toString() {
      return qualifiedName.substring(qualifiedName.lastIndexOf('.') + 1);
    }
  }

  static Stream<Example> examples() {
    return Stream.of(
        new Example(
            "dev.kiln.examples.SeedLlama",
            "main",
            ints(
                "VOCAB_SIZE",
                100,
                "HIDDEN_SIZE",
                256,
                "INTERMEDIATE_SIZE",
                512,
                "NUM_HIDDEN_LAYERS",
                2,
                "NUM_ATTENTION_HEADS",
                4,
                "NUM_KEY_VALUE_HEADS",
                4,
                "HEAD_DIM",
                64,
                "KV_DIM",
                256,
                "Q_DIM",
                256,
                "MAX_POSITION_EMBEDDINGS",
                2048,
                "MAX_BATCH_SIZE",
                1),
            Map.of(
                "KV_GROUP_SIZE",
                "1",
                "HEAD_DIM",
                "64",
                "ATTENTION_SCALE",
                "0.125f",
                "ROPE_THETA",
                "10000.0"),
            List.of(),
            llamaFusions("", "", "lm_head"),
            5),
        new Example(
            "dev.kiln.examples.SeedSingleHead",
            "main",
            ints(
                "VOCAB_SIZE",
                64,
                "HIDDEN_SIZE",
                128,
                "NUM_HIDDEN_LAYERS",
                1,
                "NUM_ATTENTION_HEADS",
                1,
                "NUM_KEY_VALUE_HEADS",
                1,
                "HEAD_DIM",
                128,
                "KV_DIM",
                128,
                "Q_DIM",
                128,
                "MAX_POSITION_EMBEDDINGS",
                64,
                "MAX_BATCH_SIZE",
                4),
            Map.of("KV_GROUP_SIZE", "1", "HEAD_DIM", "128"),
            // No MLP, no norm, no RoPE.
            List.of("INTERMEDIATE_SIZE", "RMS_NORM_EPS", "ROPE_THETA"),
            fusions(
                "fusedQkvCacheWrite",
                    "q_proj + bias, k_proj + bias, v_proj + bias -> KV-cache write",
                "fusedAttention", "scores q.k/sqrt(HEAD_DIM) (no mask) -> weighted sum of V"),
            2),
        new Example(
            "dev.kiln.examples.specs.GqaTwoKvHeads",
            "test",
            ints(
                "VOCAB_SIZE",
                97,
                "HIDDEN_SIZE",
                64,
                "INTERMEDIATE_SIZE",
                96,
                "NUM_HIDDEN_LAYERS",
                2,
                "NUM_ATTENTION_HEADS",
                4,
                "NUM_KEY_VALUE_HEADS",
                2,
                "HEAD_DIM",
                16,
                "KV_DIM",
                32,
                "Q_DIM",
                64,
                "MAX_POSITION_EMBEDDINGS",
                96,
                "MAX_BATCH_SIZE",
                3),
            Map.of("NUM_KEY_VALUE_HEADS", "2", "KV_GROUP_SIZE", "2", "ATTENTION_SCALE", "0.25f"),
            List.of(),
            llamaFusions("", "", "lm_head"),
            5),
        new Example(
            "dev.kiln.examples.specs.MultiQuery",
            "test",
            ints(
                "VOCAB_SIZE",
                64,
                "HIDDEN_SIZE",
                48,
                "INTERMEDIATE_SIZE",
                80,
                "NUM_HIDDEN_LAYERS",
                2,
                "NUM_ATTENTION_HEADS",
                6,
                "NUM_KEY_VALUE_HEADS",
                1,
                "HEAD_DIM",
                8,
                "KV_DIM",
                8,
                "Q_DIM",
                48,
                "MAX_POSITION_EMBEDDINGS",
                64,
                "MAX_BATCH_SIZE",
                2),
            Map.of("NUM_KEY_VALUE_HEADS", "1", "KV_GROUP_SIZE", "6", "ROPE_THETA", "500000.0"),
            List.of(),
            llamaFusions("", "", "lm_head"),
            5),
        new Example(
            "dev.kiln.examples.specs.HeadDim40",
            "test",
            ints(
                "VOCAB_SIZE",
                131,
                "HIDDEN_SIZE",
                120,
                "INTERMEDIATE_SIZE",
                160,
                "NUM_HIDDEN_LAYERS",
                1,
                "NUM_ATTENTION_HEADS",
                3,
                "NUM_KEY_VALUE_HEADS",
                3,
                "HEAD_DIM",
                40,
                "KV_DIM",
                120,
                "Q_DIM",
                120,
                "MAX_POSITION_EMBEDDINGS",
                64,
                "MAX_BATCH_SIZE",
                1),
            Map.of("HEAD_DIM", "40", "KV_GROUP_SIZE", "1"),
            List.of(),
            llamaFusions("", "", "lm_head"),
            5),
        new Example(
            "dev.kiln.examples.specs.HeadDim96",
            "test",
            ints(
                "VOCAB_SIZE",
                257,
                "HIDDEN_SIZE",
                160,
                "INTERMEDIATE_SIZE",
                224,
                "NUM_HIDDEN_LAYERS",
                3,
                "NUM_ATTENTION_HEADS",
                2,
                "NUM_KEY_VALUE_HEADS",
                1,
                "HEAD_DIM",
                96,
                "KV_DIM",
                96,
                "Q_DIM",
                192,
                "MAX_POSITION_EMBEDDINGS",
                64,
                "MAX_BATCH_SIZE",
                2),
            Map.of("HEAD_DIM", "96", "KV_GROUP_SIZE", "2"),
            List.of(),
            llamaFusions("", "", "lm_head"),
            5),
        new Example(
            "dev.kiln.examples.specs.TiedEmbeddings",
            "test",
            ints(
                "VOCAB_SIZE",
                80,
                "HIDDEN_SIZE",
                64,
                "INTERMEDIATE_SIZE",
                128,
                "NUM_HIDDEN_LAYERS",
                3,
                "NUM_ATTENTION_HEADS",
                4,
                "NUM_KEY_VALUE_HEADS",
                2,
                "HEAD_DIM",
                16,
                "KV_DIM",
                32,
                "Q_DIM",
                64),
            Map.of("KV_GROUP_SIZE", "2"),
            List.of(),
            llamaFusions("", "", "lm_head (tied to embed_tokens)"),
            5),
        new Example(
            "dev.kiln.examples.specs.AllBiases",
            "test",
            ints(
                "VOCAB_SIZE",
                70,
                "HIDDEN_SIZE",
                48,
                "INTERMEDIATE_SIZE",
                72,
                "NUM_HIDDEN_LAYERS",
                2,
                "NUM_ATTENTION_HEADS",
                4,
                "NUM_KEY_VALUE_HEADS",
                2,
                "HEAD_DIM",
                12,
                "KV_DIM",
                24,
                "Q_DIM",
                48,
                "MAX_BATCH_SIZE",
                2),
            Map.of("KV_GROUP_SIZE", "2"),
            List.of(),
            llamaFusions(" + bias", " + bias", "lm_head + bias"),
            5));
  }

  /** The fused kernels of a Llama-shaped spec. */
  private static Map<String, String> llamaFusions(
      String attentionBias, String mlpBias, String lmHead) {
    return fusions(
        "fusedRmsNormQkvRopeCacheWrite",
        "RMSNorm(input_layernorm) -> q_proj%1$s, k_proj%1$s, v_proj%1$s -> RoPE(q) -> RoPE(k) -> KV-cache write"
            .formatted(attentionBias),
        "fusedAttention",
        "scores q.k/sqrt(HEAD_DIM) with causal mask -> softmax -> weighted sum of V",
        "fusedOutputProjectionResidual",
        "o_proj" + attentionBias + " -> residual add",
        "fusedRmsNormGateUpSilu",
        "RMSNorm(post_attention_layernorm) -> gate_proj%1$s, up_proj%1$s -> SiLU(gate) -> gateAct * up"
            .formatted(mlpBias),
        "fusedDownProjectionResidual",
        "down_proj" + mlpBias + " -> residual add",
        "fusedRmsNormLmHead",
        "RMSNorm(norm) -> " + lmHead);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("examples")
  void compilesWithAllLintsAsErrors(Example example) {
    Compilation compilation = compile(example, STRICT);

    assertThat(compilation).succeededWithoutWarnings();
    assertThat(compilation).generatedSourceFile(example.base() + "Decoder");
    assertThat(compilation).generatedSourceFile(example.base() + "Weights");
    assertThat(compilation).generatedSourceFile(example.base() + "Attention");
    // The fourth .java file is XTornadoDecoder, kept as a resource where TornadoVM is absent
    // (TornadoBackendTest).
    assertThat(
            compilation.generatedSourceFiles().stream()
                .filter(f -> !f.toUri().getPath().contains(KilnProcessor.TORNADO_RESOURCE_ROOT))
                .toList())
        .hasSize(3);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("examples")
  void specIsSpelledOutAsNamedConstants(Example example) {
    Compilation compilation = compile(example, STRICT);
    String decoder = generated(compilation, example.base() + "Decoder");
    String attention = generated(compilation, example.base() + "Attention");

    example
        .decoderConstants()
        .forEach(
            (name, value) ->
                assertThat(decoder).contains("static final int " + name + " = " + value + ";"));
    example
        .attentionConstants()
        .forEach(
            (name, value) ->
                assertThat(attention)
                    .containsMatch(
                        "static final \\w+ " + Pattern.quote(name + " = " + value + ";")));
    for (String absent : example.absentConstants()) {
      assertThat(decoder).doesNotContain(" " + absent + " =");
      assertThat(attention).doesNotContain(" " + absent + " =");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("examples")
  void eachFusedKernelIsCommentedWithTheOpsItFuses(Example example) {
    String decoder = generated(compile(example, STRICT), example.base() + "Decoder");

    Map<String, String> comments = fusionComments(decoder);
    assertWithMessage("fused kernel methods and their \"Fuses ...\" comments")
        .that(comments)
        .containsExactlyEntriesIn(example.fused());
    // Every fused* method has its comment (none slipped through the pattern).
    Matcher methods = Pattern.compile("private void (fused\\w+)\\(").matcher(decoder);
    int count = 0;
    while (methods.find()) {
      count++;
      assertThat(comments).containsKey(methods.group(1));
    }
    assertThat(count).isEqualTo(example.fused().size());
    assertThat(decoder).contains(" " + example.layerKernels() + " fused kernels per layer.");
  }

  @Test
  void tiedEmbeddingsHaveNoSeparateLmHead() {
    Example tied =
        examples().filter(e -> e.toString().equals("TiedEmbeddings")).findFirst().orElseThrow();
    Compilation compilation = compile(tied, STRICT);
    String decoder = oneLine(generated(compilation, tied.base() + "Decoder"));
    String weights = generated(compilation, tied.base() + "Weights");

    assertThat(decoder).contains("WeightTensor embedTokens = weights.embedTokens;");
    assertThat(decoder).contains("embedTokens.dot(o, normed, r * HIDDEN_SIZE, xq, r)");
    assertThat(decoder).doesNotContain("weights.lmHead");
    assertThat(weights).doesNotContain("lmHead");
    // the LM head kernel's matrix, for bandwidth figures, is the embedding table
    assertThat(decoder)
        .contains("Map.entry(\"fusedRmsNormLmHead\", List.of(GlobalTensor.EMBED_TOKENS))");
  }

  @Test
  void allBiasesAreReadAndAdded() {
    Example biases =
        examples().filter(e -> e.toString().equals("AllBiases")).findFirst().orElseThrow();
    String decoder = oneLine(generated(compile(biases, STRICT), biases.base() + "Decoder"));

    for (String bias :
        List.of(
            "w.qProjBias",
            "w.kProjBias",
            "w.vProjBias",
            "w.oProjBias",
            "w.gateProjBias",
            "w.upProjBias",
            "w.downProjBias",
            "weights.lmHeadBias")) {
      assertThat(decoder).contains(bias + ".data()");
    }
  }

  /**
   * Under plain {@code -Xlint:all} the one warning is javac's about the unclaimed
   * {@code @Generated} (see {@link #STRICT}).
   */
  @Test
  void fullLintWarnsOnlyAboutTheUnclaimedGeneratedAnnotation() {
    Example seed = examples().findFirst().orElseThrow();
    Compilation compilation = compile(seed, List.of("-Xlint:all"));

    assertThat(compilation).succeeded();
    assertThat(compilation).hadWarningCount(1);
    assertThat(compilation)
        .hadWarningContaining(
            "No processor claimed any of these annotations: java.compiler/javax.annotation.processing.Generated");
  }

  /**
   * The example compiled with {@code options}, once per test run (see {@link
   * ExampleSpecs#compiled}).
   */
  static Compilation compile(Example example, List<String> options) {
    return ExampleSpecs.compiled(example.sourceSet(), example.qualifiedName(), options);
  }

  static String generated(Compilation compilation, String qualifiedName) {
    JavaFileObject file =
        compilation
            .generatedSourceFile(qualifiedName)
            .orElseThrow(() -> new AssertionError("not generated: " + qualifiedName));
    try {
      return file.getCharContent(true).toString();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * Method name to the ops of its javadoc's {@code Fuses <ops>.} sentence (which may be wrapped
   * over lines).
   */
  static Map<String, String> fusionComments(String source) {
    Pattern pattern =
        Pattern.compile("/\\*\\*\\n((?:\\s*\\*[^\\n]*\\n)*?)\\s*\\*/\\n\\s*private void (\\w+)\\(");
    Map<String, String> result = new LinkedHashMap<>();
    Matcher matcher = pattern.matcher(source);
    while (matcher.find()) {
      String text =
          String.join(
              " ",
              matcher.group(1).lines().map(l -> l.strip().replaceFirst("^\\*\\s?", "")).toList());
      Matcher fuses = Pattern.compile("^Fuses (.*?)\\.(?: |$)").matcher(text);
      if (fuses.find()) {
        result.put(matcher.group(2), fuses.group(1));
      }
    }
    return result;
  }

  /**
   * The source with each line break and the indentation after it as one space: a wrapped statement
   * on one line.
   */
  static String oneLine(String source) {
    return source.replaceAll("\\s*\\n\\s*", " ");
  }

  private static Map<String, Integer> ints(Object... pairs) {
    Map<String, Integer> map = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      map.put((String) pairs[i], (Integer) pairs[i + 1]);
    }
    return map;
  }

  private static Map<String, String> fusions(String... pairs) {
    Map<String, String> map = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      map.put(pairs[i], pairs[i + 1]);
    }
    return map;
  }
}
