package dev.kiln.weights;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Memory-maps model files read-only, for every reader; the mapping lives as long as it is reachable. */
final class MappedFile {
  private MappedFile() {}

  /** The whole file, mapped; a missing or unreadable file is a {@link WeightLoadException} naming it. */
  static MemorySegment map(Path path) {
    RegularFiles.require(path); // a FIFO would block the open
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), Arena.ofAuto());
    } catch (NoSuchFileException e) {
      throw new WeightLoadException(path + ": no such file");
    } catch (IOException e) {
      throw new WeightLoadException(path + ": cannot read: " + e.getMessage(), e);
    }
  }
}
