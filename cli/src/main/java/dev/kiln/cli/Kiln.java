package dev.kiln.cli;

import dev.kiln.InvalidInputException;
import dev.kiln.KilnException;
import dev.kiln.spec.InvalidSpecException;
import dev.kiln.spec.SpecElement;
import dev.kiln.weights.Checkpoint;
import dev.kiln.weights.ModelFiles;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;
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

    @Option(names = "--layout", paramLabel = "gpu|cpu", description = "The TornadoVM kernels' layout (default: gpu on a"
        + " GPU, cpu on other devices; `kiln devices` shows each device's).")
    String layout;

    /** Applies the thread count and TornadoVM choices before any kernel runs. */
    void apply() {
      if (device != null) {
        System.setProperty("kiln.tornado.device", device);
      }
      if (printKernels) {
        System.setProperty("kiln.tornado.printKernels", "true");
      }
      if (layout != null) {
        if (!layout.equals("gpu") && !layout.equals("cpu")) {
          throw new KilnException("--layout must be gpu or cpu, was " + layout);
        }
        System.setProperty("kiln.tornado.layout", layout);
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

  /**
   * Values a llama2.c file does not store, for every command that derives a spec from a file. A file
   * that states the value itself (GGUF, a Hugging Face config.json) keeps its own: giving the option
   * for it is an error, not a silent override.
   */
  static final class SpecOverrides {
    @Option(names = "--rope-theta", paramLabel = "X", description = "RoPE theta of a llama2.c model, whose file does"
        + " not store it (default: 10000, as llama2.c's run.c); an error for a file that states its own.")
    Double ropeTheta;

    @Option(names = "--rms-eps", paramLabel = "X", description = "RMSNorm epsilon of a llama2.c model, whose file does"
        + " not store it (default: 1e-5, as llama2.c's run.c); an error for a file that states its own.")
    Double rmsEps;

    /** Whether either option was given. */
    boolean given() {
      return ropeTheta != null || rmsEps != null;
    }

    /** The given values by spec element. */
    Map<SpecElement, Object> supplied() {
      Map<SpecElement, Object> supplied = new EnumMap<>(SpecElement.class);
      if (ropeTheta != null) {
        supplied.put(SpecElement.ROPE_THETA, ropeTheta);
      }
      if (rmsEps != null) {
        supplied.put(SpecElement.RMS_NORM_EPS, rmsEps);
      }
      return supplied;
    }

    /**
     * The spec {@code checkpoint} describes, with the given values. A file that states a given
     * element itself, or a value the spec's rules refuse, is a one-line {@link InvalidInputException}
     * naming the option.
     */
    ModelFiles.DerivedSpec derive(Checkpoint checkpoint) {
      Map<SpecElement, Object> supplied = supplied();
      if (supplied.isEmpty()) {
        return ModelFiles.deriveSpec(checkpoint);
      }
      for (SpecElement element : supplied.keySet()) {
        if (checkpoint.statedSpec().containsKey(element)) {
          Object own = ModelFiles.deriveSpec(checkpoint).spec().toDraft().value(element);
          throw new InvalidInputException(option(element) + ": " + checkpoint.description() + " ("
              + checkpoint.format() + ") states its own " + element.elementName() + " (" + own
              + "); the option is only for llama2.c files, which store none");
        }
      }
      try {
        return ModelFiles.deriveSpec(checkpoint, supplied);
      } catch (InvalidSpecException e) {
        throw new InvalidInputException(e.problems().stream()
            .map(problem -> option(problem.element()) + " " + supplied.get(problem.element()) + ": " + problem.text())
            .collect(Collectors.joining("; ")));
      }
    }

    private static String option(SpecElement element) {
      return element == SpecElement.ROPE_THETA ? "--rope-theta" : "--rms-eps";
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
