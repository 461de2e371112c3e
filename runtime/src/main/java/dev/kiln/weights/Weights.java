package dev.kiln.weights;

import dev.kiln.ProblemList;
import dev.kiln.spec.ResolvedSpec;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * All weights of a model, by Hugging Face name, checked against a spec: every tensor the spec needs
 * is present with its exact shape, and nothing else. The interpreter reads these directly; a
 * generated {@code XWeights} class wraps them in typed fields.
 */
public final class Weights {
  /** Buffers some checkpoints carry that are not weights (recomputed from the spec). */
  private static final List<String> IGNORED_SUFFIXES = List.of(".rotary_emb.inv_freq");

  private final ResolvedSpec spec;
  private final Map<String, WeightTensor> tensors;

  private Weights(ResolvedSpec spec, Map<String, WeightTensor> tensors) {
    this.spec = spec;
    this.tensors = Collections.unmodifiableMap(tensors);
  }

  /**
   * Seeded random weights (for demos and tests): norm gains U(0.6, 1.4); embeddings N(0, 1), or
   * N(0, 0.2^2) when tied to the LM head; LM head N(0, (2/sqrt(hidden))^2); other matrices N(0,
   * 1/fan_in); biases N(0, 0.1^2). Each tensor's values depend only on the seed and its name (so
   * tensors are filled in parallel, with the same values as one at a time).
   */
  public static Weights random(ResolvedSpec spec, long seed) {
    List<TensorInfo> layout = WeightLayout.of(spec);
    FloatTensor[] filled = new FloatTensor[layout.size()];
    IntStream.range(0, layout.size())
        .parallel()
        .forEach(i -> filled[i] = randomTensor(spec, layout.get(i), seed));
    Map<String, WeightTensor> tensors = new LinkedHashMap<>();
    for (FloatTensor tensor : filled) {
      tensors.put(tensor.name(), tensor);
    }
    return new Weights(spec, tensors);
  }

  private static FloatTensor randomTensor(ResolvedSpec spec, TensorInfo info, long seed) {
    var random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + info.name().hashCode());
    long count = Arrays.stream(info.shape()).reduce(1L, Math::multiplyExact);
    boolean norm =
        info.kind() == GlobalTensor.NORM
            || info.kind() == LayerTensor.INPUT_LAYERNORM
            || info.kind() == LayerTensor.POST_ATTENTION_LAYERNORM;
    double std = info.shape().length == 1 ? 0.1 : 1.0 / Math.sqrt(info.shape()[1]);
    if (info.kind() == GlobalTensor.EMBED_TOKENS) {
      std = spec.tieWordEmbeddings() ? 0.2 : 1.0;
    } else if (info.kind() == GlobalTensor.LM_HEAD) {
      std = 2.0 / Math.sqrt(spec.hiddenSize());
    }
    FloatTensor tensor = FloatTensor.allocate(info.name(), info.shape());
    MemorySegment data = tensor.data();
    float[] chunk = new float[(int) Math.min(count, FILL_CHUNK)];
    for (long done = 0; done < count; done += chunk.length) {
      int length = (int) Math.min(chunk.length, count - done);
      if (norm) {
        fillUniform(chunk, length, random, 0.6, 1.4);
      } else {
        fillGaussian(chunk, length, random, std);
      }
      MemorySegment.copy(chunk, 0, data, FloatTensor.LAYOUT, done * Float.BYTES, length);
    }
    return tensor;
  }

  /** Floats drawn at a time before they are copied to a tensor's memory. */
  private static final int FILL_CHUNK = 1 << 20;

  // Tight loops over a float[] (rather than FloatTensor.set per element): the same values in the
  // same order, several times faster, which matters for billion-parameter benchmark models.
  private static void fillUniform(
      float[] values, int length, SplittableRandom random, double from, double to) {
    for (int i = 0; i < length; i++) {
      values[i] = (float) random.nextDouble(from, to);
    }
  }

  private static void fillGaussian(
      float[] values, int length, SplittableRandom random, double std) {
    for (int i = 0; i < length; i++) {
      values[i] = (float) (random.nextGaussian() * std);
    }
  }

  /**
   * Loads a model file of any format {@link ModelFiles#open} reads, memory-mapped: matrices stay in
   * the file (in their stored type), only vectors are copied. A file whose header states values
   * that differ from the spec is an error listing each of them.
   */
  public static Weights load(ResolvedSpec spec, Path file) {
    Checkpoint checkpoint = ModelFiles.open(file);
    ModelFiles.requireFits(spec, checkpoint);
    return from(spec, checkpoint);
  }

  /**
   * Takes every tensor the spec needs from a source. Throws {@link WeightLoadException} listing
   * every missing tensor, shape mismatch (file shape vs spec shape), element type Kiln cannot read
   * and unexpected tensor.
   */
  public static Weights from(ResolvedSpec spec, TensorSource source) {
    requireLayers(spec, source);
    ProblemList problems = new ProblemList();
    Set<String> unused = new LinkedHashSet<>(source.names());
    unused.removeIf(name -> IGNORED_SUFFIXES.stream().anyMatch(name::endsWith));
    List<TensorInfo> needed = WeightLayout.of(spec);
    for (TensorInfo info : needed) {
      if (!unused.remove(info.name())) {
        problems.add(
            "missing tensor "
                + info.name()
                + " (spec needs shape "
                + Arrays.toString(info.shape())
                + ")");
        continue;
      }
      long[] shape = source.shape(info.name());
      if (!Arrays.equals(shape, info.shape())) {
        problems.add(
            "tensor "
                + info.name()
                + " has shape "
                + Arrays.toString(shape)
                + " in the file but the spec needs "
                + Arrays.toString(info.shape()));
      }
      String dtype = source.dtypeName(info.name());
      if (Arrays.stream(Dtype.values()).noneMatch(d -> d.name().equals(dtype))) {
        problems.add(
            "tensor "
                + info.name()
                + " has dtype "
                + dtype
                + "; Kiln reads "
                + Arrays.toString(Dtype.values()));
      }
    }
    for (String name : unused) {
      problems.add(
          "unexpected tensor "
              + name
              + " "
              + Arrays.toString(source.shape(name))
              + " (the spec has no such weight: check attentionBias, mlpBias, lmHeadBias, tieWordEmbeddings, norm, mlp)");
    }
    if (!problems.isEmpty()) {
      throw new WeightLoadException(
          source.description() + " does not fit the spec:" + problems.lines());
    }
    Map<String, WeightTensor> tensors = new LinkedHashMap<>();
    try {
      for (TensorInfo info : needed) {
        // Matrices stay in their stored type (the kernels dequantize on the fly); vectors (norm
        // gains,
        // biases) are small and become float32.
        WeightTensor tensor = source.read(info.name());
        if (info.shape().length == 1) {
          FloatTensor vector = tensor.toFloat();
          warnIfNotFinite(source, vector);
          tensor = vector;
        }
        tensors.put(info.name(), tensor);
      }
    } catch (InternalError e) {
      throw ModelFiles.changedWhileMapped(e);
    }
    MappedFile.markInUse(tensors.values().stream().map(WeightTensor::data).toList());
    reportLargeModel(source, tensors.values());
    return new Weights(spec, tensors);
  }

  /**
   * A spec that claims more layers than the source holds tensors of is refused before anything is
   * built per layer: a damaged header claiming a million layers must cost nothing, not a layout of
   * nine million tensors and a message listing each as missing.
   */
  private static void requireLayers(ResolvedSpec spec, TensorSource source) {
    if (Arrays.stream(LayerTensor.values()).noneMatch(kind -> kind.presentIn(spec))) {
      return; // layers without weights: nothing to count
    }
    Set<Integer> held = new java.util.HashSet<>();
    for (String name : source.names()) {
      int layer = layerIndex(name);
      if (layer >= 0) {
        held.add(layer);
      }
    }
    if (spec.numHiddenLayers() > held.size()) {
      throw new WeightLoadException(
          source.description()
              + ": numHiddenLayers is "
              + spec.numHiddenLayers()
              + " (as the file states it or the decoder was built for) but the file holds tensors of only "
              + held.size()
              + (held.size() == 1 ? " layer" : " layers")
              + " (model.layers.N.*)");
    }
  }

  /** N of a name {@code model.layers.N.*}, or -1. */
  static int layerIndex(String name) {
    String prefix = "model.layers.";
    if (!name.startsWith(prefix)) {
      return -1;
    }
    int end = prefix.length();
    while (end < name.length()
        && end - prefix.length() < 10
        && Character.isDigit(name.charAt(end))
        && name.charAt(end) < 128) {
      end++;
    }
    if (end == prefix.length() || end >= name.length() || name.charAt(end) != '.') {
      return -1;
    }
    long value = Long.parseLong(name, prefix.length(), end, 10);
    return value > Integer.MAX_VALUE ? -1 : (int) value;
  }

  /** Models at least this large get a line on standard error saying what was mapped. */
  private static final long REPORT_BYTES = 256L << 20;

  /**
   * Matrices are memory-mapped, not read, so loading takes no time worth a progress bar; for a
   * large model Kiln says what it mapped and in which element types (pages are read on first use).
   */
  private static void reportLargeModel(TensorSource source, Collection<WeightTensor> tensors) {
    long bytes = tensors.stream().mapToLong(t -> t.data().byteSize()).sum();
    if (bytes < REPORT_BYTES) {
      return;
    }
    Map<Dtype, Long> types = new TreeMap<>();
    tensors.forEach(t -> types.merge(t.dtype(), 1L, Long::sum));
    StringBuilder kinds = new StringBuilder();
    types.forEach(
        (dtype, count) ->
            kinds.append(kinds.isEmpty() ? "" : ", ").append(count).append(" ").append(dtype));
    System.err.printf(
        Locale.ROOT,
        "kiln: mapped %s: %d tensors (%s), %.2f GiB%n",
        source.description(),
        tensors.size(),
        kinds,
        bytes / (double) (1L << 30));
  }

  /**
   * These weights with every matrix converted to {@code type} (F32, F16, BF16, Q8_0 or Q4_0; see
   * {@link Quantizer}); vectors stay float32. This is how random models of each weight type are
   * made for tests and benchmarks.
   */
  public Weights withMatrices(Dtype type) {
    List<String> names = List.copyOf(tensors.keySet());
    WeightTensor[] results = new WeightTensor[names.size()];
    // Tensors convert independently, so in parallel (large random models are made this way).
    IntStream.range(0, results.length)
        .parallel()
        .forEach(
            i -> {
              WeightTensor tensor = tensors.get(names.get(i));
              results[i] =
                  tensor.shape().length == 1 || tensor.dtype() == type
                      ? tensor
                      : Quantizer.quantize(tensor, type);
            });
    Map<String, WeightTensor> converted = new LinkedHashMap<>();
    for (int i = 0; i < results.length; i++) {
      converted.put(names.get(i), results[i]);
    }
    return new Weights(spec, converted);
  }

  /** Norm gains and biases with NaN or infinities make every logit NaN; say so at load time. */
  private static void warnIfNotFinite(TensorSource source, FloatTensor vector) {
    long count = 0;
    long first = -1;
    for (long i = 0; i < vector.elementCount(); i++) {
      if (!Float.isFinite(vector.get(i))) {
        count++;
        first = first < 0 ? i : first;
      }
    }
    if (count > 0) {
      System.err.println(
          "kiln: WARNING: "
              + source.description()
              + ": tensor "
              + vector.name()
              + " has "
              + count
              + " NaN or infinite values (first at index "
              + first
              + "); its outputs will not be finite");
    }
  }

  public ResolvedSpec spec() {
    return spec;
  }

  /** All tensors by name, in layout order: matrices in their stored type, vectors as float32. */
  public Map<String, WeightTensor> tensors() {
    return tensors;
  }

  public WeightTensor get(GlobalTensor kind) {
    return require(kind.hfName());
  }

  public WeightTensor get(LayerTensor kind, int layer) {
    return require(kind.hfName(layer));
  }

  /** A one-dimensional tensor (norm gain or bias), always float32. */
  public FloatTensor vector(GlobalTensor kind) {
    return (FloatTensor) get(kind);
  }

  /** A one-dimensional tensor (norm gain or bias), always float32. */
  public FloatTensor vector(LayerTensor kind, int layer) {
    return (FloatTensor) get(kind, layer);
  }

  /** The LM head's matrix: {@code lm_head.weight}, or the token embeddings when they are tied. */
  public WeightTensor lmHead() {
    return spec.tieWordEmbeddings() ? get(GlobalTensor.EMBED_TOKENS) : get(GlobalTensor.LM_HEAD);
  }

  private WeightTensor require(String name) {
    WeightTensor tensor = tensors.get(name);
    if (tensor == null) {
      throw new IllegalArgumentException("this model has no tensor " + name);
    }
    return tensor;
  }
}
