package dev.kiln.cli;

import dev.kiln.tools.PrintSpec;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln spec FILE}: the {@code @ModelSpec} annotation for a model file. */
@Command(name = "spec", mixinStandardHelpOptions = true,
    description = "Prints the @ModelSpec annotation for a model file, to paste into a build.")
final class SpecCommand implements Callable<Integer> {
  @Parameters(paramLabel = "FILE", description = "A GGUF file, Hugging Face folder or .safetensors file, or llama2.c .bin.")
  Path file;

  @Spec CommandSpec command;

  @Override
  public Integer call() {
    command.commandLine().getOut().print(PrintSpec.describe(file));
    command.commandLine().getOut().flush();
    return 0;
  }
}
