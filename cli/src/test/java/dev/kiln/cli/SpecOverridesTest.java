package dev.kiln.cli;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.cli.CliTest.Result;
import dev.kiln.testing.Golden;
import dev.kiln.testing.Repository;
import dev.kiln.testing.SharedConformance;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --rope-theta} and {@code --rms-eps}: values a llama2.c file does not store, for every
 * command that derives a spec from a file; an error for a file that states its own, and for values
 * the spec rules refuse.
 */
class SpecOverridesTest {
  @TempDir static Path cache;

  private static Result kiln(String... args) {
    return CliTest.kiln(args);
  }

  private static String ids(JsonArray array, int count) {
    return IntStream.range(0, count)
        .mapToObj(i -> Integer.toString(array.get(i).getAsInt()))
        .collect(Collectors.joining(","));
  }

  private static void assertOneLineError(Result result, String what, String expected) {
    assertWithMessage("%s: exit code; stderr %s", what, result.err())
        .that(result.exit())
        .isEqualTo(1);
    assertWithMessage("%s", what).that(result.err()).contains(expected);
    assertWithMessage("%s: one error line", what)
        .that(result.err().lines().filter(line -> line.startsWith("kiln: ")).count())
        .isEqualTo(1);
    assertWithMessage("%s: no stack trace", what).that(result.err()).doesNotContain("\tat ");
  }

  /**
   * The shared {@code gqa} model was trained with theta 5e5, which its llama2.c file cannot say:
   * with {@code --rope-theta 500000} it gives the golden greedy tokens; without, Kiln assumes 10000
   * (as run.c does) and it does not.
   */
  @Test
  void gqaLlama2cGivesTheGoldenTokensWithItsRopeTheta() throws IOException {
    var root = SharedConformance.GOLDENS.root();
    Assumptions.assumeTrue(root.isPresent(), "-Dkiln.conformance not given");
    Path gqa = root.get().resolve("gqa");
    Path file = gqa.resolve("llama2c/model.bin");
    JsonObject golden = Golden.json(gqa);
    String prompt = ids(golden.getAsJsonArray("prompt"), golden.getAsJsonArray("prompt").size());
    String greedy = ids(golden.getAsJsonArray("greedy_tokens"), 8);

    Result with =
        kiln(
            "run",
            "-m",
            file.toString(),
            "--prompt-ids",
            prompt,
            "-n",
            "8",
            "--temperature",
            "0",
            "--rope-theta",
            "500000",
            "--json",
            "--cache",
            cache.toString());
    assertWithMessage("stderr: %s", with.err()).that(with.exit()).isEqualTo(0);
    JsonObject json = JsonParser.parseString(with.out()).getAsJsonObject();
    assertThat(ids(json.getAsJsonArray("generated_ids"), 8)).isEqualTo(greedy);

    Result without =
        kiln(
            "run",
            "-m",
            file.toString(),
            "--prompt-ids",
            prompt,
            "-n",
            "8",
            "--temperature",
            "0",
            "--json",
            "--cache",
            cache.toString());
    assertWithMessage("stderr: %s", without.err()).that(without.exit()).isEqualTo(0);
    assertThat(
            ids(
                JsonParser.parseString(without.out())
                    .getAsJsonObject()
                    .getAsJsonArray("generated_ids"),
                8))
        .isNotEqualTo(greedy);

    // What the two runs were run with: the derived spec says so.
    Result assumed = kiln("spec", file.toString());
    assertThat(assumed.exit()).isEqualTo(0);
    assertThat(assumed.out())
        .contains("// ropeTheta: not stored in llama2.c v0 files; 10000.0 assumed");
    assertThat(assumed.out()).doesNotContain("ropeTheta = "); // 10000.0 is @ModelSpec's default
    Result supplied = kiln("spec", file.toString(), "--rope-theta", "500000");
    assertThat(supplied.exit()).isEqualTo(0);
    assertThat(supplied.out())
        .contains("// ropeTheta: not stored in llama2.c v0 files; 500000.0 supplied");
    assertThat(supplied.out()).contains("ropeTheta = 500000.0");
    // The GGUF file of the same model states 5e5 itself: its spec is the llama2.c file's with the
    // option.
    Result gguf = kiln("spec", gqa.resolve("gguf/model-f32.gguf").toString());
    assertThat(gguf.out().substring(gguf.out().indexOf("@ModelSpec")))
        .isEqualTo(supplied.out().substring(supplied.out().indexOf("@ModelSpec")));
  }

  /** Every command that derives a spec from a file takes the options, and shows or uses them. */
  @Tag("slow")
  @Test
  void everyCommandThatDerivesASpecTakesThem() {
    Path llama2c = Repository.bundledTiny().resolve("llama2c/model.bin");
    Result spec = kiln("spec", llama2c.toString(), "--rope-theta", "20000", "--rms-eps", "1e-6");
    assertWithMessage(spec.err()).that(spec.exit()).isEqualTo(0);
    assertThat(spec.out()).contains("ropeTheta = 20000.0");
    assertThat(spec.out())
        .contains("// rmsNormEps: not stored in llama2.c v0 files; 1.0E-6 supplied");
    Result info = kiln("info", llama2c.toString(), "--rope-theta", "20000");
    assertWithMessage(info.err()).that(info.exit()).isEqualTo(0);
    assertThat(info.out()).contains("ropeTheta: not stored in llama2.c v0 files; 20000.0 supplied");
    assertThat(info.out()).contains("rmsNormEps: not stored in llama2.c v0 files; 1e-5 assumed");
    Result verify =
        kiln(
            "verify",
            llama2c.toString(),
            "--rope-theta",
            "20000",
            "--rms-eps",
            "1e-6",
            "--cache",
            cache.toString());
    assertWithMessage(verify.err()).that(verify.exit()).isEqualTo(0);
    assertThat(verify.out()).contains("greedy tokens match");
    Result bench =
        kiln(
            "bench",
            llama2c.toString(),
            "--rope-theta",
            "20000",
            "--prompt",
            "8",
            "--decode",
            "2",
            "--repeats",
            "1",
            "--batches",
            "1",
            "--interpreter-steps",
            "0",
            "--cache",
            cache.toString());
    assertWithMessage(bench.err()).that(bench.exit()).isEqualTo(0);
    // The tiny model's own values give its golden tokens, the same as without the options.
    Result run =
        kiln(
            "run",
            "-m",
            llama2c.toString(),
            "--prompt-ids",
            "1,3,15,52,29,6,43,20",
            "-n",
            "4",
            "--json",
            "--rope-theta",
            "10000",
            "--rms-eps",
            "1e-5",
            "--cache",
            cache.toString());
    assertWithMessage(run.err()).that(run.exit()).isEqualTo(0);
    assertThat(
            ids(
                JsonParser.parseString(run.out()).getAsJsonObject().getAsJsonArray("generated_ids"),
                4))
        .isEqualTo("25,6,32,12");
  }

  /**
   * A file that states the value itself keeps it: giving the option is a one-line error naming the
   * format.
   */
  @Test
  void aFileThatStatesItsOwnValueIsAnError() {
    Path tiny = Repository.bundledTiny();
    String gguf = tiny.resolve("gguf/model-f32.gguf").toString();
    String hf = tiny.resolve("hf").toString();
    String ggufTheta =
        "--rope-theta: "
            + gguf
            + " (GGUF v3) states its own ropeTheta (10000.0); the option is only"
            + " for llama2.c files, which store none";
    Object[][] cases = {
      {List.of("run", "-m", gguf, "--prompt-ids", "1,3", "--rope-theta", "500000"), ggufTheta},
      {List.of("spec", gguf, "--rope-theta", "500000"), ggufTheta},
      {List.of("info", gguf, "--rope-theta", "500000"), ggufTheta},
      {List.of("verify", gguf, "--rope-theta", "500000"), ggufTheta},
      {List.of("bench", gguf, "--rope-theta", "500000"), ggufTheta},
      {
        List.of("spec", gguf, "--rms-eps", "1e-6"),
        "--rms-eps: " + gguf + " (GGUF v3) states its own rmsNormEps (1.0E-5)"
      },
      {
        List.of("run", "-m", hf, "--prompt-ids", "1,3", "--rms-eps", "1e-6"),
        "--rms-eps: "
            + hf
            + " (Hugging Face folder (safetensors)) states its own rmsNormEps (1.0E-5)"
      },
      {
        List.of("spec", hf, "--rope-theta", "10000"),
        "(Hugging Face folder (safetensors)) states its own ropeTheta"
      },
    };
    for (Object[] c : cases) {
      @SuppressWarnings("unchecked")
      List<String> args = new ArrayList<>((List<String>) c[0]);
      if (args.getFirst().matches("run|verify|bench")) {
        args.addAll(List.of("--cache", cache.toString()));
      }
      Result result = kiln(args.toArray(String[]::new));
      assertOneLineError(result, String.join(" ", args), (String) c[1]);
      assertThat(result.out()).isEmpty(); // info prints nothing before the error
    }
  }

  /** Values are checked by the spec's own rules (finite; theta above 1; eps in (0, 0.1)). */
  @Test
  void valuesTheSpecRulesRefuseAreOneLineErrors() {
    String llama2c = Repository.bundledTiny().resolve("llama2c/model.bin").toString();
    Object[][] cases = {
      {
        new String[] {"--rope-theta", "1"},
        "--rope-theta 1.0: [Spec/RopeTheta] ropeTheta must be finite and greater"
            + " than 1, was 1.0"
      },
      {new String[] {"--rope-theta", "-5"}, "[Spec/RopeTheta]"},
      {new String[] {"--rope-theta", "NaN"}, "--rope-theta NaN: [Spec/RopeTheta]"},
      {new String[] {"--rope-theta", "Infinity"}, "[Spec/RopeTheta]"},
      {
        new String[] {"--rms-eps", "0"},
        "--rms-eps 0.0: [Spec/RmsNormEps] rmsNormEps must be finite, positive and"
            + " below 0.1, was 0.0"
      },
      {new String[] {"--rms-eps", "0.1"}, "[Spec/RmsNormEps]"},
      {new String[] {"--rms-eps", "-1e-5"}, "[Spec/RmsNormEps]"},
      {
        new String[] {"--rope-theta", "0.5", "--rms-eps", "1"}, "--rope-theta 0.5: [Spec/RopeTheta]"
      },
    };
    for (String command : List.of("spec", "info", "run")) {
      for (Object[] c : cases) {
        List<String> args =
            new ArrayList<>(
                command.equals("run")
                    ? List.of(
                        "run", "-m", llama2c, "--prompt-ids", "1", "--cache", cache.toString())
                    : List.of(command, llama2c));
        args.addAll(List.of((String[]) c[0]));
        assertOneLineError(
            kiln(args.toArray(String[]::new)), String.join(" ", args), (String) c[1]);
      }
    }
    Result both = kiln("spec", llama2c, "--rope-theta", "0.5", "--rms-eps", "1");
    assertThat(both.err()).contains("; --rms-eps 1.0: [Spec/RmsNormEps]");
    Result notANumber = kiln("spec", llama2c, "--rope-theta", "high");
    assertThat(notANumber.exit()).isEqualTo(2); // a malformed command line
    assertThat(notANumber.err()).contains("Invalid value for option '--rope-theta'");
    Result random =
        kiln(
            "bench",
            "--random",
            "stories110m",
            "--rope-theta",
            "500000",
            "--cache",
            cache.toString());
    assertOneLineError(
        random,
        "bench --random",
        "--rope-theta and --rms-eps are for a llama2.c model FILE, not --random");
  }
}
