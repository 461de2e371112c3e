package dev.kiln.cli;

import dev.kiln.InvalidInputException;
import dev.kiln.KilnException;
import dev.kiln.model.Specializer;
import dev.kiln.spec.InvalidSpecException;
import dev.kiln.spec.SpecElement;
import dev.kiln.weights.Checkpoint;
import dev.kiln.weights.ModelFiles;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code kiln} command: run, inspect, verify and benchmark model files through specialized
 * decoders.
 */
@Command(
    name = "kiln",
    mixinStandardHelpOptions = true,
    versionProvider = Kiln.Version.class,
    description =
        "Runs Llama-family model files (GGUF, Hugging Face, llama2.c) through decoders specialized to their"
            + " shapes.",
    subcommands = {
      RunCommand.class,
      SpecCommand.class,
      InfoCommand.class,
      VerifyCommand.class,
      BenchCommand.class,
      DevicesCommand.class,
      ServeCommand.class,
      BenchServeCommand.class
    })
public final class Kiln implements Callable<Integer> {
  /** Options every command that loads a model shares. */
  static final class Common {
    @Option(names = "--threads", description = "Worker threads (default: all cores).")
    Integer threads;

    @Option(
        names = "--cache",
        description =
            "Where specialized decoders are cached (default: $KILN_CACHE or ~/.cache/kiln).")
    Path cache;

    @Option(names = "--verbose", description = "Print stack traces of errors.")
    boolean verbose;

    @Option(
        names = "--device",
        paramLabel = "B:D",
        description =
            "TornadoVM device, backend:device as `kiln devices`"
                + " lists them (default: TornadoVM's default device).")
    String device;

    @Option(
        names = "--print-kernels",
        description = "Print the OpenCL C or PTX TornadoVM generates for each task.")
    boolean printKernels;

    @Option(
        names = "--layout",
        paramLabel = "gpu|cpu",
        description =
            "The TornadoVM kernels' layout (default: gpu on a"
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
        if (threads < 1 || threads > maxThreads()) {
          throw new InvalidInputException(
              "--threads must be between 1 and "
                  + maxThreads()
                  + " (8 x the "
                  + Runtime.getRuntime().availableProcessors()
                  + " available processors), was "
                  + threads);
        }
        System.setProperty("kiln.threads", Integer.toString(threads));
      }
    }

    /** The most worker threads --threads may ask for: 8 per available processor. */
    static int maxThreads() {
      return 8 * Runtime.getRuntime().availableProcessors();
    }

    Path cacheRoot() {
      return cache != null ? cache : Specializer.defaultCacheRoot();
    }
  }

  /**
   * Values a llama2.c file does not store, for every command that derives a spec from a file. A
   * file that states the value itself (GGUF, a Hugging Face config.json) keeps its own: giving the
   * option for it is an error, not a silent override.
   */
  static final class SpecOverrides {
    @Option(
        names = "--rope-theta",
        paramLabel = "X",
        description =
            "RoPE theta of a llama2.c model, whose file does"
                + " not store it (default: 10000, as llama2.c's run.c); an error for a file that states its own.")
    Double ropeTheta;

    @Option(
        names = "--rms-eps",
        paramLabel = "X",
        description =
            "RMSNorm epsilon of a llama2.c model, whose file does"
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
     * element itself, or a value the spec's rules refuse, is a one-line {@link
     * InvalidInputException} naming the option.
     */
    ModelFiles.DerivedSpec derive(Checkpoint checkpoint) {
      Map<SpecElement, Object> supplied = supplied();
      if (supplied.isEmpty()) {
        return ModelFiles.deriveSpec(checkpoint);
      }
      for (SpecElement element : supplied.keySet()) {
        if (checkpoint.statedSpec().containsKey(element)) {
          Object own = ModelFiles.deriveSpec(checkpoint).spec().toDraft().value(element);
          throw new InvalidInputException(
              option(element)
                  + ": "
                  + checkpoint.description()
                  + " ("
                  + checkpoint.format()
                  + ") states its own "
                  + element.elementName()
                  + " ("
                  + own
                  + "); the option is only for llama2.c files, which store none");
        }
      }
      try {
        return ModelFiles.deriveSpec(checkpoint, supplied);
      } catch (InvalidSpecException e) {
        throw new InvalidInputException(
            e.problems().stream()
                .map(
                    problem ->
                        option(problem.element())
                            + " "
                            + supplied.get(problem.element())
                            + ": "
                            + problem.text())
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

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getOut());
    return 0;
  }

  public static void main(String[] args) {
    boolean verbose = java.util.Arrays.asList(args).contains("--verbose");
    int code;
    try {
      // Standard output without PrintStream's silence: its first write error is kept, so a full
      // disk
      // or a closed pipe ends the run with an error instead of exit code 0 and lost output.
      StandardOutput stdout = new StandardOutput(new FileOutputStream(FileDescriptor.out));
      PrintWriter err = new PrintWriter(System.err, true);
      Thread.setDefaultUncaughtExceptionHandler(
          (thread, failure) -> {
            if (verbose) {
              failure.printStackTrace(err);
            }
            err.println("kiln: " + thread.getName() + ": " + describe(failure));
            err.flush();
          });
      code =
          execute(
              args,
              new PrintWriter(new OutputStreamWriter(stdout, Charset.defaultCharset()), true),
              err,
              stdout::failure);
    } catch (Throwable failure) {
      if (verbose) {
        failure.printStackTrace();
      }
      System.err.println("kiln: " + describe(failure));
      code = 1;
    }
    System.exit(code);
  }

  /**
   * Runs the command line with the given output streams and returns the exit code: 0 on success, 1
   * for an error of the model, input or machine (one line, no stack trace unless {@code
   * --verbose}), 2 for a malformed command line.
   */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    return execute(new CommandLine(new Kiln()), args, out, err, () -> null);
  }

  static int execute(
      String[] args, PrintWriter out, PrintWriter err, Supplier<IOException> outFailure) {
    return execute(new CommandLine(new Kiln()), args, out, err, outFailure);
  }

  /**
   * Runs {@code commandLine}: errors of the command are one line on {@code err} (with {@code
   * --verbose} their stack traces too), JVM errors included; output that cannot be written ({@code
   * out} has an error, {@code outFailure} may say which) is exit code 141 for a closed pipe, else 1
   * with a message.
   */
  static int execute(
      CommandLine commandLine,
      String[] args,
      PrintWriter out,
      PrintWriter err,
      Supplier<IOException> outFailure) {
    commandLine.setOut(out).setErr(err);
    // No @file expansion: "-p @notes.txt" is that text, not the file's contents (--prompt-file
    // reads one).
    commandLine.setExpandAtFiles(false);
    boolean verbose = java.util.Arrays.asList(args).contains("--verbose");
    commandLine.setExecutionExceptionHandler(
        (exception, line, parseResult) -> {
          if (exception instanceof OutputFailedException) {
            return outputFailed(out, err, outFailure, verbose);
          }
          if (verbose) {
            exception.printStackTrace(err);
          }
          String message =
              exception instanceof KilnException || exception instanceof IllegalArgumentException
                  ? exception.getMessage()
                  : exception.toString();
          err.println("kiln: " + Sanitize.message(message));
          err.flush();
          return 1;
        });
    int code;
    try {
      code = commandLine.execute(args);
    } catch (Throwable failure) { // picocli passes JVM errors (OutOfMemoryError, ...) on
      if (verbose) {
        failure.printStackTrace(err);
      }
      err.println("kiln: " + describe(failure));
      err.flush();
      code = 1;
    }
    if (code != 141 && out.checkError()) {
      return outputFailed(out, err, outFailure, verbose);
    }
    return code;
  }

  /**
   * Output could not be written: exit code 141 (as SIGPIPE) for a closed pipe, else 1 with a
   * message.
   */
  private static int outputFailed(
      PrintWriter out, PrintWriter err, Supplier<IOException> outFailure, boolean verbose) {
    IOException cause = outFailure.get();
    String reason =
        cause != null && cause.getMessage() != null ? cause.getMessage() : "write error";
    if (reason.toLowerCase(java.util.Locale.ROOT).contains("broken pipe")) {
      if (verbose) {
        err.println("kiln: standard output was closed (broken pipe); stopped");
        err.flush();
      }
      return 141;
    }
    err.println("kiln: cannot write standard output: " + reason);
    err.flush();
    return 1;
  }

  /** One line for an error the JVM raised; the stack trace is for --verbose. */
  static String describe(Throwable failure) {
    String text =
        switch (failure) {
          case OutOfMemoryError e ->
              "out of memory ("
                  + e.getMessage()
                  + "); give the JVM more, e.g. KILN_JAVA_OPTS=-Xmx8g,"
                  + " or ask for less (a smaller --context)";
          case StackOverflowError e ->
              "stack overflow (java.lang.StackOverflowError); --verbose shows where";
          case KilnException e -> e.getMessage();
          case Error e -> "internal error: " + e + " (--verbose shows the stack trace)";
          default -> failure.toString();
        };
    String line = Sanitize.message(text).replaceAll("\\R", " ");
    return line.length() > 1000 ? line.substring(0, 997) + "..." : line;
  }

  /** Standard output could not be written: reported by {@link #execute}. */
  static final class OutputFailedException extends KilnException {
    OutputFailedException() {
      super("cannot write standard output");
    }
  }

  /**
   * Flushes {@code out} and throws {@link OutputFailedException} if it has failed (a full disk, a
   * closed pipe).
   */
  static void flush(PrintWriter out) {
    if (out.checkError()) { // flushes first
      throw new OutputFailedException();
    }
  }

  /** Standard output that keeps its first write error. */
  static final class StandardOutput extends FilterOutputStream {
    private volatile IOException failure;

    StandardOutput(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      try {
        out.write(b, off, len);
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        }
        throw e;
      }
    }

    @Override
    public void flush() throws IOException {
      try {
        out.flush();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        }
        throw e;
      }
    }

    IOException failure() {
      return failure;
    }
  }
}
