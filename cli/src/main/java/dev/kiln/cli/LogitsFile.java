package dev.kiln.cli;

import dev.kiln.Decoder;
import dev.kiln.KilnException;
import dev.kiln.spec.ResolvedSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * {@code kiln run --logits-out FILE}: the raw logits of a run, one row of {@code vocab}
 * little-endian float32 per fed position, in the order the decoder computed them. Rows go to a
 * temporary file in the target's folder as they come, which {@link #commit} moves into place at the
 * end; {@link #close} without a commit deletes it, so the target is written completely or not at
 * all.
 */
final class LogitsFile implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path target;
  private final Path temporary;
  private final FileChannel channel;
  private ByteBuffer row;
  private int vocab = -1;
  private long rows;
  private boolean committed;

  private LogitsFile(Path target, Path temporary, FileChannel channel) {
    this.target = target;
    this.temporary = temporary;
    this.channel = channel;
  }

  /**
   * Opens a temporary file beside {@code target}; a target that cannot be written (no such folder,
   * a folder, a read-only file, a folder that takes no new file) is a one-line {@link
   * KilnException}.
   */
  static LogitsFile create(Path target) {
    Path absolute = target.toAbsolutePath().normalize();
    Path folder = absolute.getParent();
    String prefix = "--logits-out " + target + ": ";
    if (Files.isDirectory(absolute)) {
      throw new KilnException(prefix + "is a folder");
    }
    if (folder == null || !Files.isDirectory(folder)) {
      throw new KilnException(prefix + "no such folder " + folder);
    }
    if (Files.exists(absolute) && !Files.isWritable(absolute)) {
      throw new KilnException(prefix + "not writable");
    }
    Path temporary = null;
    try {
      // Not Files.createTempFile, which makes the file readable by its owner only: the target gets
      // the
      // permissions any new file in the folder gets.
      for (int attempt = 0; temporary == null; attempt++) {
        Path candidate =
            folder.resolve(
                "."
                    + absolute.getFileName()
                    + "."
                    + Long.toHexString(RANDOM.nextLong())
                    + ".partial");
        try {
          temporary = Files.createFile(candidate);
        } catch (FileAlreadyExistsException e) {
          if (attempt == 100) {
            throw e;
          }
        }
      }
      return new LogitsFile(
          target, temporary, FileChannel.open(temporary, StandardOpenOption.WRITE));
    } catch (IOException e) {
      if (temporary != null) {
        try {
          Files.deleteIfExists(temporary);
        } catch (IOException ignored) {
          // the file could not be opened; nothing more to do
        }
      }
      throw new KilnException(prefix + "cannot write in " + folder + ": " + reason(e), e);
    }
  }

  private static String reason(IOException e) {
    return e instanceof AccessDeniedException
        ? "permission denied"
        : String.valueOf(e.getMessage());
  }

  /** Appends one row; every row must be as long as the first. */
  void write(float[] logits) {
    if (vocab < 0) {
      vocab = logits.length;
      row =
          ByteBuffer.allocate(Math.multiplyExact(vocab, Float.BYTES))
              .order(ByteOrder.LITTLE_ENDIAN);
    } else if (logits.length != vocab) {
      throw new IllegalStateException(
          "a row of " + logits.length + " logits after rows of " + vocab);
    }
    row.clear();
    row.asFloatBuffer().put(logits);
    try {
      while (row.hasRemaining()) {
        channel.write(row);
      }
    } catch (IOException e) {
      throw new KilnException("--logits-out " + target + ": cannot write: " + reason(e), e);
    }
    rows++;
  }

  /** Rows written so far. */
  long rows() {
    return rows;
  }

  /** Floats per row (0 before the first row). */
  int vocab() {
    return Math.max(vocab, 0);
  }

  Path target() {
    return target;
  }

  /** Closes the temporary file and moves it to the target, replacing any file there. */
  void commit() {
    try {
      channel.close();
      try {
        Files.move(
            temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
      }
      committed = true;
    } catch (IOException e) {
      throw new KilnException("--logits-out " + target + ": cannot write: " + reason(e), e);
    }
  }

  /** Without a {@link #commit}: deletes the temporary file, leaving the target as it was. */
  @Override
  public void close() {
    if (committed) {
      return;
    }
    try {
      channel.close();
      Files.deleteIfExists(temporary);
    } catch (IOException e) {
      // the run has failed already; its error is the one to report
    }
  }

  /**
   * {@code decoder}, writing here every row of logits it computes for its one sequence: a prefill
   * becomes a reset and an {@link Decoder#append append} of the prompt, which gives logits at every
   * prompt position (a prefill gives only the last), then each step's row. Rows are written before
   * the caller sees them, so they are the model's raw logits whatever the sampler does next. {@link
   * Decoder#forwardNoCache} passes through unrecorded.
   */
  Decoder recording(Decoder decoder) {
    return new Recording(decoder);
  }

  private final class Recording implements Decoder {
    private final Decoder decoder;

    Recording(Decoder decoder) {
      this.decoder = decoder;
    }

    private static void oneSequence(int batch) {
      if (batch != 1) {
        throw new IllegalStateException("--logits-out records one sequence, not " + batch);
      }
    }

    @Override
    public ResolvedSpec spec() {
      return decoder.spec();
    }

    @Override
    public float[][] prefill(int[][] prompts) {
      oneSequence(prompts.length);
      if (prompts[0] == null || prompts[0].length == 0) {
        return decoder.prefill(prompts); // the decoder's own error
      }
      decoder.reset();
      float[][] all = append(prompts)[0];
      return new float[][] {all[all.length - 1]};
    }

    @Override
    public float[][] step(int[] tokens) {
      oneSequence(tokens.length);
      float[][] logits = decoder.step(tokens);
      write(logits[0]);
      return logits;
    }

    @Override
    public float[][][] append(int[][] chunks) {
      oneSequence(chunks.length);
      float[][][] logits = decoder.append(chunks);
      for (float[] position : logits[0]) {
        write(position);
      }
      return logits;
    }

    @Override
    public float[][][] forwardNoCache(int[][] sequences) {
      return decoder.forwardNoCache(sequences);
    }

    @Override
    public void reset() {
      decoder.reset();
    }

    @Override
    public void truncate(int sequence, int length) {
      decoder.truncate(sequence, length);
    }

    @Override
    public int batchSize() {
      return decoder.batchSize();
    }

    @Override
    public int length(int sequence) {
      return decoder.length(sequence);
    }

    @Override
    public long kvCacheBytes() {
      return decoder.kvCacheBytes();
    }
  }
}
