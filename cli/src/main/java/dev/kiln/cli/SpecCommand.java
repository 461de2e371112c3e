package dev.kiln.cli;

import dev.kiln.tools.PrintSpec;
import dev.kiln.weights.Checkpoint;
import dev.kiln.weights.ModelFiles;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln spec FILE}: the {@code @ModelSpec} annotation for a model file. */
@Command(
    name = "spec",
    mixinStandardHelpOptions = true,
    description = "Prints the @ModelSpec annotation for a model file, to paste into a build.")
final class SpecCommand implements Callable<Integer> {
  @Parameters(
      paramLabel = "FILE",
      description = "A GGUF file, Hugging Face folder or .safetensors file, or llama2.c .bin.")
  Path file;

  @Mixin Kiln.SpecOverrides overrides = new Kiln.SpecOverrides();

  @Spec CommandSpec command;

  @Override
  public Integer call() {
    Checkpoint checkpoint = ModelFiles.open(file);
    // Control characters from the file (names in comments) escaped; the source's own line breaks
    // kept.
    command
        .commandLine()
        .getOut()
        .print(Sanitize.message(PrintSpec.describe(checkpoint, overrides.derive(checkpoint))));
    command.commandLine().getOut().flush();
    return 0;
  }
}
