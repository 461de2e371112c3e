package dev.kiln.model;

import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;

/**
 * The system class loader of a kiln JVM that runs TornadoVM decoders ({@code bin/kiln} passes
 * {@code -Djava.system.class.loader=dev.kiln.model.KilnClassLoader} then): TornadoVM reads a
 * kernel's class file through the system class loader, so the decoder specialized at run time must
 * be loaded by it. Everything else is delegated to the usual application class loader.
 */
public final class KilnClassLoader extends URLClassLoader {
  static {
    ClassLoader.registerAsParallelCapable();
  }

  /** Called by the JVM with the built-in application class loader. */
  public KilnClassLoader(ClassLoader parent) {
    super("kiln", new URL[0], parent);
  }

  /** Adds a folder of classes (a specialized decoder) to the system class path. */
  public void add(Path classes) {
    try {
      addURL(classes.toUri().toURL());
    } catch (MalformedURLException e) {
      throw new IllegalArgumentException(classes.toString(), e);
    }
  }

  /** Lets a Java agent append to this class path, as it could to the built-in one. */
  void appendToClassPathForInstrumentation(String path) {
    add(Path.of(path));
  }
}
