package dev.kiln.weights;

import dev.kiln.spec.InvalidSpecException;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.spec.SpecElement;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Model files of every format Kiln reads, and the specs they describe: {@link #open} picks the
 * reader, {@link #deriveSpec} turns a file's header into a {@link ResolvedSpec} (and an
 * {@code @ModelSpec} annotation to paste into a build), {@link #mismatches} compares a file with
 * the spec of a decoder it is loaded into.
 */
public final class ModelFiles {
  /** Elements every file must state for a spec to be derived from it. */
  private static final Set<SpecElement> REQUIRED =
      EnumSet.of(
          SpecElement.VOCAB_SIZE,
          SpecElement.HIDDEN_SIZE,
          SpecElement.INTERMEDIATE_SIZE,
          SpecElement.NUM_HIDDEN_LAYERS,
          SpecElement.NUM_ATTENTION_HEADS);

  private ModelFiles() {}

  /**
   * Opens a model file, choosing the reader from the file itself: a GGUF file (magic {@code GGUF}),
   * a Hugging Face folder ({@code config.json} with safetensors), a {@code .safetensors} file, or a
   * llama2.c {@code .bin} checkpoint.
   */
  public static Checkpoint open(Path path) {
    if (Files.isDirectory(path)) {
      return HfFolder.open(path);
    }
    if (!Files.exists(path)) {
      throw new WeightLoadException(path + ": no such file or folder");
    }
    RegularFiles.require(path);
    byte[] magic = new byte[4];
    int read;
    try (InputStream in = Files.newInputStream(path)) {
      read = in.readNBytes(magic, 0, 4);
    } catch (IOException e) {
      throw new WeightLoadException(path + ": cannot read: " + e.getMessage(), e);
    }
    String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
    if (read == 4 && new String(magic, StandardCharsets.ISO_8859_1).equals("GGUF")) {
      return GgufFile.open(path);
    }
    if (name.endsWith(".safetensors")) {
      return SafetensorsFile.open(path);
    }
    if (name.endsWith(".bin")) {
      return Llama2cFile.open(path);
    }
    if (name.endsWith(".gguf")) {
      return GgufFile.open(path); // reports the wrong magic
    }
    throw new WeightLoadException(
        path
            + ": not a model file Kiln reads (a .gguf file, a Hugging Face folder or"
            + " .safetensors file, or a llama2.c .bin checkpoint)");
  }

  /**
   * A spec derived from what a file states. Elements a file does not state take the
   * {@code @ModelSpec} defaults, except where {@code assumptions} names the value the format's own
   * reference implementation assumes (e.g. llama2.c's RoPE theta and RMSNorm epsilon).
   *
   * @param spec the derived spec
   * @param assumptions elements the file does not state but that matter, with the value's source
   */
  public record DerivedSpec(ResolvedSpec spec, Map<SpecElement, String> assumptions) {
    /** The {@code @ModelSpec(...)} annotation for the spec, with a comment per assumed value. */
    public String annotationSource() {
      StringBuilder out = new StringBuilder();
      assumptions.forEach(
          (element, why) ->
              out.append("// ")
                  .append(element.elementName())
                  .append(": ")
                  .append(why)
                  .append('\n'));
      return out.append(spec.toAnnotationSource()).toString();
    }
  }

  /**
   * Derives the spec a file describes. Throws {@link WeightLoadException} when the file lacks an
   * essential element or its values do not make a valid spec (listing every problem).
   */
  public static DerivedSpec deriveSpec(Checkpoint checkpoint) {
    return deriveSpec(checkpoint, Map.of());
  }

  /**
   * Derives the spec a file describes, with {@code supplied} values for elements the file does not
   * state (a llama2.c file's rope theta and RMSNorm epsilon, which its format has no field for)
   * instead of the values otherwise assumed. A supplied value is recorded in {@link
   * DerivedSpec#assumptions} as such, and checked by the spec's rules like any other.
   *
   * @throws WeightLoadException when the file states a supplied element itself (its own value is
   *     the model's: it is not overridden), lacks an essential element, or states values that do
   *     not make a valid spec
   * @throws InvalidSpecException when only supplied values break the spec's rules (each problem
   *     names its element)
   */
  public static DerivedSpec deriveSpec(Checkpoint checkpoint, Map<SpecElement, ?> supplied) {
    Map<SpecElement, Object> stated = checkpoint.statedSpec();
    for (SpecElement element : supplied.keySet()) {
      if (stated.containsKey(element)) {
        throw new WeightLoadException(
            checkpoint.description()
                + " ("
                + checkpoint.format()
                + ") states "
                + element.elementName()
                + " itself ("
                + normalize(stated.get(element))
                + "); a value supplied for it is"
                + " not used in place of the file's");
      }
    }
    List<String> missing = new ArrayList<>();
    for (SpecElement element : REQUIRED) {
      if (!stated.containsKey(element)) {
        missing.add(element.elementName());
      }
    }
    if (!missing.isEmpty()) {
      throw new WeightLoadException(
          checkpoint.description()
              + " ("
              + checkpoint.format()
              + ") does not state "
              + String.join(", ", missing)
              + "; a spec cannot be derived from it");
    }
    ResolvedSpec.Builder builder = ResolvedSpec.builder();
    stated.forEach((element, value) -> builder.set(element, normalize(value)));
    Map<SpecElement, String> assumptions = new LinkedHashMap<>();
    if (!stated.containsKey(SpecElement.ROPE_THETA)) {
      builder.ropeTheta(10000.0);
      assumptions.put(
          SpecElement.ROPE_THETA,
          "not stored in "
              + checkpoint.format()
              + " files; 10000.0 assumed (llama2.c's run.c); set it if the model was trained with another");
    }
    if (!stated.containsKey(SpecElement.RMS_NORM_EPS)) {
      builder.rmsNormEps(1e-5);
      assumptions.put(
          SpecElement.RMS_NORM_EPS,
          "not stored in " + checkpoint.format() + " files; 1e-5 assumed (llama2.c's run.c)");
    }
    if (checkpoint instanceof GgufFile gguf) {
      if (stated.get(SpecElement.ROPE_SCALING) == dev.kiln.RopeScaling.LLAMA3) {
        assumptions.put(
            SpecElement.ROPE_SCALING_LOW_FREQ_FACTOR,
            "recovered with the other llama3 parameters from the"
                + " rope_freqs tensor, which fixes only original / low and original / high; 1.0 taken (same frequencies)");
      }
      if (gguf.architecture().orElse("").equals("gemma2")) {
        assumptions.put(
            SpecElement.QUERY_PRE_ATTN_SCALAR,
            "GGUF has no key for it; headDim assumed, as llama.cpp does"
                + " (Gemma 2 27B uses hiddenSize / numAttentionHeads: set it for that model)");
      }
    }
    supplied.forEach(
        (element, value) -> {
          builder.set(element, value);
          assumptions.put(
              element, "not stored in " + checkpoint.format() + " files; " + value + " supplied");
        });
    try {
      return new DerivedSpec(builder.build(), assumptions);
    } catch (InvalidSpecException e) {
      if (e.problems().stream().allMatch(problem -> supplied.containsKey(problem.element()))) {
        throw e;
      }
      throw new WeightLoadException(
          checkpoint.description()
              + " ("
              + checkpoint.format()
              + ") states a spec Kiln cannot build: "
              + e.getMessage(),
          e);
    }
  }

  /**
   * Where a file disagrees with a decoder's spec, one line per element: {@code "numKeyValueHeads:
   * file 2, spec 4"}. Only elements the file states are compared; a decoder may have a shorter
   * context ({@code maxPositionEmbeddings}) than the model was trained for, not a longer one.
   */
  public static List<String> mismatches(ResolvedSpec spec, Checkpoint checkpoint) {
    List<String> lines = new ArrayList<>();
    var mine = spec.toDraft();
    for (SpecElement element : SpecElement.values()) {
      Object stated = checkpoint.statedSpec().get(element);
      if (stated == null) {
        continue;
      }
      Object fileValue = normalize(stated);
      Object specValue = mine.value(element);
      boolean fits =
          element == SpecElement.MAX_POSITION_EMBEDDINGS
              ? (Integer) specValue <= (Integer) fileValue
              : fileValue.equals(specValue);
      if (!fits) {
        lines.add(
            String.format(
                Locale.ROOT,
                "%s: file %s, spec %s%s",
                element.elementName(),
                fileValue,
                specValue,
                element == SpecElement.MAX_POSITION_EMBEDDINGS
                    ? " (the decoder's context may not exceed the model's)"
                    : ""));
      }
    }
    return lines;
  }

  /** Throws {@link WeightLoadException} listing every {@link #mismatches mismatch}. */
  public static void requireFits(ResolvedSpec spec, Checkpoint checkpoint) {
    List<String> lines = mismatches(spec, checkpoint);
    if (!lines.isEmpty()) {
      throw new WeightLoadException(
          checkpoint.description()
              + " ("
              + checkpoint.format()
              + ") was made for a different spec:"
              + dev.kiln.ProblemList.lines(lines));
    }
  }

  /**
   * Throws a {@link WeightLoadException} naming each model file that loaded weights read from and
   * that is now shorter than when it was mapped (truncated or rewritten in place while in use):
   * reading its lost pages would fault, which the JVM reports as an {@link InternalError} or, for
   * some reads, as a crash (SIGBUS). One {@code stat} per mapped file; decoders call it before each
   * call.
   */
  public static void requireMappedFilesUnchanged() {
    String changed = MappedFile.changed();
    if (changed != null) {
      throw new WeightLoadException(changed);
    }
  }

  /**
   * {@code e} as a {@link WeightLoadException} when it is the JVM's report of a fault while reading
   * a memory-mapped file (a model file changed or truncated while in use), naming the file when it
   * can tell which; otherwise {@code e} itself is thrown.
   */
  public static WeightLoadException changedWhileMapped(InternalError e) {
    if (!MappedFile.isMappedFault(e)) {
      throw e;
    }
    String changed = MappedFile.changed();
    WeightLoadException problem =
        new WeightLoadException(
            changed != null
                ? changed
                : "a memory-mapped model file changed or was truncated while in use; reload the model");
    problem.initCause(e);
    return problem;
  }

  /**
   * Values as a spec holds them. Formats that store float32 (GGUF's {@code rope.freq_base} and
   * {@code layer_norm_rms_epsilon}) give doubles such as 9.99999974737875e-06 for 1e-5; a double
   * that is exactly a float32 becomes the shortest decimal of that float, so it compares equal to
   * the value a person writes.
   */
  static Object normalize(Object value) {
    if (value instanceof Double d && (double) (float) d.doubleValue() == d) {
      return Double.parseDouble(Float.toString((float) d.doubleValue()));
    }
    return value;
  }
}
