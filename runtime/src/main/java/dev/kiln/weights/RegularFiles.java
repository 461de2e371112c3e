package dev.kiln.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Kiln reads model, config and tokenizer files only from regular files: a FIFO would block the read
 * forever, and a device such as {@code /dev/zero} never ends. Checked (with {@code stat}, which
 * neither blocks nor reads) before a file is opened.
 */
public final class RegularFiles {
  private RegularFiles() {}

  /**
   * Null when {@code path} is a regular file (or a link to one), otherwise what is wrong, for a
   * message after the path: {@code "no such file"}, {@code "a directory, not a file"}, {@code "not
   * a regular file (a FIFO, device or socket)"} or {@code "cannot read: ..."}.
   */
  public static String problem(Path path) {
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(path, BasicFileAttributes.class);
    } catch (NoSuchFileException e) {
      return "no such file";
    } catch (IOException | SecurityException e) {
      return "cannot read: " + e.getMessage();
    }
    if (attributes.isRegularFile()) {
      return null;
    }
    return attributes.isDirectory()
        ? "a directory, not a file"
        : "not a regular file (a FIFO, device or socket); Kiln reads only regular files";
  }

  /**
   * Throws a {@link WeightLoadException} {@code "path: problem"} unless {@code path} is a regular
   * file.
   */
  static void require(Path path) {
    String problem = problem(path);
    if (problem != null) {
      throw new WeightLoadException(path + ": " + problem);
    }
  }
}
