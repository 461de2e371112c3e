package dev.kiln.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@link BenchRunner} measures: {@code --key=value} options (see the examples' {@code Bench}
 * and {@code kiln bench}). Plain values only, so parsing loads no kernel class and {@code
 * --threads} can still set {@code kiln.threads}.
 */
public final class BenchOptions {
  public String model = "stories110m";
  public List<String> types = List.of("F32", "F16", "Q8_0", "Q4_0");

  /** Null: not given (kiln.threads as set, or unset). */
  public Integer threads;

  public int prompt = 128;
  public int decode = 64;

  /** Empty: 1 and 4, as far as the model's maxBatchSize allows. */
  public List<Integer> batches = List.of();

  public int warmup = 1;

  /** Timed passes of the prefill and of each batch size's decode; the fastest counts. */
  public int repeats = 3;

  public int interpreterSteps = 2;
  public long bandwidthMib = 1024;
  public int bandwidthPasses = 5;
  public long seed = 42;
  public Path markdown;

  /** Time each kernel of the generated decoder and report it per prefill and per decode step. */
  public boolean profile;

  /**
   * Parses {@code --key=value} arguments over the defaults; throws IllegalArgumentException on bad
   * input.
   */
  public static BenchOptions parse(String... args) {
    BenchOptions o = new BenchOptions();
    for (String arg : args) {
      if (arg.isBlank()) {
        continue;
      }
      int eq = arg.indexOf('=');
      if (!arg.startsWith("--") || eq < 0) {
        throw new IllegalArgumentException("expected --key=value, got '" + arg + "'");
      }
      String key = arg.substring(2, eq);
      String value = arg.substring(eq + 1).trim();
      switch (key) {
        case "model" -> o.model = value.toLowerCase(Locale.ROOT);
        case "types" ->
            o.types = list(value).stream().map(t -> t.toUpperCase(Locale.ROOT)).toList();
        case "threads" -> o.threads = positive(key, value);
        case "prompt" -> o.prompt = positive(key, value);
        case "decode" -> o.decode = positive(key, value);
        case "batches" -> o.batches = list(value).stream().map(b -> positive(key, b)).toList();
        case "warmup" -> o.warmup = nonNegative(key, value);
        case "repeats" -> o.repeats = positive(key, value);
        case "interpreter-steps" -> o.interpreterSteps = nonNegative(key, value);
        case "bandwidth-mib" -> o.bandwidthMib = positive(key, value);
        case "bandwidth-passes" -> o.bandwidthPasses = positive(key, value);
        case "seed" -> o.seed = number(key, value);
        case "markdown" -> o.markdown = Path.of(value);
        case "profile" -> o.profile = bool(key, value);
        default -> throw new IllegalArgumentException("unknown option --" + key);
      }
    }
    if (o.types.isEmpty()) {
      throw new IllegalArgumentException("--types names no type");
    }
    return o;
  }

  private static List<String> list(String value) {
    List<String> items = new ArrayList<>();
    for (String item : value.split(",")) {
      if (!item.isBlank()) {
        items.add(item.trim());
      }
    }
    return List.copyOf(items);
  }

  private static boolean bool(String key, String value) {
    return switch (value) {
      case "true" -> true;
      case "false" -> false;
      default ->
          throw new IllegalArgumentException(
              "--" + key + " must be true or false, got '" + value + "'");
    };
  }

  private static long number(String key, String value) {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + key + " needs a number, got '" + value + "'");
    }
  }

  private static int nonNegative(String key, String value) {
    long n = number(key, value);
    if (n < 0 || n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("--" + key + " must be at least 0, got " + value);
    }
    return (int) n;
  }

  private static int positive(String key, String value) {
    int n = nonNegative(key, value);
    if (n == 0) {
      throw new IllegalArgumentException("--" + key + " must be positive, got " + value);
    }
    return n;
  }
}
