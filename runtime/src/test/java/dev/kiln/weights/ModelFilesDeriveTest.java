package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.spec.InvalidSpecException;
import dev.kiln.spec.SpecElement;
import dev.kiln.spec.SpecMessage;
import dev.kiln.spec.SpecProblem;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ModelFiles#deriveSpec(Checkpoint, Map)}: values supplied for what a file does not state (a
 * llama2.c file's rope theta and RMSNorm epsilon) replace the assumed ones, are checked by the
 * spec's rules, and are refused for a file that states the element itself.
 */
class ModelFilesDeriveTest {
  @TempDir Path dir;

  private static final Fixtures.Dims DIMS = Fixtures.Dims.small(false);

  private Checkpoint llama2c() {
    return Llama2cFile.open(
        Fixtures.writeLlama2c(dir.resolve("model.bin"), DIMS, Fixtures.hfTensors(DIMS, 1)));
  }

  @Test
  void withoutSuppliedValuesLlama2cAssumesRunCsValues() {
    var derived = ModelFiles.deriveSpec(llama2c());
    assertThat(derived.spec().ropeTheta()).isEqualTo(10000.0);
    assertThat(derived.spec().rmsNormEps()).isEqualTo(1e-5);
    assertThat(derived.assumptions().get(SpecElement.ROPE_THETA)).contains("10000.0 assumed");
  }

  @Test
  void suppliedValuesReplaceTheAssumedOnesAndSaySo() {
    var derived =
        ModelFiles.deriveSpec(
            llama2c(), Map.of(SpecElement.ROPE_THETA, 500000.0, SpecElement.RMS_NORM_EPS, 1e-6));
    assertThat(derived.spec().ropeTheta()).isEqualTo(500000.0);
    assertThat(derived.spec().rmsNormEps()).isEqualTo(1e-6);
    assertThat(derived.assumptions().get(SpecElement.ROPE_THETA))
        .isEqualTo("not stored in llama2.c v0 files; 500000.0 supplied");
    assertThat(derived.annotationSource()).contains("ropeTheta = 500000.0");
    assertThat(derived.annotationSource())
        .contains("// rmsNormEps: not stored in llama2.c v0 files; 1.0E-6 supplied");
    // Only the supplied element changes.
    var plain = ModelFiles.deriveSpec(llama2c());
    assertThat(ModelFiles.deriveSpec(llama2c(), Map.of(SpecElement.ROPE_THETA, 500000.0)).spec())
        .isEqualTo(plain.spec().toBuilder().ropeTheta(500000.0).build());
  }

  @Test
  void suppliedValuesAreCheckedByTheSpecRules() {
    Checkpoint file = llama2c();
    for (double theta : new double[] {1.0, 0.5, -3, Double.NaN, Double.POSITIVE_INFINITY}) {
      var e =
          assertThrows(
              InvalidSpecException.class,
              () -> ModelFiles.deriveSpec(file, Map.of(SpecElement.ROPE_THETA, theta)),
              "theta " + theta);
      assertThat(e.problems().stream().map(SpecProblem::message).toList())
          .containsExactly(SpecMessage.ROPE_THETA);
    }
    for (double eps : new double[] {0.0, -1e-5, 0.1, 1.0, Double.NaN}) {
      var e =
          assertThrows(
              InvalidSpecException.class,
              () -> ModelFiles.deriveSpec(file, Map.of(SpecElement.RMS_NORM_EPS, eps)),
              "eps " + eps);
      assertThat(e.problems().stream().map(SpecProblem::element).toList())
          .containsExactly(SpecElement.RMS_NORM_EPS);
    }
    var both =
        assertThrows(
            InvalidSpecException.class,
            () ->
                ModelFiles.deriveSpec(
                    file, Map.of(SpecElement.ROPE_THETA, 0.0, SpecElement.RMS_NORM_EPS, 0.0)));
    assertThat(both.problems()).hasSize(2);
    // The bounds themselves: just inside is a spec.
    assertThat(
            ModelFiles.deriveSpec(
                    file, Map.of(SpecElement.ROPE_THETA, 1.0001, SpecElement.RMS_NORM_EPS, 0.0999))
                .spec()
                .rmsNormEps())
        .isEqualTo(0.0999);
  }

  @Test
  void aFileThatStatesTheValueRefusesASuppliedOne() {
    var hf = Fixtures.hfTensors(DIMS, 2);
    Checkpoint folder =
        HfFolder.open(Fixtures.writeHfFolder(dir.resolve("hf"), Fixtures.config(DIMS), hf, 1));
    var e =
        assertThrows(
            WeightLoadException.class,
            () -> ModelFiles.deriveSpec(folder, Map.of(SpecElement.ROPE_THETA, 500000.0)));
    assertThat(e.getMessage())
        .contains("(Hugging Face folder (safetensors)) states ropeTheta itself (10000.0)");
    var eps =
        assertThrows(
            WeightLoadException.class,
            () -> ModelFiles.deriveSpec(folder, Map.of(SpecElement.RMS_NORM_EPS, 1e-6)));
    assertThat(eps.getMessage()).contains("states rmsNormEps itself (1.0E-5)");
  }
}
