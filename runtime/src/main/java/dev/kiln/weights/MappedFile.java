package dev.kiln.weights;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Memory-maps model files read-only, for every reader; the mapping lives as long as it is
 * reachable.
 *
 * <p>A mapped file that shrinks while mapped (truncated, or rewritten in place) makes reads of its
 * lost pages fault: the JVM turns some faults into an {@link InternalError} and dies of others
 * (SIGBUS). Kiln keeps what it mapped (path, file identity, size) so that it can tell: {@link
 * #changed} compares each mapping that loaded weights use with the file now (one {@code stat} per
 * file), and decoders check it before each call and translate an {@code InternalError} into a
 * {@link WeightLoadException} naming the file. A file replaced by a new one (renamed over the old
 * path) is a different file: the old mapping stays valid.
 */
final class MappedFile {
  private MappedFile() {}

  /** One mapping: what was mapped, and where. */
  private static final class Mapping {
    final Path path;
    final Object fileKey;
    final long size;
    final long address;
    final WeakReference<MemorySegment> segment;

    /** Whether loaded weights read from it (only those are checked). */
    volatile boolean inUse;

    Mapping(Path path, Object fileKey, MemorySegment segment) {
      this.path = path;
      this.fileKey = fileKey;
      this.size = segment.byteSize();
      this.address = segment.address();
      this.segment = new WeakReference<>(segment);
    }

    boolean contains(MemorySegment data) {
      return data.isNative()
          && data.address() >= address
          && data.address() - address < Math.max(size, 1);
    }
  }

  private static final List<Mapping> MAPPINGS = new ArrayList<>();

  /**
   * The whole file, mapped; a missing or unreadable file is a {@link WeightLoadException} naming
   * it.
   */
  static MemorySegment map(Path path) {
    RegularFiles.require(path); // a FIFO would block the open
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      Object fileKey = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
      MemorySegment segment =
          channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), Arena.ofAuto());
      synchronized (MAPPINGS) {
        MAPPINGS.removeIf(m -> m.segment.refersTo(null));
        MAPPINGS.add(new Mapping(path, fileKey, segment));
      }
      return segment;
    } catch (NoSuchFileException e) {
      throw new WeightLoadException(path + ": no such file");
    } catch (IOException e) {
      throw new WeightLoadException(path + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Marks the mappings that hold any of {@code data} as used by loaded weights. */
  static void markInUse(Iterable<MemorySegment> data) {
    synchronized (MAPPINGS) {
      for (MemorySegment segment : data) {
        for (Mapping mapping : MAPPINGS) {
          if (!mapping.inUse && mapping.contains(segment)) {
            mapping.inUse = true;
          }
        }
      }
    }
  }

  /**
   * What changed under the mappings in use: null when nothing did, else one line per file that is
   * now shorter than when it was mapped (same file, fewer bytes).
   */
  static String changed() {
    List<Mapping> inUse = new ArrayList<>();
    synchronized (MAPPINGS) {
      for (Mapping mapping : MAPPINGS) {
        if (mapping.inUse && !mapping.segment.refersTo(null)) {
          inUse.add(mapping);
        }
      }
    }
    StringBuilder out = null;
    for (Mapping mapping : inUse) {
      BasicFileAttributes now;
      try {
        now = Files.readAttributes(mapping.path, BasicFileAttributes.class);
      } catch (IOException e) {
        continue; // deleted or moved away: the mapping keeps the old file's pages
      }
      if (Objects.equals(now.fileKey(), mapping.fileKey) && now.size() < mapping.size) {
        out = out == null ? new StringBuilder() : out.append("; ");
        out.append(mapping.path)
            .append(": model file changed or truncated while in use (")
            .append(mapping.size)
            .append(" bytes when mapped, ")
            .append(now.size())
            .append(" now)");
      }
    }
    return out == null
        ? null
        : out
            + "; reload the model (replace a model file by renaming a new file over it,"
            + " not by rewriting it in place)";
  }

  /** Whether {@code e} is the JVM's report of a fault while reading mapped memory. */
  static boolean isMappedFault(InternalError e) {
    String message = e.getMessage();
    return message != null && message.contains("unsafe memory access");
  }
}
