package dev.kiln.examples;

import dev.kiln.Decoder;
import dev.kiln.Greedy;
import dev.kiln.kernel.Parallel;
import dev.kiln.kernel.QuantizedRows;
import dev.kiln.weights.Dtype;
import dev.kiln.weights.Weights;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The float and int8 dot-product paths ({@link QuantizedRows.Mode}) of the stories110m decoder on
 * random Q8_0 and Q4_0 weights, timed in paired, alternating passes (for a shared, loaded machine:
 * each round runs one pass of each path back to back, the order switching every round): a prefill
 * of {@code prompt} tokens, then {@code steps} greedy decode steps at batch 1 and at batch 4.
 * Prints each path's best and median tokens/s and the int8/float ratios. Run with
 *
 * <pre>
 * ./mvnw -q -pl runtime,processor,examples -am -DskipTests package
 * java --add-modules jdk.incubator.vector -Dkiln.threads=2 \
 *     -cp "examples/target/classes:runtime/target/classes" dev.kiln.examples.PairedQuantizedDecode [rounds [prompt [steps]]]
 * </pre>
 */
public final class PairedQuantizedDecode {
  private PairedQuantizedDecode() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 6;
    int prompt = args.length > 1 ? Integer.parseInt(args[1]) : 64;
    int steps = args.length > 2 ? Integer.parseInt(args[2]) : 32;
    System.out.printf(
        Locale.ROOT,
        "stories110m, random weights; %d threads; %d rounds; prompt %d, %d steps%n",
        Parallel.THREADS,
        rounds,
        prompt,
        steps);
    Weights f32 = Weights.random(Stories110MDecoder.SPEC, 42);
    for (Dtype type : new Dtype[] {Dtype.Q8_0, Dtype.Q4_0}) {
      Weights weights = f32.withMatrices(type);
      Decoder decoder = new Stories110MDecoder(Stories110MWeights.from(weights));
      var random = new SplittableRandom(7);
      int[][] prompts = new int[4][];
      for (int s = 0; s < 4; s++) {
        prompts[s] = random.ints(prompt, 0, Stories110MDecoder.SPEC.vocabSize()).toArray();
      }
      // [what][path][round]: what 0 prefill, 1 decode batch 1, 2 decode batch 4; tokens/s
      double[][][] rates = new double[3][2][rounds];
      for (int round = -1; round < rounds; round++) { // round -1: warm-up of both paths
        for (int k = 0; k < 2; k++) {
          int path = (round & 1) == 0 ? k : 1 - k;
          QuantizedRows.setMode(path == 0 ? QuantizedRows.Mode.FLOAT : QuantizedRows.Mode.INT8);
          long start = System.nanoTime();
          float[][] logits = decoder.prefill(new int[][] {prompts[0]});
          double prefill = prompt / seconds(start);
          start = System.nanoTime();
          decode(decoder, logits, steps);
          double single = steps / seconds(start);
          logits = decoder.prefill(prompts);
          start = System.nanoTime();
          decode(decoder, logits, steps);
          double four = 4.0 * steps / seconds(start);
          if (round >= 0) {
            rates[0][path][round] = prefill;
            rates[1][path][round] = single;
            rates[2][path][round] = four;
          }
        }
      }
      QuantizedRows.setMode(QuantizedRows.Mode.FLOAT);
      String[] names = {"prefill", "decode b1", "decode b4"};
      for (int what = 0; what < 3; what++) {
        double[] floats = rates[what][0].clone();
        double[] ints = rates[what][1].clone();
        Arrays.sort(floats);
        Arrays.sort(ints);
        double floatBest = floats[rounds - 1];
        double intBest = ints[rounds - 1];
        double floatMedian = floats[rounds / 2];
        double intMedian = ints[rounds / 2];
        System.out.printf(
            Locale.ROOT,
            "%s %s tok/s: float best %.1f median %.1f | int8 best %.1f median %.1f | int8/float"
                + " best %.2fx median %.2fx%n",
            type,
            names[what],
            floatBest,
            floatMedian,
            intBest,
            intMedian,
            intBest / floatBest,
            intMedian / floatMedian);
      }
    }
  }

  private static void decode(Decoder decoder, float[][] logits, int steps) {
    for (int i = 0; i < steps; i++) {
      logits = decoder.step(Greedy.argmax(logits));
    }
  }

  private static double seconds(long start) {
    return (System.nanoTime() - start) / 1e9;
  }
}
