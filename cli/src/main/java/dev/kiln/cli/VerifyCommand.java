package dev.kiln.cli;

import dev.kiln.Decoder;
import dev.kiln.Greedy;
import dev.kiln.interpreter.Interpreter;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln verify FILE}: the specialized decoder against the interpreter on this model. */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description =
        "Runs the specialized decoder and the reference interpreter on the model for a few random prompts"
            + " and prints the largest logit difference and whether greedy tokens match (exit 1 if they do not).")
final class VerifyCommand implements Callable<Integer> {
  @Parameters(paramLabel = "FILE", description = "The model file.")
  Path file;

  @Option(
      names = "--prompts",
      defaultValue = "2",
      description = "Random prompts (default ${DEFAULT-VALUE}).")
  int prompts;

  @Option(
      names = "--length",
      defaultValue = "8",
      description = "Tokens per prompt (default ${DEFAULT-VALUE}).")
  int length;

  @Option(
      names = "--steps",
      defaultValue = "8",
      description = "Greedy decode steps (default ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the random prompts.")
  long seed;

  @Option(
      names = "--context",
      description = "Positions the decoder holds (default: the model's, up to 4096).")
  Integer context;

  @Mixin Kiln.Common common = new Kiln.Common();

  @Mixin Kiln.SpecOverrides overrides = new Kiln.SpecOverrides();

  @Spec CommandSpec command;

  @Override
  public Integer call() {
    common.apply();
    PrintWriter out = command.commandLine().getOut();
    PrintWriter err = command.commandLine().getErr();
    if (prompts < 1 || length < 1 || steps < 0) {
      throw new dev.kiln.InvalidInputException(
          "--prompts and --length must be positive and --steps not negative");
    }
    LoadedModel model =
        LoadedModel.open(
            file, overrides, context, 1, "java", common.cacheRoot(), err::println, err::println);
    Decoder specialized = model.decoder();
    Decoder interpreter = new Interpreter(model.weights());
    var random = new SplittableRandom(seed);
    double worst = 0;
    boolean allMatch = true;
    for (int p = 0; p < prompts; p++) {
      int[] prompt = random.ints(length, 0, model.spec().vocabSize()).toArray();
      float[] a = specialized.prefill(new int[][] {prompt})[0];
      float[] b = interpreter.prefill(new int[][] {prompt})[0];
      int matched = 0;
      boolean match = true;
      for (int step = 0; step <= steps; step++) {
        worst = Math.max(worst, relativeDifference(a, b));
        int next = Greedy.argmax(b);
        if (Greedy.argmax(a) != next) {
          match = false;
          break;
        }
        matched++;
        if (step < steps) {
          a = specialized.step(new int[] {next})[0];
          b = interpreter.step(new int[] {next})[0];
        }
      }
      allMatch &= match;
      out.printf(
          Locale.ROOT,
          "prompt %d: greedy tokens %s (%d of %d)%n",
          p + 1,
          match ? "match" : "DIFFER",
          matched,
          steps + 1);
    }
    out.printf(
        Locale.ROOT,
        "max |logit difference| / max(1, |logits|) = %.3g; greedy tokens %s%n",
        worst,
        allMatch ? "match" : "DIFFER");
    out.flush();
    return allMatch ? 0 : 1;
  }

  private static double relativeDifference(float[] actual, float[] expected) {
    double scale = 1;
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i]));
      worst = Math.max(worst, Math.abs((double) actual[i] - expected[i]));
    }
    return worst / scale;
  }
}
