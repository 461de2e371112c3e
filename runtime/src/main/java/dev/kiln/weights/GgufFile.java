package dev.kiln.weights;

import dev.kiln.spec.SpecElement;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A GGUF file (v2 or v3, little-endian), memory-mapped: the container ({@link GgufContainer}: the
 * header, metadata, tensor infos and data section, all checked when the file is opened, every
 * problem a {@link WeightLoadException} naming the file, the byte offset and the key or tensor)
 * read as a model of one of the architectures Kiln knows ({@link GgufArchitecture}).
 *
 * <p>As a {@link Checkpoint} the file shows its tensors under Hugging Face names (e.g. {@code
 * blk.0.attn_q.weight} is {@code model.layers.0.self_attn.q_proj.weight}; names Kiln does not know
 * keep their GGUF name) and shapes (the GGML dimensions reversed), with the q and k rows that
 * llama.cpp's converter permutes put back in Hugging Face order (a view, no copy). Only files of
 * the {@link #ARCHITECTURES} can be read that way; {@link #readStored} reads any tensor as stored.
 */
public final class GgufFile implements Checkpoint {
  /** The architectures ({@code general.architecture}) whose tensors Kiln reads. */
  public static final List<String> ARCHITECTURES = GgufArchitecture.ARCHITECTURES;

  private final GgufContainer container;
  private final GgufArchitecture architecture;

  private GgufFile(GgufContainer container, GgufArchitecture architecture) {
    this.container = container;
    this.architecture = architecture;
  }

  /**
   * Maps and checks a file; throws {@link WeightLoadException} naming the file, offset and key or
   * tensor of any problem.
   */
  public static GgufFile open(Path path) {
    return parse(path, MappedFile.map(path));
  }

  /** Checks and indexes the GGUF bytes in {@code file} ({@code path} is for messages). */
  static GgufFile parse(Path path, MemorySegment file) {
    GgufContainer container = GgufContainer.parse(path, file);
    return new GgufFile(container, GgufArchitecture.of(container));
  }

  // ---- The file as stored.

  public Path path() {
    return container.path();
  }

  /** The GGUF version, 2 or 3. */
  public int version() {
    return container.version();
  }

  public GgufMetadata metadata() {
    return container.metadata();
  }

  /** The data section's alignment ({@code general.alignment}, 32 by default). */
  public long alignment() {
    return container.alignment();
  }

  /** File offset where the data section starts. */
  public long dataStart() {
    return container.dataStart();
  }

  /** The GGUF names of the tensors, in file order. */
  public List<String> tensorNames() {
    return container.tensorNames();
  }

  /** The tensor infos by GGUF name, in file order. */
  public Map<String, GgufTensorInfo> tensorInfos() {
    return container.tensorInfos();
  }

  /** The tensor info of GGUF tensor {@code ggufName}. */
  public GgufTensorInfo tensorInfo(String ggufName) {
    return container.tensorInfo(ggufName);
  }

  /**
   * GGUF tensor {@code ggufName} as stored (rows in file order, not reordered), named and shaped in
   * row-major order (the GGML dimensions reversed); a view of the mapped file.
   */
  public WeightTensor readStored(String ggufName) {
    return container.readStored(ggufName);
  }

  /** The architecture named by {@code general.architecture}. */
  public Optional<String> architecture() {
    return architecture.architecture();
  }

  // ---- The file as a checkpoint.

  @Override
  public String format() {
    return "GGUF v" + version();
  }

  @Override
  public String description() {
    return path().toString();
  }

  /**
   * Hugging Face names of the tensors in file order (tensors Kiln has no name for keep their GGUF
   * name).
   */
  @Override
  public Set<String> names() {
    return architecture.names();
  }

  @Override
  public long[] shape(String name) {
    return architecture.shape(name);
  }

  @Override
  public String dtypeName(String name) {
    return architecture.dtypeName(name);
  }

  /** The GGUF tensor that Hugging Face tensor {@code name} is read from. */
  public GgufTensorInfo tensorInfoOf(String name) {
    return architecture.tensorInfoOf(name);
  }

  /**
   * The tensor under its Hugging Face name and shape, in its stored type; the permuted rows of q
   * and k projections are put back in Hugging Face order (a view for matrices, a float32 copy for
   * biases), Gemma 2's norm gains are {@code w}, not the stored {@code 1 + w}.
   */
  @Override
  public WeightTensor read(String name) {
    return architecture.read(name);
  }

  /** The spec values the metadata states; see {@link GgufArchitecture#statedSpec()}. */
  @Override
  public Map<SpecElement, Object> statedSpec() {
    return architecture.statedSpec();
  }

  @Override
  public String toString() {
    return path() + " (" + format() + ", " + tensorInfos().size() + " tensors)";
  }
}
