package dev.kiln.examples;

import static com.google.common.truth.Truth.assertWithMessage;

import dev.kiln.Decoder;
import dev.kiln.Greedy;
import dev.kiln.interpreter.Interpreter;
import dev.kiln.weights.Dtype;
import dev.kiln.weights.TensorSource;
import dev.kiln.weights.WeightTensor;
import dev.kiln.weights.Weights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Generated decoders over weights kept in every stored type (F16, BF16, Q8_0, Q4_0 made by {@link
 * dev.kiln.weights.Quantizer}; Q4_K and Q6_K as random blocks, which Kiln reads but does not
 * produce) against the interpreter on the very same weights: the generated kernels dequantize on
 * the fly inside their dot products, the interpreter dequantizes each row first and sums in double.
 * Logits agree within {@link Logits#RELATIVE} at every prompt position and 32 decode steps, and
 * greedy tokens match.
 */
class QuantizedWeightsTest {
  static Stream<Arguments> cases() {
    var seed =
        TestModel.all().getFirst(); // SeedLlama: hidden 256, intermediate 512, whole K-quant blocks
    var gqa =
        TestModel.all().stream()
            .filter(m -> m.name().equals("GqaTwoKvHeads"))
            .findFirst()
            .orElseThrow();
    return Stream.concat(
        Stream.of(Dtype.F16, Dtype.BF16, Dtype.Q8_0, Dtype.Q4_0, Dtype.Q4_K, Dtype.Q6_K)
            .map(t -> Arguments.of(seed, t)),
        Stream.of(Dtype.Q8_0, Dtype.Q4_0).map(t -> Arguments.of(gqa, t)));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void generatedMatchesInterpreter(TestModel model, Dtype type) {
    Weights weights = weightsOf(model.randomWeights(), type);
    for (var tensor : weights.tensors().values()) {
      assertWithMessage("%s stored type", tensor.name())
          .that(tensor.dtype())
          .isEqualTo(tensor.shape().length == 1 ? Dtype.F32 : type);
    }
    Decoder generated = model.generated().apply(weights);
    Decoder interpreter = new Interpreter(weights);
    int[][] prompts = GeneratedVsInterpreterTest.prompts(model, new SplittableRandom(5));
    float[][][] expected = interpreter.append(prompts);
    float[][][] actual = generated.append(prompts);
    int[] tokens = new int[prompts.length];
    for (int s = 0; s < prompts.length; s++) {
      for (int i = 0; i < prompts[s].length; i++) {
        Logits.assertClose(
            model + " " + type + " prompt position " + i, actual[s][i], expected[s][i]);
      }
      tokens[s] = Greedy.argmax(expected[s][prompts[s].length - 1]);
    }
    for (int step = 0; step < GeneratedVsInterpreterTest.DECODE_STEPS; step++) {
      float[][] want = interpreter.step(tokens);
      float[][] got = generated.step(tokens);
      for (int s = 0; s < tokens.length; s++) {
        Logits.assertClose(model + " " + type + " decode step " + step, got[s], want[s]);
        int next = Greedy.argmax(want[s]);
        assertWithMessage("%s %s greedy token after step %s", model, type, step)
            .that(Greedy.argmax(got[s]))
            .isEqualTo(next);
        tokens[s] = next;
      }
    }
  }

  private static Weights weightsOf(Weights f32, Dtype type) {
    if (type != Dtype.Q4_K && type != Dtype.Q6_K) {
      return f32.withMatrices(type);
    }
    Map<String, WeightTensor> tensors = new LinkedHashMap<>();
    f32.tensors()
        .forEach((name, t) -> tensors.put(name, t.shape().length == 1 ? t : randomKQuant(t, type)));
    return Weights.from(f32.spec(), new MapSource(tensors));
  }

  private static final ValueLayout.OfShort HALF =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /**
   * Random K-quant blocks of {@code like}'s shape: random quants, sub-block scales and mins, with
   * the F16 super-block scales chosen so elements have about {@code like}'s spread.
   */
  private static WeightTensor randomKQuant(WeightTensor like, Dtype type) {
    var random = new SplittableRandom(like.name().hashCode());
    long blocks = like.elementCount() / type.blockSize();
    byte[] bytes = new byte[Math.toIntExact(blocks * type.blockBytes())];
    random.nextBytes(bytes);
    MemorySegment data = MemorySegment.ofArray(bytes);
    float[] values = like.toArray();
    double spread = Math.sqrt(sumOfSquares(values) / values.length);
    for (long b = 0; b < blocks; b++) {
      long block = b * type.blockBytes();
      if (type == Dtype.Q4_K) {
        // x = d * scale * q - dmin * min, scale and min in 0..63, q in 0..15
        data.set(HALF, block, Float.floatToFloat16((float) (spread / (32 * 8))));
        data.set(HALF, block + 2, Float.floatToFloat16((float) (spread / (32 * 4))));
      } else {
        // x = d * scale * (q - 32), scale in -128..127, q - 32 in -32..31
        data.set(HALF, block + 208, Float.floatToFloat16((float) (spread / (64 * 16))));
      }
    }
    return WeightTensor.of(like.name(), like.shape(), type, data);
  }

  private static double sumOfSquares(float[] values) {
    double sum = 0;
    for (float v : values) {
      sum += (double) v * v;
    }
    return sum;
  }

  /** Tensors already in memory, by name. */
  private record MapSource(Map<String, WeightTensor> tensors) implements TensorSource {
    @Override
    public String description() {
      return "random K-quant tensors";
    }

    @Override
    public Set<String> names() {
      return tensors.keySet();
    }

    @Override
    public long[] shape(String name) {
      return tensors.get(name).shape();
    }

    @Override
    public String dtypeName(String name) {
      return tensors.get(name).dtype().name();
    }

    @Override
    public WeightTensor read(String name) {
      return tensors.get(name);
    }
  }
}
