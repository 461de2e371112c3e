package dev.kiln.examples;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.examples.specs.ConformanceTinyDecoder;
import dev.kiln.testing.Repository;
import dev.kiln.tools.PrintSpec;
import dev.kiln.weights.ModelFiles;
import dev.kiln.weights.WeightLoadException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Specs derived from files, printed for a build, and files loaded into a decoder of another spec.
 */
class ModelFilesTest {
  private static final Path TINY = Repository.bundledTiny();

  @Test
  void loadingAFileMadeForAnotherSpecListsEveryDifference() {
    for (String file : ConformanceTest.FILES) {
      if (file.endsWith(".safetensors")) {
        continue; // a bare safetensors file states no spec; its tensors' shapes are checked instead
      }
      var e =
          assertThrows(
              WeightLoadException.class, () -> SeedLlamaWeights.load(TINY.resolve(file)), file);
      assertThat(e).hasMessageThat().contains("was made for a different spec");
      assertThat(e).hasMessageThat().contains("vocabSize: file 64, spec 100");
      assertThat(e).hasMessageThat().contains("hiddenSize: file 32, spec 256");
      assertThat(e).hasMessageThat().contains("intermediateSize: file 64, spec 512");
      assertThat(e).hasMessageThat().contains("numKeyValueHeads: file 2, spec 4");
      assertThat(e).hasMessageThat().contains("tieWordEmbeddings: file true, spec false");
      assertThat(e).hasMessageThat().doesNotContain("numHiddenLayers"); // both have 2
    }
  }

  @Test
  void aBareSafetensorsFileOfAnotherSpecFailsOnTensorShapes() {
    var e =
        assertThrows(
            WeightLoadException.class,
            () -> SeedLlamaWeights.load(TINY.resolve("hf/model.safetensors")));
    assertThat(e)
        .hasMessageThat()
        .contains(
            "tensor model.embed_tokens.weight has shape [64, 32] in the file but the spec needs [100, 256]");
  }

  @Test
  void aShorterContextThanTheModelsIsAllowedALongerOneIsNot() {
    // ConformanceTiny's context is the file's (64); SeedLlama would need 2048 > 64 and is caught
    // above.
    var checkpoint = ModelFiles.open(TINY.resolve("gguf/model-f32.gguf"));
    var shorter = ConformanceTinyDecoder.SPEC.toBuilder().maxPositionEmbeddings(16).build();
    var longer = ConformanceTinyDecoder.SPEC.toBuilder().maxPositionEmbeddings(128).build();
    assertThat(ModelFiles.mismatches(shorter, checkpoint)).isEmpty();
    assertThat(ModelFiles.mismatches(longer, checkpoint))
        .containsExactly(
            "maxPositionEmbeddings: file 64, spec 128 (the decoder's context may not exceed the model's)");
  }

  @Test
  void printSpecWritesTheAnnotationOfEachFormat() {
    String gguf = PrintSpec.describe(TINY.resolve("gguf/model-f16.gguf"));
    assertThat(gguf).contains("GGUF v3");
    assertThat(gguf).contains("F16");
    assertThat(gguf).contains(ConformanceTinyDecoder.SPEC.toAnnotationSource());

    assertThat(PrintSpec.describe(TINY.resolve("hf")))
        .contains(ConformanceTinyDecoder.SPEC.toAnnotationSource());

    String llama2c = PrintSpec.describe(TINY.resolve("llama2c/model.bin"));
    assertThat(llama2c).contains("// ropeTheta: not stored in llama2.c");
    assertThat(llama2c).contains("// rmsNormEps: not stored in llama2.c");
    assertThat(llama2c).contains(ConformanceTinyDecoder.SPEC.toAnnotationSource());
  }

  @Test
  void anUnknownFileIsAClearError() {
    var e =
        assertThrows(
            WeightLoadException.class, () -> SeedLlamaWeights.load(TINY.resolve("golden.json")));
    assertThat(e).hasMessageThat().contains("not a model file Kiln reads");
    var missing =
        assertThrows(
            WeightLoadException.class, () -> SeedLlamaWeights.load(TINY.resolve("absent.gguf")));
    assertThat(missing).hasMessageThat().contains("no such file or folder");
  }
}
