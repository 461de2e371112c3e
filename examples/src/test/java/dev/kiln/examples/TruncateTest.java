package dev.kiln.examples;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.Decoder;
import dev.kiln.InvalidInputException;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Going back in the cache ({@link Decoder#truncate}) and feeding other tokens gives the logits of a
 * fresh run over the new sequence, for the generated decoders and the interpreter.
 */
class TruncateTest {
  static java.util.List<TestModel> models() {
    return TestModel.all().stream().filter(m -> m.spec().causalMask()).toList();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void truncatedThenFedEqualsFresh(TestModel model) {
    for (Decoder decoder : model.generatedAndInterpreter()) {
      int vocab = model.spec().vocabSize();
      int[] first = {
        1 % vocab, 5 % vocab, 9 % vocab, 2 % vocab, 7 % vocab, 3 % vocab, 8 % vocab, 4 % vocab
      };
      int[] second = Arrays.copyOf(first, first.length);
      second[5] = 11 % vocab;
      second[6] = 6 % vocab;
      second[7] = 10 % vocab;
      decoder.prefill(new int[][] {first});
      decoder.truncate(0, 5);
      assertThat(decoder.length(0)).isEqualTo(5);
      float[][] continued = decoder.append(new int[][] {Arrays.copyOfRange(second, 5, 8)})[0];
      float[][] fresh = decoder.forwardNoCache(new int[][] {second})[0];
      for (int i = 0; i < 3; i++) {
        Logits.assertClose(
            model + " " + decoder.getClass().getSimpleName() + " position " + (5 + i),
            continued[i],
            fresh[5 + i]);
      }
      assertThrows(InvalidInputException.class, () -> decoder.truncate(0, 9));
      assertThrows(InvalidInputException.class, () -> decoder.truncate(1, 0));
    }
  }
}
