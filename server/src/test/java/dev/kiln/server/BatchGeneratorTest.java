package dev.kiln.server;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.KilnException;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.GenerationResult;
import dev.kiln.generate.SamplerChain;
import dev.kiln.model.KilnModel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The scheduler as a library: many prompts on 3 slots give what each gives alone through a
 * Generator.
 */
class BatchGeneratorTest {
  private static final String VOCAB = "一丁七万丈三上下不与丐丑专且丕世丗丘丙业丛东丝丞丟両丢两严並丧丨丩个丫丬中丮丯丰丱串";

  private static SamplerChain sampler(int i) {
    return i % 2 == 0
        ? SamplerChain.greedy()
        : SamplerChain.builder().temperature(0.9).topK(20).topP(0.95).seed(1000 + i).build();
  }

  @Test
  void batchedCompletionsEqualSoloRuns() throws Exception {
    KilnModel solo = TestModels.open(TestModels.tiny(), 1);
    KilnModel batched = TestModels.open(TestModels.tiny(), 3);
    List<int[]> prompts = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      int from = (i * 7) % (VOCAB.length() - 12);
      prompts.add(solo.encode(VOCAB.substring(from, from + 2 + i)));
    }
    int[] stops = solo.stopTokens(false);
    try (BatchGenerator batch = new BatchGenerator(batched.decoder(), 4, System.err::println)) {
      assertThat(batch.slots()).isEqualTo(3);
      List<BatchGenerator.Pending> pending = new ArrayList<>();
      for (int i = 0; i < prompts.size(); i++) {
        pending.add(
            batch.submit(
                prompts.get(i),
                sampler(i),
                6 + i,
                stops,
                List.of(),
                batched.tokenizer()::tokenBytes));
      }
      for (int i = 0; i < prompts.size(); i++) {
        BatchGenerator.Completion completion = pending.get(i).await();
        GenerationOptions options =
            GenerationOptions.builder()
                .maxTokens(6 + i)
                .stopTokens(stops)
                .tokenText(solo.tokenizer()::tokenBytes)
                .build();
        GenerationResult expected = solo.generator(sampler(i)).generate(prompts.get(i), options);
        assertWithMessage("prompt %s", i).that(completion.error()).isNull();
        assertWithMessage("prompt %s", i).that(completion.text()).isEqualTo(expected.text());
        assertWithMessage("prompt %s", i).that(completion.tokens()).isEqualTo(expected.tokens());
        assertThat(completion.promptTokens()).isEqualTo(prompts.get(i).length);
        assertThat(completion.completionTokens()).isEqualTo(expected.tokens().length);
        assertThat(completion.finishReason())
            .isEqualTo(
                switch (expected.stopReason()) {
                  case MAX_TOKENS, CONTEXT_FULL -> "length";
                  default -> "stop";
                });
      }
      assertThat(batch.steps()).isGreaterThan(0L);
      assertThrows(
          KilnException.class,
          () ->
              batch.submit(
                  new int[0], SamplerChain.greedy(), 4, stops, List.of(), id -> new byte[0]));
      assertThrows(
          KilnException.class,
          () ->
              batch.submit(
                  new int[64], SamplerChain.greedy(), 4, stops, List.of(), id -> new byte[0]));
      assertThrows(
          KilnException.class,
          () ->
              batch.submit(
                  new int[] {1, 64},
                  SamplerChain.greedy(),
                  4,
                  stops,
                  List.of(),
                  id -> new byte[0]));
    }
  }
}
