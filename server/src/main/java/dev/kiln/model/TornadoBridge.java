package dev.kiln.model;

import java.lang.reflect.InvocationTargetException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The CLI's view of TornadoVM, which it is built without: whether this JVM has TornadoVM's runtime
 * and Kiln's {@code kiln-tornado} support (bin/kiln starts the JVM with TornadoVM's argument file
 * when {@code TORNADOVM_HOME} is set and the TornadoVM backend is asked for), and its devices.
 */
public final class TornadoBridge {
  static final String API_CLASS = "uk.ac.manchester.tornado.api.TaskGraph";
  static final String SUPPORT_CLASS = "dev.kiln.tornado.TornadoSupport";

  private TornadoBridge() {}

  /** Why the TornadoVM backend cannot run here, or empty when it can (a device included). */
  public static Optional<String> unavailableReason() {
    try {
      Class.forName(API_CLASS);
    } catch (ClassNotFoundException | LinkageError e) {
      return Optional.of(
          "TornadoVM is not installed or not in this JVM (install TornadoVM 5.2.0 for JDK 25, set"
              + " TORNADOVM_HOME and run bin/kiln again; see README, \"Backends\")");
    }
    try {
      Class.forName(SUPPORT_CLASS);
    } catch (ClassNotFoundException | LinkageError e) {
      return Optional.of(
          "this Kiln build has no kiln-tornado module (rebuild with TORNADOVM_HOME set: ./mvnw install)");
    }
    try {
      if (devices().isEmpty()) {
        return Optional.of("TornadoVM finds no device");
      }
    } catch (RuntimeException e) {
      return Optional.of("TornadoVM cannot start: " + e.getMessage());
    }
    return Optional.empty();
  }

  /** TornadoVM's devices as {@code backend:device name (backend)}. */
  @SuppressWarnings("unchecked")
  public static List<String> devices() {
    try {
      return (List<String>) Class.forName(SUPPORT_CLASS).getMethod("devices").invoke(null);
    } catch (InvocationTargetException e) {
      throw e.getCause() instanceof RuntimeException r
          ? r
          : new IllegalStateException(e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot list TornadoVM devices: " + e, e);
    }
  }

  /**
   * For a TornadoVM decoder, {@code TornadoVM decoder on DEVICE, LAYOUT layout}; empty for any
   * other decoder.
   */
  public static Optional<String> describe(Object decoder) {
    try {
      Object layout = decoder.getClass().getMethod("layout").invoke(decoder);
      Object device = decoder.getClass().getMethod("device").invoke(decoder);
      Class<?> deviceApi = Class.forName("uk.ac.manchester.tornado.api.common.TornadoDevice");
      Class<?> targetApi = Class.forName("uk.ac.manchester.tornado.api.TornadoTargetDevice");
      Object physical = deviceApi.getMethod("getPhysicalDevice").invoke(device);
      String name =
          targetApi.getMethod("getDeviceName").invoke(physical)
              + " ("
              + deviceApi.getMethod("getDeviceName").invoke(device)
              + ")";
      return Optional.of(
          "TornadoVM decoder on " + name + ", " + layout + " layout (--layout gpu|cpu)");
    } catch (ReflectiveOperationException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The jars the TornadoVM decoder compiles against: TornadoVM's API and kiln-tornado. */
  static List<Path> compileClasspath() {
    try {
      return List.of(location(Class.forName(API_CLASS)), location(Class.forName(SUPPORT_CLASS)));
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Path location(Class<?> type) {
    try {
      return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("cannot locate the code of " + type.getName(), e);
    }
  }
}
