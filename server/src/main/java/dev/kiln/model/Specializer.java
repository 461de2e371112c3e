package dev.kiln.model;

import dev.kiln.Decoder;
import dev.kiln.KilnException;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.Weights;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/**
 * Specializes a decoder to a spec at run time, exactly as a build would: it writes the spec as an
 * {@code @ModelSpec} interface, compiles it in-process with {@code javax.tools} and Kiln's
 * annotation processor (the same pipeline: validate, plan, emit) into a cache folder, and loads the
 * generated {@code XDecoder}. Compiled classes are cached under a key made of the spec and a
 * fingerprint of this Kiln build, so later runs of the same model load them without compiling. The
 * cache is a {@link ClassCache}: private folders, entries verified against their digests before
 * their classes are defined (a damaged entry is compiled again), another user's or a world-writable
 * folder refused, concurrent first runs safe.
 */
public final class Specializer {
  private static final String PACKAGE = "dev.kiln.specialized";

  private final Path cacheRoot;
  private final Consumer<String> progress;

  public Specializer(Path cacheRoot, Consumer<String> progress) {
    this.cacheRoot = cacheRoot;
    this.progress = progress;
  }

  /** The default cache: {@code $KILN_CACHE}, else {@code ~/.cache/kiln}. */
  public static Path defaultCacheRoot() {
    String env = System.getenv("KILN_CACHE");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return Path.of(System.getProperty("user.home"), ".cache", "kiln");
  }

  /**
   * A generated decoder class (the Java backend's, or the TornadoVM backend's), ready to wrap
   * weights.
   */
  public record Specialized(
      ResolvedSpec spec,
      Class<?> decoderClass,
      Class<?> weightsClass,
      Path classes,
      boolean compiled) {
    /** A new decoder over {@code weights} (made for this spec). */
    public Decoder create(Weights weights) {
      try {
        Object typed = weightsClass.getMethod("from", Weights.class).invoke(null, weights);
        return (Decoder) decoderClass.getConstructor(weightsClass).newInstance(typed);
      } catch (InvocationTargetException e) {
        if (e.getCause() instanceof RuntimeException runtime) {
          throw runtime;
        }
        throw new KilnException(
            "cannot create " + decoderClass.getName() + ": " + e.getCause(), e.getCause());
      } catch (ReflectiveOperationException e) {
        throw new KilnException("cannot create " + decoderClass.getName() + ": " + e, e);
      }
    }
  }

  /** Loads the decoder specialized to {@code spec}, compiling it first unless the cache has it. */
  public Specialized specialize(ResolvedSpec spec) {
    return specialize(spec, false);
  }

  /**
   * Loads the Java decoder specialized to {@code spec}, or with {@code tornado} its TornadoVM
   * decoder (compiled against TornadoVM's API, which must be in this JVM), compiling first unless
   * cached.
   */
  public Specialized specialize(ResolvedSpec spec, boolean tornado) {
    String key = key(spec);
    String simpleName = "M" + key;
    String entryName = tornado ? key + "-tornado" : key;
    String decoderName = simpleName + (tornado ? "TornadoDecoder" : "Decoder");
    ClassCache cache = new ClassCache(cacheRoot);
    Path real = cache.open(true).orElseThrow();
    boolean compiled = false;
    ClassCache.Entry entry = null;
    // Twice at most: a damaged entry is removed and compiled again; a compile that loses the race
    // to
    // a concurrent run uses the winner's entry.
    for (int attempt = 0; entry == null; attempt++) {
      try {
        entry = cache.load(real, entryName).orElse(null);
      } catch (ClassCache.DamagedException e) {
        if (attempt > 0) {
          throw new KilnException(
              "the cached decoder in "
                  + real.resolve(entryName)
                  + " is damaged right after"
                  + " compiling ("
                  + e.getMessage()
                  + "); is another program writing to "
                  + real
                  + "?");
        }
        progress.accept(
            "the cached decoder in "
                + real.resolve(entryName)
                + " is damaged ("
                + e.getMessage()
                + "); compiling it again");
        cache.discard(real, entryName);
      }
      if (entry == null) {
        if (attempt > 0) {
          throw new KilnException(
              "the compiled decoder vanished from "
                  + real.resolve(entryName)
                  + "; is another program deleting from "
                  + real
                  + "?");
        }
        compile(spec, simpleName, cache, real, entryName, tornado);
        compiled = true;
      } else if (!compiled) {
        progress.accept("using the decoder compiled for this spec in " + entry.dir());
      }
    }
    try {
      ClassLoader loader;
      if (tornado) {
        // TornadoVM reads kernel class files through the system class loader.
        if (!(ClassLoader.getSystemClassLoader() instanceof KilnClassLoader system)) {
          throw new KilnException(
              "the TornadoVM decoder must be loaded by the system class loader: run kiln through"
                  + " bin/kiln, or start the JVM with -Djava.system.class.loader="
                  + KilnClassLoader.class.getName());
        }
        system.add(entry.dir().resolve("classes"));
        loader = system;
      } else {
        // The verified bytes themselves, not the files (which could change after verification).
        loader = new VerifiedClassLoader(entry.classes(), Specializer.class.getClassLoader());
      }
      Class<?> decoder = loader.loadClass(PACKAGE + "." + decoderName);
      Class<?> weights = loader.loadClass(PACKAGE + "." + simpleName + "Weights");
      return new Specialized(spec, decoder, weights, entry.dir().resolve("classes"), compiled);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new KilnException(
          "the specialized decoder in "
              + entry.dir()
              + " cannot be loaded (delete the folder to"
              + " recompile): "
              + e,
          e);
    }
  }

  /** Defines the classes of a verified cache entry from their bytes. */
  private static final class VerifiedClassLoader extends ClassLoader {
    static {
      ClassLoader.registerAsParallelCapable();
    }

    private final Map<String, byte[]> classes;

    VerifiedClassLoader(Map<String, byte[]> classes, ClassLoader parent) {
      super("kiln-specialized", parent);
      this.classes = classes;
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
      byte[] bytes = classes.get(name);
      if (bytes == null) {
        throw new ClassNotFoundException(name);
      }
      return defineClass(name, bytes, 0, bytes.length);
    }
  }

  /** The source of the spec interface that the processor turns into a decoder. */
  static String specSource(ResolvedSpec spec, String simpleName) {
    return "package "
        + PACKAGE
        + ";\n\n"
        + "import dev.kiln.*;\n\n"
        + "/** Specialized at run time by the kiln command. */\n"
        + spec.toAnnotationSource()
        + "\n"
        + "public interface "
        + simpleName
        + " {}\n";
  }

  private void compile(
      ResolvedSpec spec,
      String simpleName,
      ClassCache cache,
      Path real,
      String entryName,
      boolean tornado) {
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    if (javac == null) {
      throw new KilnException(
          "specializing needs a JDK (javax.tools found no Java compiler in "
              + System.getProperty("java.home")
              + "); run kiln with a JDK 25, or use --backend interpreter");
    }
    long start = System.nanoTime();
    progress.accept(
        "specializing a decoder to this model's shapes (first run; compiled once, then cached in "
            + cacheRoot
            + ") ...");
    cache.removeStale(real);
    Path work = null;
    try {
      work = Files.createTempDirectory(real, "compiling-");
      Path sources =
          Files.createDirectories(work.resolve("src").resolve(PACKAGE.replace('.', '/')));
      Path generated = Files.createDirectories(work.resolve("generated"));
      Path classes = Files.createDirectories(work.resolve("classes"));
      Path source = sources.resolve(simpleName + ".java");
      Files.writeString(source, specSource(spec, simpleName), StandardCharsets.UTF_8);

      DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
      try (StandardJavaFileManager files =
          javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
        String classpath = classpath();
        if (tornado) {
          for (Path jar : TornadoBridge.compileClasspath()) {
            classpath += java.io.File.pathSeparator + jar;
          }
        }
        List<String> options =
            List.of(
                "--release",
                "25",
                "--add-modules",
                "jdk.incubator.vector",
                "-classpath",
                classpath,
                "-processorpath",
                classpath,
                "-processor",
                "dev.kiln.processor.KilnProcessor",
                "-d",
                classes.toString(),
                "-s",
                generated.toString(),
                "-g",
                "-nowarn",
                "-Xlint:none");
        boolean ok =
            javac
                .getTask(null, files, diagnostics, options, null, files.getJavaFileObjects(source))
                .call();
        if (!ok) {
          List<String> errors = new ArrayList<>();
          for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() == Diagnostic.Kind.ERROR) {
              errors.add(d.getMessage(Locale.ROOT));
            }
          }
          throw new KilnException(
              "specializing failed (the spec derived from the file is not one Kiln can build):\n  "
                  + String.join("\n  ", errors));
        }
      }
      Files.writeString(
          work.resolve("spec.txt"), spec.toAnnotationSource() + "\n", StandardCharsets.UTF_8);
      if (!cache.publish(real, work, entryName)) {
        progress.accept("another kiln compiled the same decoder meanwhile; using its classes");
      }
      work = null;
    } catch (IOException e) {
      throw new KilnException(
          "cannot write the specialization cache in " + cacheRoot + ": " + e.getMessage(), e);
    } finally {
      if (work != null) {
        ClassCache.deleteQuietly(work); // a failed compile leaves nothing behind
      }
    }
    progress.accept(
        String.format(Locale.ROOT, "specialized in %.1f s", (System.nanoTime() - start) / 1e9));
  }

  /** The class path the processor and the generated code compile against: Kiln's own. */
  private static String classpath() {
    String path = System.getProperty("java.class.path", "");
    List<String> entries = new ArrayList<>(List.of(path.split(java.io.File.pathSeparator)));
    for (Class<?> type :
        List.of(
            Decoder.class,
            dev.kiln.processor.KilnProcessor.class,
            com.palantir.javapoet.JavaFile.class)) {
      codeSource(type)
          .map(Path::toString)
          .filter(location -> !entries.contains(location))
          .ifPresent(entries::add);
    }
    entries.removeIf(String::isBlank);
    return String.join(java.io.File.pathSeparator, entries);
  }

  /** The jar or class folder {@code type} was loaded from, when the class loader says. */
  private static java.util.Optional<Path> codeSource(Class<?> type) {
    try {
      var source = type.getProtectionDomain().getCodeSource();
      return source == null
          ? java.util.Optional.empty()
          : java.util.Optional.of(Path.of(source.getLocation().toURI()));
    } catch (URISyntaxException e) {
      return java.util.Optional.empty();
    }
  }

  /**
   * The cache key: the spec and this build of Kiln (its version and the bytes of its runtime and
   * processor).
   */
  static String key(ResolvedSpec spec) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      digest.update(spec.toAnnotationSource().getBytes(StandardCharsets.UTF_8));
      digest.update(fingerprint().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest.digest(), 0, 10);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String fingerprint;

  /**
   * Kiln's version and a digest of the runtime's and processor's code, so a rebuilt Kiln never
   * loads stale classes.
   */
  static synchronized String fingerprint() {
    if (fingerprint == null) {
      try {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        digest.update(version().getBytes(StandardCharsets.UTF_8));
        for (Class<?> type : List.of(Decoder.class, dev.kiln.processor.KilnProcessor.class)) {
          Path location =
              codeSource(type)
                  .orElseThrow(
                      () ->
                          new IllegalStateException("cannot locate the code of " + type.getName()));
          if (Files.isDirectory(location)) {
            try (Stream<Path> tree = Files.walk(location)) {
              for (Path file :
                  tree.filter(Files::isRegularFile)
                      .sorted(Comparator.comparing(Path::toString))
                      .toList()) {
                digest.update(
                    location.relativize(file).toString().getBytes(StandardCharsets.UTF_8));
                digest.update(Files.readAllBytes(file));
              }
            }
          } else {
            digest.update(Files.readAllBytes(location));
          }
        }
        fingerprint = version() + "-" + HexFormat.of().formatHex(digest.digest(), 0, 8);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return fingerprint;
  }

  /** Kiln's version, from the build. */
  public static String version() {
    try (InputStream in = Specializer.class.getResourceAsStream("kiln.properties")) {
      Properties properties = new Properties();
      if (in != null) {
        properties.load(in);
      }
      return properties.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }
}
