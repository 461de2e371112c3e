package dev.kiln.cli;

import dev.kiln.KilnException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code kiln} command: run, inspect, verify and benchmark model files through specialized decoders. */
@Command(
    name = "kiln",
    mixinStandardHelpOptions = true,
    versionProvider = Kiln.Version.class,
    description = "Runs Llama-family model files (GGUF, Hugging Face, llama2.c) through decoders specialized to their"
        + " shapes.",
    subcommands = {RunCommand.class, SpecCommand.class, InfoCommand.class, VerifyCommand.class, BenchCommand.class,
        DevicesCommand.class})
public final class Kiln implements Callable<Integer> {
  /** Options every command that loads a model shares. */
  static final class Common {
    @Option(names = "--threads", description = "Worker threads (default: all cores).")
    Integer threads;

    @Option(names = "--cache", description = "Where specialized decoders are cached (default: $KILN_CACHE or ~/.cache/kiln).")
    Path cache;

    @Option(names = "--verbose", description = "Print stack traces of errors.")
    boolean verbose;

    @Option(names = "--device", paramLabel = "B:D", description = "TornadoVM device, backend:device as `kiln devices`"
        + " lists them (default: TornadoVM's default device).")
    String device;

    @Option(names = "--print-kernels", description = "Print the OpenCL C or PTX TornadoVM generates for each task.")
    boolean printKernels;

    /** Applies the thread count and TornadoVM choices before any kernel runs. */
    void apply() {
      if (device != null) {
        System.setProperty("kiln.tornado.device", device);
      }
      if (printKernels) {
        System.setProperty("kiln.tornado.printKernels", "true");
      }
      if (threads != null) {
        if (threads < 1) {
          throw new KilnException("--threads must be at least 1, was " + threads);
        }
        System.setProperty("kiln.threads", Integer.toString(threads));
      }
    }

    Path cacheRoot() {
      return cache != null ? cache : Specializer.defaultCacheRoot();
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"kiln " + Specializer.version() + " (Java " + Runtime.version() + ")"};
    }
  }

  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  public static void main(String[] args) {
    System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /**
   * Runs the command line with the given output streams and returns the exit code: 0 on success, 1
   * for an error of the model, input or machine (one line, no stack trace unless {@code --verbose}),
   * 2 for a malformed command line.
   */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine commandLine = new CommandLine(new Kiln());
    commandLine.setOut(out).setErr(err);
    boolean verbose = java.util.Arrays.asList(args).contains("--verbose");
    commandLine.setExecutionExceptionHandler((exception, line, parseResult) -> {
      if (verbose) {
        exception.printStackTrace(err);
      }
      String message = exception instanceof KilnException || exception instanceof IllegalArgumentException
          ? exception.getMessage()
          : exception.toString();
      err.println("kiln: " + message);
      err.flush();
      return 1;
    });
    return commandLine.execute(args);
  }
}
