package dev.kiln.model;

import dev.kiln.KilnException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * The folder of compiled specialized decoders, which Kiln loads and runs code from, so it is kept
 * as private as the user's own code:
 *
 * <ul>
 *   <li>The root is created {@code 0700}. A root (or an entry in it) owned by another user, or
 *       writable by other users, is refused with a one-line error; so is a root inside a folder
 *       another user could rename it out of (writable by others without the sticky bit, or owned by
 *       another user but root). Checked on POSIX file systems.
 *   <li>Each entry holds a manifest, {@value #MANIFEST}: the entry's name and the SHA-256 of each
 *       file under {@code classes} (class files and the processor's resources). An entry is read
 *       into memory and verified against it before any class is defined; a missing or unreadable
 *       manifest, a missing, extra, truncated or changed file, or a link makes the entry
 *       <em>damaged</em>: it is removed and compiled again.
 *   <li>Entries are published by renaming a finished {@code compiling-*} folder into place; a run
 *       that loses the race to a concurrent one deletes its own folder and uses the winner's.
 *       Leftovers of killed runs older than an hour are removed.
 * </ul>
 */
final class ClassCache {
  static final String MANIFEST = "classes.sha256";
  private static final String HEADER = "kiln-class-cache 1 ";
  private static final long MAX_CLASS_BYTES = 64L << 20;
  private static final long STALE_MILLIS = 3_600_000L;
  private static final int GROUP_WRITE = 0020;
  private static final int OTHER_WRITE = 0002;
  private static final int STICKY = 01000;

  private final Path root;

  ClassCache(Path root) {
    this.root = root;
  }

  /** An entry that failed verification: it is compiled again. */
  static final class DamagedException extends Exception {
    DamagedException(String message) {
      super(message);
    }
  }

  /** Verified class files of an entry, by binary name. */
  record Entry(Path dir, Map<String, byte[]> classes) {}

  /**
   * The root, created {@code 0700} if missing (with {@code create}), checked and resolved to its
   * real path; empty when it does not exist and {@code create} is false.
   */
  Optional<Path> open(boolean create) {
    try {
      if (!Files.exists(root)) {
        if (!create) {
          return Optional.empty();
        }
        if (posix()) {
          Files.createDirectories(
              root,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } else {
          Files.createDirectories(root);
        }
      }
      if (!Files.isDirectory(root)) {
        throw new KilnException(
            "the class cache "
                + root
                + " is not a folder (choose another with --cache or KILN_CACHE)");
      }
      Path real = root.toRealPath();
      checkPrivate(real, "the class cache " + root, "");
      checkAncestors(real);
      return Optional.of(real);
    } catch (IOException e) {
      throw new KilnException("cannot use the class cache " + root + ": " + message(e), e);
    }
  }

  /**
   * The verified entry {@code name} of the (opened) root {@code real}: empty when there is none; a
   * {@link DamagedException} when it fails verification; a {@link KilnException} when it belongs to
   * another user or others may write it.
   */
  Optional<Entry> load(Path real, String name) throws DamagedException {
    Path dir = real.resolve(name);
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    try {
      if (Files.isSymbolicLink(dir) || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw new DamagedException("not a folder");
      }
      checkPrivate(
          dir,
          "the cached decoder " + dir,
          "; delete it (as its owner) or choose another cache with --cache");
      Path manifest = dir.resolve(MANIFEST);
      if (!Files.isRegularFile(manifest, LinkOption.NOFOLLOW_LINKS)) {
        throw new DamagedException(
            "it has no " + MANIFEST + " (an entry of an older Kiln, or an interrupted write)");
      }
      List<String> lines = Files.readAllLines(manifest, StandardCharsets.UTF_8);
      if (lines.isEmpty() || !lines.get(0).equals(HEADER + name)) {
        throw new DamagedException(MANIFEST + " does not name this entry");
      }
      Map<String, String> expected = new LinkedHashMap<>();
      for (String line : lines.subList(1, lines.size())) {
        int space = line.indexOf("  ");
        String file = space < 0 ? "" : line.substring(space + 2);
        if (space != 64
            || !file.matches("[A-Za-z0-9_$.\\-]+(/[A-Za-z0-9_$.\\-]+)*")
            || file.matches("(.*/)?\\.\\.?(/.*)?")
            || expected.put(file, line.substring(0, 64)) != null) {
          throw new DamagedException(MANIFEST + " has a malformed line");
        }
      }
      Path classes = dir.resolve("classes");
      Set<String> present = new TreeSet<>();
      try (Stream<Path> tree = Files.walk(classes)) {
        for (Path path : tree.toList()) {
          if (Files.isSymbolicLink(path)) {
            throw new DamagedException(classes.relativize(path) + " is a link");
          }
          checkPrivate(
              path,
              "the cached file " + path,
              "; delete " + dir + " (as its owner) or choose another cache");
          if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            present.add(classes.relativize(path).toString().replace('\\', '/'));
          }
        }
      }
      if (!present.equals(expected.keySet())) {
        Set<String> differing = new TreeSet<>(present);
        differing.removeAll(expected.keySet());
        Set<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(present);
        throw new DamagedException(
            (missing.isEmpty() ? "" : "missing " + missing + " ")
                + (differing.isEmpty() ? "" : "unlisted " + differing));
      }
      Map<String, byte[]> verified = new LinkedHashMap<>();
      for (var file : expected.entrySet()) {
        byte[] bytes;
        try (InputStream in =
            Files.newInputStream(classes.resolve(file.getKey()), LinkOption.NOFOLLOW_LINKS)) {
          bytes = in.readNBytes((int) MAX_CLASS_BYTES + 1);
        }
        if (bytes.length > MAX_CLASS_BYTES || !sha256(bytes).equals(file.getValue())) {
          throw new DamagedException(file.getKey() + " does not match its digest");
        }
        if (file.getKey().endsWith(".class")) {
          String binaryName =
              file.getKey()
                  .substring(0, file.getKey().length() - ".class".length())
                  .replace('/', '.');
          verified.put(binaryName, bytes);
        }
      }
      return Optional.of(new Entry(dir, verified));
    } catch (NoSuchFileException e) {
      throw new DamagedException(e.getFile() + " is missing");
    } catch (IOException e) {
      throw new DamagedException(message(e));
    }
  }

  /**
   * Makes the compiled folder {@code work} (with a {@code classes} folder) the entry {@code name}:
   * private permissions, the manifest, then an atomic rename. Returns false when a concurrent run
   * published the entry first (then {@code work} is deleted).
   */
  boolean publish(Path real, Path work, String name) throws IOException {
    Path classes = work.resolve("classes");
    List<String> lines = new ArrayList<>(List.of(HEADER + name));
    try (Stream<Path> tree = Files.walk(work)) {
      for (Path path : tree.sorted().toList()) {
        if (posix()) {
          Files.setPosixFilePermissions(
              path,
              PosixFilePermissions.fromString(Files.isDirectory(path) ? "rwx------" : "rw-------"));
        }
        if (path.startsWith(classes) && Files.isRegularFile(path)) {
          lines.add(
              sha256(Files.readAllBytes(path))
                  + "  "
                  + classes.relativize(path).toString().replace('\\', '/'));
        }
      }
    }
    Path manifest = work.resolve(MANIFEST);
    Files.write(manifest, lines, StandardCharsets.UTF_8);
    if (posix()) {
      Files.setPosixFilePermissions(manifest, PosixFilePermissions.fromString("rw-------"));
    }
    try {
      Files.move(work, real.resolve(name), StandardCopyOption.ATOMIC_MOVE);
      return true;
    } catch (FileSystemException e) {
      // Linux reports a rename onto a non-empty folder as a plain FileSystemException ("Directory
      // not empty"), others as FileAlreadyExistsException or DirectoryNotEmptyException.
      if (Files.isDirectory(real.resolve(name), LinkOption.NOFOLLOW_LINKS)) {
        deleteQuietly(work);
        return false;
      }
      throw e;
    }
  }

  /** Moves a damaged entry aside and deletes it (a concurrent run may have done so already). */
  void discard(Path real, String name) {
    Path aside =
        real.resolve("damaged-" + Long.toUnsignedString(ThreadLocalRandom.current().nextLong()));
    try {
      Files.move(real.resolve(name), aside, StandardCopyOption.ATOMIC_MOVE);
    } catch (NoSuchFileException e) {
      return;
    } catch (IOException e) {
      throw new KilnException(
          "cannot remove the damaged cached decoder " + real.resolve(name) + ": " + message(e), e);
    }
    deleteQuietly(aside);
  }

  /**
   * Removes {@code compiling-*} and {@code damaged-*} folders of runs that were killed over an hour
   * ago.
   */
  void removeStale(Path real) {
    long now = System.currentTimeMillis();
    try (Stream<Path> entries = Files.list(real)) {
      for (Path path : entries.toList()) {
        String name = path.getFileName().toString();
        if ((name.startsWith("compiling-") || name.startsWith("damaged-"))
            && now - Files.getLastModifiedTime(path, LinkOption.NOFOLLOW_LINKS).toMillis()
                > STALE_MILLIS) {
          deleteQuietly(path);
        }
      }
    } catch (IOException e) {
      // best effort
    }
  }

  static void deleteQuietly(Path tree) {
    try (Stream<Path> paths = Files.walk(tree)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      // best effort: a leftover is removed by a later run
    }
  }

  private static boolean posix() {
    return Path.of("").getFileSystem().supportedFileAttributeViews().contains("unix");
  }

  /** Refuses {@code path} unless this user owns it and no other user may write it. */
  private static void checkPrivate(Path path, String what, String advice) throws IOException {
    if (!posix()) {
      return;
    }
    Map<String, Object> attributes =
        Files.readAttributes(path, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
    int uid = (Integer) attributes.get("uid");
    int mode = (Integer) attributes.get("mode");
    if (uid != currentUid()) {
      throw new KilnException(
          what
              + " belongs to user "
              + owner(path)
              + ", not to "
              + ownerOfThisProcess()
              + "; Kiln runs the code cached there, so it only uses folders of its own user"
              + advice
              + (advice.isEmpty() ? " (choose one with --cache or KILN_CACHE)" : ""));
    }
    if ((mode & (GROUP_WRITE | OTHER_WRITE)) != 0) {
      throw new KilnException(
          what
              + " is writable by other users ("
              + PosixFilePermissions.toString(
                  Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS))
              + "); Kiln runs the code cached there, so it"
              + " refuses it: chmod go-w "
              + path
              + advice
              + (advice.isEmpty()
                  ? ", or choose a private folder with --cache" + " or KILN_CACHE"
                  : ""));
    }
  }

  /**
   * Refuses a root that another user could replace: a folder above it owned by someone other than
   * this user and root, or writable by others without the sticky bit (as {@code /tmp} has).
   */
  private static void checkAncestors(Path real) throws IOException {
    if (!posix()) {
      return;
    }
    for (Path parent = real.getParent(); parent != null; parent = parent.getParent()) {
      Map<String, Object> attributes = Files.readAttributes(parent, "unix:uid,mode");
      int uid = (Integer) attributes.get("uid");
      int mode = (Integer) attributes.get("mode");
      if (uid != 0 && uid != currentUid()) {
        throw new KilnException(
            "the class cache "
                + real
                + " lies in "
                + parent
                + ", which belongs to user "
                + owner(parent)
                + ", who could replace it; choose a folder of your own with --cache or KILN_CACHE");
      }
      if ((mode & (GROUP_WRITE | OTHER_WRITE)) != 0 && (mode & STICKY) == 0) {
        throw new KilnException(
            "the class cache "
                + real
                + " lies in "
                + parent
                + ", which other users may write"
                + " (without the sticky bit), so they could replace it; choose another folder with --cache or KILN_CACHE");
      }
    }
  }

  private static String owner(Path path) {
    try {
      return Files.getOwner(path, LinkOption.NOFOLLOW_LINKS).getName();
    } catch (IOException e) {
      return "(unknown)";
    }
  }

  private static String ownerOfThisProcess() {
    return System.getProperty("user.name", "this user");
  }

  private static Integer uid;

  /** This process's user id: the owner of /proc/self on Linux, else of a file it creates. */
  static synchronized int currentUid() throws IOException {
    if (uid == null) {
      Path self = Path.of("/proc/self");
      if (Files.isDirectory(self)) {
        uid = (Integer) Files.getAttribute(self, "unix:uid");
      } else {
        Path probe = Files.createTempFile("kiln-uid", ".tmp");
        try {
          uid = (Integer) Files.getAttribute(probe, "unix:uid");
        } finally {
          Files.deleteIfExists(probe);
        }
      }
    }
    return uid;
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String message(IOException e) {
    return e instanceof FileSystemException f && f.getReason() != null
        ? f.getFile() + ": " + f.getReason()
        : String.valueOf(e.getMessage());
  }
}
