package dev.kiln.kernel;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;

import dev.kiln.weights.FloatTensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The float32 dot products of {@link VectorKernels} on every path (the Vector API body at 128, 256
 * and 512 bits, and the scalar loop) against a plain double-precision loop, and the choice of path
 * and width by the system property {@code kiln.vector} in fresh JVMs. The path the dispatching
 * methods take is fixed once per JVM, so the paths are also called directly: {@link VectorDot} at
 * each width and {@link ScalarKernels}.
 */
class VectorKernelsTest {
  static final int[] SIZES = {1, 3, 7, 13, 31, 64, 100, 257, 1000, 4097};
  static final int[] WIDTHS = {128, 256, 512};

  /** One implementation of the dot product. */
  interface Dot {
    float dot(MemorySegment weight, long rowStart, float[] vector, int vectorStart, int length);
  }

  static Stream<Arguments> implementations() {
    List<Arguments> all =
        new ArrayList<>(
            List.of(
                Arguments.of("dispatch", (Dot) VectorKernels::dot),
                Arguments.of("scalar", (Dot) VectorKernels::scalarDot)));
    for (int bits : WIDTHS) {
      VectorWidth width = VectorWidth.of(bits);
      all.add(
          Arguments.of(
              "vector" + bits, (Dot) (w, r, v, vs, n) -> VectorDot.dot(width, w, r, v, vs, n)));
      all.add(
          Arguments.of(
              "rowRange" + bits,
              (Dot)
                  (w, r, v, vs, n) -> {
                    float[] out = {Float.NaN};
                    VectorDot.dotRows(width, w, r, null, 0, 1, n, v, vs, out, 0);
                    return out[0];
                  }));
    }
    all.add(
        Arguments.of(
            "rowRangeDispatch",
            (Dot)
                (w, r, v, vs, n) -> {
                  float[] out = {Float.NaN};
                  VectorKernels.dotRowRange(w, r, 1, n, v, vs, out, 0);
                  return out[0];
                }));
    return all.stream();
  }

  /**
   * Several rows in one call give, row by row, exactly what {@code dot} gives (the same sums in the
   * same order).
   */
  @org.junit.jupiter.api.Test
  void rowRangeEqualsDotRowByRow() {
    var random = new SplittableRandom(11);
    for (int bits : WIDTHS) {
      VectorWidth width = VectorWidth.of(bits);
      for (int n : SIZES) {
        int rows = 5;
        float[] weights = new float[rows * n];
        for (int i = 0; i < weights.length; i++) {
          weights[i] = (float) random.nextGaussian();
        }
        float[] v = new float[n + 3];
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) random.nextGaussian();
        }
        try (Arena arena = Arena.ofConfined()) {
          MemorySegment nativeRows = arena.allocate(4L * (2 + weights.length), 64).asSlice(8);
          MemorySegment heapRows = MemorySegment.ofArray(new float[2 + weights.length]).asSlice(8);
          for (MemorySegment segment : new MemorySegment[] {nativeRows, heapRows}) {
            MemorySegment.copy(weights, 0, segment, FloatTensor.LAYOUT, 0, weights.length);
            float[] out = new float[rows + 2];
            VectorDot.dotRows(width, segment, n, null, 0, rows - 1, n, v, 3, out, 2);
            for (int r = 1; r < rows; r++) {
              // Equal up to the order of the sums: interpreted, the Vector API adds a vector's
              // lanes in
              // order, compiled as a tree, and the JIT may compile one method and not yet the
              // other.
              double scale = 0;
              for (int i = 0; i < n; i++) {
                scale += Math.abs((double) weights[r * n + i] * v[3 + i]);
              }
              assertWithMessage(
                      "%s bits, n=%s, %s row %s",
                      bits, n, segment.isNative() ? "native" : "heap", r)
                  .that((double) out[1 + r])
                  .isWithin(2.0 * n * 0x1p-24 * scale + 1e-30)
                  .of(VectorDot.dot(width, segment, (long) r * n, v, 3, n));
            }
          }
        }
      }
    }
  }

  /**
   * {@link VectorDot#dotRows} (the row-range kernel, over rows in stored order and reordered rows)
   * at every width, over native memory at every float alignment and heap memory, in stored order
   * and in a permuted order, for 1 to 9 rows: each row against a double-precision sum, and the
   * dispatching {@link VectorKernels#dotRowRange} likewise; a range that starts at row 1 gives the
   * same sums, bit for bit, as rows 1.. of the range from row 0.
   */
  @Test
  void rowRangesAgainstDoublePrecision() {
    var random = new SplittableRandom(23);
    for (int n : new int[] {1, 7, 16, 31, 64, 100, 257, 768}) {
      for (int rows = 1; rows <= 9; rows++) {
        float[] weights = new float[rows * n];
        for (int i = 0; i < weights.length; i++) {
          weights[i] = (float) random.nextGaussian();
        }
        float[] v = new float[n + 5];
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) random.nextGaussian();
        }
        int[] order = new int[rows + 1];
        for (int r = 0; r < rows; r++) {
          order[1 + r] = (r * 5 + 2) % rows;
        }
        if (rows % 5 == 0) {
          order =
              new int
                  [rows + 1]; // a multiple of 5 rows: (r * 5 + 2) % rows repeats; use the reverse
          for (int r = 0; r < rows; r++) {
            order[1 + r] = rows - 1 - r;
          }
        }
        try (Arena arena = Arena.ofConfined()) {
          List<MemorySegment> segments = new ArrayList<>();
          for (int skew = 0; skew < 4; skew++) {
            segments.add(
                arena
                    .allocate(4L * weights.length + 64, 64)
                    .asSlice(4L * skew, 4L * weights.length));
          }
          segments.add(
              arena
                  .allocate(4L * weights.length + 1, 64)
                  .asSlice(1, 4L * weights.length)); // not float-aligned
          segments.add(MemorySegment.ofArray(new float[weights.length]));
          for (MemorySegment segment : segments) {
            MemorySegment.copy(weights, 0, segment, FloatTensor.LAYOUT, 0, weights.length);
            for (int[] rowOrder : new int[][] {null, order}) {
              List<float[]> outs = new ArrayList<>();
              for (int bits : WIDTHS) {
                float[] out = new float[rows + 3];
                VectorDot.dotRows(
                    VectorWidth.of(bits), segment, 0, rowOrder, 1, rows, n, v, 5, out, 3);
                outs.add(out);
                if (rowOrder == null && rows > 1) {
                  float[] fromRow1 = new float[rows + 3];
                  VectorDot.dotRows(
                      VectorWidth.of(bits), segment, n, null, 0, rows - 1, n, v, 5, fromRow1, 4);
                  assertThat(Arrays.copyOfRange(fromRow1, 4, 3 + rows))
                      .isEqualTo(Arrays.copyOfRange(out, 4, 3 + rows));
                }
              }
              float[] dispatched = new float[rows + 3];
              if (rowOrder == null) {
                VectorKernels.dotRowRange(segment, 0, rows, n, v, 5, dispatched, 3);
              } else {
                VectorKernels.dotRowRange(segment, rowOrder, 1, rows, n, v, 5, dispatched, 3);
              }
              outs.add(dispatched);
              for (int k = 0; k < outs.size(); k++) {
                for (int r = 0; r < rows; r++) {
                  int stored = rowOrder == null ? r : rowOrder[1 + r];
                  double exact = 0;
                  double magnitude = 0;
                  for (int i = 0; i < n; i++) {
                    exact += (double) weights[stored * n + i] * v[5 + i];
                    magnitude += Math.abs((double) weights[stored * n + i] * v[5 + i]);
                  }
                  assertWithMessage(
                          "%s, n=%s, rows=%s, row %s, %s, address %s, %s",
                          k < WIDTHS.length ? WIDTHS[k] + " bits" : "dispatch",
                          n,
                          rows,
                          r,
                          rowOrder == null ? "stored order" : "permuted",
                          segment.address() % 64,
                          segment.isNative() ? "native" : "heap")
                      .that((double) outs.get(k)[3 + r])
                      .isWithin(1e-6 * Math.sqrt(n) * magnitude + 1e-30)
                      .of(exact);
                }
              }
            }
          }
        }
      }
    }
  }

  static Stream<Arguments> implementationsAndSizes() {
    List<Arguments> all = new ArrayList<>();
    implementations()
        .forEach(
            impl -> {
              for (int n : SIZES) {
                all.add(Arguments.of(impl.get()[0], impl.get()[1], n));
              }
            });
    return all.stream();
  }

  /**
   * A weight row of {@code n} floats at float index {@code rowStart} of a segment that starts one
   * byte into its memory (so nothing is aligned), with NaN around it: reading outside the row
   * shows.
   */
  private static MemorySegment rowWithNanAround(Arena arena, float[] row, int rowStart) {
    MemorySegment memory = arena.allocate(1 + 4L * (rowStart + row.length + 9)).asSlice(1);
    long floats = memory.byteSize() / 4;
    for (long i = 0; i < floats; i++) {
      memory.setAtIndex(FloatTensor.LAYOUT, i, Float.NaN);
    }
    for (int i = 0; i < row.length; i++) {
      memory.setAtIndex(FloatTensor.LAYOUT, rowStart + i, row[i]);
    }
    return memory;
  }

  private static float[] withNanAround(float[] values, int start) {
    float[] out = new float[start + values.length + 11];
    java.util.Arrays.fill(out, Float.NaN);
    System.arraycopy(values, 0, out, start, values.length);
    return out;
  }

  @ParameterizedTest(name = "{0} n={2}")
  @MethodSource("implementationsAndSizes")
  void randomValuesAgainstDoublePrecision(String name, Dot dot, int n) {
    var random = new SplittableRandom(n * 31L + 7);
    float[] w = new float[n];
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = (float) random.nextGaussian();
      v[i] = (float) (random.nextGaussian() * 3);
    }
    double exact = 0;
    double magnitude = 0;
    for (int i = 0; i < n; i++) {
      exact += (double) w[i] * v[i];
      magnitude += Math.abs((double) w[i] * v[i]);
    }
    try (Arena arena = Arena.ofConfined()) {
      float got = dot.dot(rowWithNanAround(arena, w, 5), 5, withNanAround(v, 3), 3, n);
      assertWithMessage("%s n=%s", name, n)
          .that((double) got)
          .isWithin(1e-6 * Math.sqrt(n) * magnitude)
          .of(exact);
    }
  }

  @ParameterizedTest(name = "{0} n={2}")
  @MethodSource("implementationsAndSizes")
  void smallIntegersAreExact(String name, Dot dot, int n) {
    // Every product and partial sum is an integer below 2^24, so any summation order is exact.
    var random = new SplittableRandom(n);
    float[] w = new float[n];
    float[] v = new float[n];
    long exact = 0;
    for (int i = 0; i < n; i++) {
      w[i] = random.nextInt(-8, 9);
      v[i] = random.nextInt(-8, 9);
      exact += (long) w[i] * (long) v[i];
    }
    try (Arena arena = Arena.ofConfined()) {
      assertWithMessage("%s n=%s", name, n)
          .that(dot.dot(rowWithNanAround(arena, w, 2), 2, withNanAround(v, 7), 7, n))
          .isEqualTo((float) exact);
    }
  }

  @ParameterizedTest(name = "{0} n={2}")
  @MethodSource("implementationsAndSizes")
  void everyElementIsUsedOnceAndPairedWithItsPartner(String name, Dot dot, int n) {
    // w_i = i + 1; v = one-hot at j: the result must be exactly j + 1 for every j.
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = i + 1;
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment row = rowWithNanAround(arena, w, 1);
      float[] v = new float[n + 4];
      for (int j = 0; j < n; j++) {
        v[4 + j] = 1f;
        float got = dot.dot(row, 1, v, 4, n);
        v[4 + j] = 0f;
        if (got != j + 1) {
          assertWithMessage("%s n=%s one-hot at %s", name, n, j)
              .that(got)
              .isEqualTo((float) (j + 1));
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void zeroLengthIsZero(String name, Dot dot) {
    try (Arena arena = Arena.ofConfined()) {
      assertThat(
              dot.dot(rowWithNanAround(arena, new float[0], 3), 3, new float[] {Float.NaN}, 1, 0))
          .isEqualTo(0f);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void nanAndInfinityPropagateFromAnyPosition(String name, Dot dot) {
    for (int n : new int[] {7, 64, 257}) {
      for (int at : new int[] {0, n / 2, n - 1}) {
        float[] w = new float[n];
        float[] v = new float[n];
        java.util.Arrays.fill(w, 1f);
        java.util.Arrays.fill(v, 1f);
        w[at] = Float.NaN;
        assertWithMessage("%s n=%s NaN at %s", name, n, at)
            .that(dot.dot(MemorySegment.ofArray(w), 0, v, 0, n))
            .isNaN();
        w[at] = 1f;
        v[at] = Float.POSITIVE_INFINITY;
        assertWithMessage("%s n=%s inf at %s", name, n, at)
            .that(dot.dot(MemorySegment.ofArray(w), 0, v, 0, n))
            .isPositiveInfinity();
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void rowsOfAMatrixInAFloatArraySegment(String name, Dot dot) {
    // A 3 x 50 matrix as float[] memory (as FloatTensor.allocate makes it); rowStart selects the
    // row.
    int rows = 3;
    int cols = 50;
    float[] matrix = new float[rows * cols];
    for (int i = 0; i < matrix.length; i++) {
      matrix[i] = (i % 7) - 3;
    }
    float[] x = new float[cols];
    for (int i = 0; i < cols; i++) {
      x[i] = (i % 5) - 2;
    }
    MemorySegment segment = MemorySegment.ofArray(matrix);
    for (int r = 0; r < rows; r++) {
      float expected = 0;
      for (int c = 0; c < cols; c++) {
        expected += matrix[r * cols + c] * x[c];
      }
      assertWithMessage("%s row %s", name, r)
          .that(dot.dot(segment, (long) r * cols, x, 0, cols))
          .isEqualTo(expected);
    }
  }

  // --- float[] . float[]
  // ---------------------------------------------------------------------------

  /** One implementation of the float array dot product. */
  interface ArrayDot {
    float dot(float[] a, int aStart, float[] b, int bStart, int n);
  }

  static Stream<Arguments> arrayImplementationsAndSizes() {
    List<Arguments> impls =
        new ArrayList<>(
            List.of(
                Arguments.of("dispatch", (ArrayDot) VectorKernels::dot),
                Arguments.of("scalar", (ArrayDot) ScalarKernels::dot)));
    for (int bits : WIDTHS) {
      VectorWidth width = VectorWidth.of(bits);
      impls.add(
          Arguments.of(
              "vector" + bits,
              (ArrayDot) (a, as, b, bs, n) -> VectorDot.dot(width, a, as, b, bs, n)));
    }
    List<Arguments> all = new ArrayList<>();
    for (Arguments impl : impls) {
      for (int n : SIZES) {
        all.add(Arguments.of(impl.get()[0], impl.get()[1], n));
      }
    }
    return all.stream();
  }

  @ParameterizedTest(name = "{0} n={2}")
  @MethodSource("arrayImplementationsAndSizes")
  void arrayDotAgainstDoublePrecision(String name, ArrayDot dot, int n) {
    var random = new SplittableRandom(n * 13L + 1);
    float[] a = new float[n];
    float[] b = new float[n];
    double exact = 0;
    double magnitude = 0;
    for (int i = 0; i < n; i++) {
      a[i] = (float) random.nextGaussian();
      b[i] = (float) (random.nextGaussian() * 3);
      exact += (double) a[i] * b[i];
      magnitude += Math.abs((double) a[i] * b[i]);
    }
    float got = dot.dot(withNanAround(a, 2), 2, withNanAround(b, 9), 9, n);
    assertWithMessage("%s n=%s", name, n)
        .that((double) got)
        .isWithin(2 * (n + 2) * 0x1p-24 * magnitude)
        .of(exact);
  }

  @ParameterizedTest(name = "{0} n={2}")
  @MethodSource("arrayImplementationsAndSizes")
  void arrayDotPairsEveryElementOnce(String name, ArrayDot dot, int n) {
    float[] a = new float[n + 1];
    for (int i = 0; i < n; i++) {
      a[1 + i] = i + 1;
    }
    float[] b = new float[n + 6];
    for (int j = 0; j < n; j++) {
      b[6 + j] = 1f;
      float got = dot.dot(a, 1, b, 6, n);
      b[6 + j] = 0f;
      if (got != j + 1) {
        assertWithMessage("%s n=%s one-hot at %s", name, n, j).that(got).isEqualTo((float) (j + 1));
      }
    }
    assertWithMessage("%s n=0", name).that(dot.dot(a, 1, b, 6, 0)).isEqualTo(0f);
  }

  @Test
  void dispatchFollowsTheSystemProperty() {
    // Surefire starts this JVM with --add-modules jdk.incubator.vector.
    assertThat(VectorKernels.VECTORIZED)
        .isEqualTo(!"scalar".equals(System.getProperty("kiln.vector")));
    assertThat(VectorKernels.VECTOR_BITS)
        .isEqualTo(VectorKernels.VECTORIZED ? Math.min(512, VectorWidth.preferredBits()) : 0);
  }

  // --- the choice of path, in fresh JVMs --------------------------------------------------------

  private record Run(String stdout, String stderr) {}

  private static Run probe(String... jvmOptions) throws IOException, InterruptedException {
    String javaBinary = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classPath =
        location(VectorKernels.class)
            + java.io.File.pathSeparator
            + location(VectorKernelsProbe.class);
    List<String> command = new ArrayList<>(List.of(javaBinary));
    command.addAll(List.of(jvmOptions));
    command.addAll(List.of("-cp", classPath, VectorKernelsProbe.class.getName()));
    Process process = new ProcessBuilder(command).start();
    process.getOutputStream().close();
    var stdout = process.getInputStream().readAllBytes();
    var stderr = process.getErrorStream().readAllBytes();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    Run run =
        new Run(
            new String(stdout, StandardCharsets.UTF_8), new String(stderr, StandardCharsets.UTF_8));
    assertWithMessage("exit status; stderr: %s", run.stderr).that(process.exitValue()).isEqualTo(0);
    return run;
  }

  private static String location(Class<?> type) {
    try {
      return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (java.net.URISyntaxException e) {
      throw new AssertionError(e);
    }
  }

  private static final String F16_LINE = "f16=[1.0, 5.9604645E-8, -Infinity, 65504.0]";

  private static void assertSameResults(Run run) {
    assertThat(run.stdout).contains("dot=17575.0");
    assertThat(run.stdout).contains("arrays=17575.0");
    assertThat(run.stdout).contains("q8_0=264.0");
    assertThat(run.stdout).contains(F16_LINE);
  }

  @Test
  void withTheModuleTheVectorPathIsChosenSilently() throws Exception {
    Run run = probe("--add-modules", "jdk.incubator.vector");
    assertThat(run.stdout).contains("vectorized=true");
    assertThat(run.stdout).containsMatch("bits=(128|256|512)\\b");
    assertSameResults(run);
    assertThat(run.stderr).doesNotContain("kiln:");
  }

  @Test
  void scalarPropertyChoosesTheScalarPath() throws Exception {
    Run run = probe("--add-modules", "jdk.incubator.vector", "-Dkiln.vector=scalar");
    assertThat(run.stdout).contains("vectorized=false");
    assertThat(run.stdout).contains("bits=0");
    assertSameResults(run);
    assertThat(run.stderr).doesNotContain("kiln:");
  }

  @Test
  void widthPropertyChoosesTheWidth() throws Exception {
    for (String bits : new String[] {"128", "256", "512"}) {
      Run run = probe("--add-modules", "jdk.incubator.vector", "-Dkiln.vector=" + bits);
      assertWithMessage("kiln.vector=%s", bits).that(run.stdout).contains("vectorized=true");
      assertWithMessage("kiln.vector=%s", bits).that(run.stdout).contains("bits=" + bits);
      assertSameResults(run);
    }
  }

  @Test
  void unknownWidthIsReportedAndThePreferredWidthUsed() throws Exception {
    Run run = probe("--add-modules", "jdk.incubator.vector", "-Dkiln.vector=fast");
    assertThat(run.stdout).contains("vectorized=true");
    assertThat(run.stderr)
        .contains(
            "kiln: WARNING: kiln.vector=fast is not scalar, 128, 256 or 512; using the preferred width");
    assertSameResults(run);
  }

  @Test
  void withoutTheModuleTheScalarPathRunsAndSaysSo() throws Exception {
    Run run = probe();
    assertThat(run.stdout).contains("vectorized=false");
    assertSameResults(run);
    assertThat(run.stderr)
        .contains(
            "kiln: WARNING: the Vector API is not available (start java with --add-modules"
                + " jdk.incubator.vector); running scalar kernels, several times slower");
    // Reported once, not per call.
    assertThat(run.stderr.split("kiln: WARNING", -1)).hasLength(2);
  }
}
