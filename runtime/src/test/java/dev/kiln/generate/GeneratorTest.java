package dev.kiln.generate;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.ContextOverflowException;
import dev.kiln.Decoder;
import dev.kiln.Greedy;
import dev.kiln.InvalidInputException;
import dev.kiln.interpreter.Interpreter;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.Weights;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The generation loop over the reference interpreter with a tiny random model. */
class GeneratorTest {
  private static final ResolvedSpec SPEC =
      ResolvedSpec.builder()
          .vocabSize(64)
          .hiddenSize(32)
          .intermediateSize(64)
          .numHiddenLayers(1)
          .numAttentionHeads(4)
          .maxPositionEmbeddings(32)
          .build();
  private static final ResolvedSpec BATCH_SPEC = SPEC.toBuilder().maxBatchSize(3).build();
  private static final int[] PROMPT = {1, 2, 3, 4};

  private static Interpreter interpreter(ResolvedSpec spec) {
    return new Interpreter(Weights.random(spec, 7));
  }

  /** Greedy tokens by hand: prefill, argmax, then step and argmax. */
  private static int[] manualGreedy(Decoder decoder, int[] prompt, int count) {
    int[] tokens = new int[count];
    float[] logits = decoder.prefill(new int[][] {prompt})[0];
    for (int i = 0; i < count; i++) {
      tokens[i] = Greedy.argmax(logits);
      if (i + 1 < count) {
        logits = decoder.step(new int[] {tokens[i]})[0];
      }
    }
    return tokens;
  }

  private static GenerationOptions maxTokens(int n) {
    return GenerationOptions.builder().maxTokens(n).build();
  }

  @Test
  void greedyGenerationEqualsAManualLoop() {
    Interpreter decoder = interpreter(SPEC);
    int[] expected = manualGreedy(decoder, PROMPT, 12);
    List<Integer> heard = new ArrayList<>();
    GenerationResult result =
        new Generator(decoder, SamplerChain.greedy())
            .generate(PROMPT, maxTokens(12), GenerationListener.tokens(heard::add));
    assertThat(result.tokens()).isEqualTo(expected);
    assertThat(heard).containsExactlyElementsIn(Arrays.stream(expected).boxed().toList()).inOrder();
    assertThat(result.stopReason()).isEqualTo(StopReason.MAX_TOKENS);
    assertThat(result.promptTokens()).isEqualTo(4);
    assertThat(result.decodeSteps()).isEqualTo(11);
    assertThat(result.text()).isNull();
    assertThat(result.promptTokensPerSecond()).isGreaterThan(0.0);
    assertThat(result.decodeTokensPerSecond()).isGreaterThan(0.0);
    assertThat(decoder.length(0)).isEqualTo(4 + 11); // the last token is not fed
    // temperature 0 samples the same
    GenerationResult cold =
        new Generator(decoder, SamplerChain.builder().temperature(0).topK(10).seed(5).build())
            .generate(PROMPT, maxTokens(12));
    assertThat(cold.tokens()).isEqualTo(expected);
  }

  @Test
  void stopsOnAStopToken() {
    Interpreter decoder = interpreter(SPEC);
    int[] greedy = manualGreedy(decoder, PROMPT, 12);
    int eos = greedy[4];
    int first = 0;
    while (greedy[first] != eos) {
      first++;
    }
    GenerationResult result =
        new Generator(decoder, SamplerChain.greedy())
            .generate(
                PROMPT, GenerationOptions.builder().maxTokens(12).stopTokens(63, eos).build());
    assertThat(result.stopReason()).isEqualTo(StopReason.EOS);
    assertThat(result.stopToken()).isEqualTo(eos);
    assertThat(result.tokens()).isEqualTo(Arrays.copyOf(greedy, first + 1));
  }

  @Test
  void stopsAtMaxTokens() {
    Generator generator = new Generator(interpreter(SPEC), SamplerChain.builder().seed(3).build());
    GenerationResult five = generator.generate(PROMPT, maxTokens(5));
    assertThat(five.tokens()).hasLength(5);
    assertThat(five.stopReason()).isEqualTo(StopReason.MAX_TOKENS);
    assertThat(five.decodeSteps()).isEqualTo(4);
    GenerationResult none = generator.generate(PROMPT, maxTokens(0));
    assertThat(none.tokens()).isEmpty();
    assertThat(none.stopReason()).isEqualTo(StopReason.MAX_TOKENS);
    assertThat(none.promptNanos()).isEqualTo(0);
  }

  @Test
  void aFullContextStopsCleanly() {
    Interpreter decoder = interpreter(SPEC);
    int[] prompt = new int[28];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = (i * 7) % 64;
    }
    GenerationResult result =
        new Generator(decoder, SamplerChain.builder().seed(9).build())
            .generate(prompt, GenerationOptions.defaults());
    assertThat(result.stopReason()).isEqualTo(StopReason.CONTEXT_FULL);
    assertThat(result.tokens()).hasLength(32 - 28);
    assertThat(decoder.length(0)).isEqualTo(31);

    // one generated token fills it
    GenerationResult one =
        new Generator(decoder, SamplerChain.greedy())
            .generate(Arrays.copyOf(prompt, 31), GenerationOptions.defaults());
    assertThat(one.tokens()).hasLength(1);
    assertThat(one.stopReason()).isEqualTo(StopReason.CONTEXT_FULL);

    // a prompt that fills the context: nothing to generate, nothing runs
    decoder.reset();
    GenerationResult full =
        new Generator(decoder, SamplerChain.greedy())
            .generate(new int[32], GenerationOptions.defaults());
    assertThat(full.tokens()).isEmpty();
    assertThat(full.stopReason()).isEqualTo(StopReason.CONTEXT_FULL);
    assertThat(decoder.batchSize()).isEqualTo(0);

    // max tokens reached at the same moment wins
    GenerationResult both =
        new Generator(decoder, SamplerChain.greedy()).generate(prompt, maxTokens(4));
    assertThat(both.stopReason()).isEqualTo(StopReason.MAX_TOKENS);
  }

  @Test
  void aFullContextThrowsWhenAsked() {
    var options = GenerationOptions.builder().stopAtContextFull(false).build();
    var e =
        assertThrows(
            ContextOverflowException.class,
            () ->
                new Generator(interpreter(SPEC), SamplerChain.greedy())
                    .generate(new int[30], options));
    assertThat(e)
        .hasMessageThat()
        .contains("sequence 0 fills the context (32 positions = maxPositionEmbeddings)");
  }

  @Test
  void badPromptsAreRejectedBeforeAnythingRuns() {
    ScriptedDecoder decoder = new ScriptedDecoder(SPEC, new int[] {5});
    Generator generator = new Generator(decoder, SamplerChain.greedy());
    var tooLong =
        assertThrows(
            InvalidInputException.class,
            () -> generator.generate(new int[33], GenerationOptions.defaults()));
    assertThat(tooLong)
        .hasMessageThat()
        .isEqualTo("the prompt has 33 tokens but the context holds 32 (maxPositionEmbeddings)");
    var empty =
        assertThrows(
            InvalidInputException.class,
            () -> generator.generate(new int[0], GenerationOptions.defaults()));
    assertThat(empty)
        .hasMessageThat()
        .isEqualTo("the prompt is empty; it needs at least one token");
    var badId =
        assertThrows(
            InvalidInputException.class,
            () -> generator.generate(new int[] {1, 64}, GenerationOptions.defaults()));
    assertThat(badId)
        .hasMessageThat()
        .isEqualTo("the prompt, token 1: id 64 is outside the vocabulary [0, 64)");
    var badStop =
        assertThrows(
            InvalidInputException.class,
            () ->
                generator.generate(
                    new int[] {1}, GenerationOptions.builder().stopTokens(100).build()));
    assertThat(badStop)
        .hasMessageThat()
        .isEqualTo("stop token id 100 is outside the vocabulary [0, 64)");
    var batch =
        assertThrows(
            InvalidInputException.class,
            () -> generator.generateBatch(new int[][] {{1}, {2}}, GenerationOptions.defaults()));
    assertThat(batch)
        .hasMessageThat()
        .isEqualTo("2 prompts given but the decoder's maxBatchSize is 1");
    var stopWithoutText =
        assertThrows(
            InvalidInputException.class,
            () -> GenerationOptions.builder().stopStrings("\n").build());
    assertThat(stopWithoutText).hasMessageThat().contains("need tokenText");
    assertThat(
            assertThrows(
                InvalidInputException.class, () -> GenerationOptions.builder().maxTokens(-1)))
        .hasMessageThat()
        .isEqualTo("maxTokens must be >= 0, got -1");
    assertThat(decoder.calls).isEmpty();
  }

  @Test
  void seededSamplingIsReproducible() {
    Interpreter decoder = interpreter(SPEC);
    SamplerChain chain = SamplerChain.builder().temperature(1.5).topK(20).seed(77).build();
    GenerationResult a = new Generator(decoder, chain).generate(PROMPT, maxTokens(20));
    GenerationResult b = new Generator(decoder, chain.withSeed(77)).generate(PROMPT, maxTokens(20));
    GenerationResult c = new Generator(decoder, chain.withSeed(78)).generate(PROMPT, maxTokens(20));
    assertThat(a.tokens()).isEqualTo(b.tokens());
    assertThat(a.tokens()).isNotEqualTo(c.tokens());
  }

  @Test
  void batchGenerationMatchesSingleGenerations() {
    Interpreter decoder = interpreter(BATCH_SPEC);
    SamplerChain chain = SamplerChain.builder().temperature(1.2).seed(5).build();
    int[][] prompts = {{1, 2, 3}, {9, 8}, {4, 4, 4, 4, 4}};
    // stop sequence 1 early on a token it produces, so the others go on with empty chunks for it
    int[] single1 =
        new Generator(decoder, chain.forSequence(1)).generate(prompts[1], maxTokens(8)).tokens();
    var options = GenerationOptions.builder().maxTokens(8).stopTokens(single1[2]).build();
    List<String> heard = new ArrayList<>();
    List<GenerationResult> results =
        new Generator(decoder, chain)
            .generateBatch(
                prompts,
                options,
                new BatchGenerationListener() {
                  @Override
                  public void onToken(int sequence, int id) {
                    heard.add(sequence + ":" + id);
                  }
                });
    assertThat(results).hasSize(3);
    for (int s = 0; s < 3; s++) {
      GenerationResult single =
          new Generator(decoder, chain.forSequence(s)).generate(prompts[s], options);
      assertThat(results.get(s).tokens()).isEqualTo(single.tokens());
      assertThat(results.get(s).stopReason()).isEqualTo(single.stopReason());
    }
    assertThat(results.get(1).stopReason()).isEqualTo(StopReason.EOS);
    assertThat(results.get(1).tokens().length).isLessThan(8);
    int total = results.stream().mapToInt(GenerationResult::generatedTokens).sum();
    assertThat(heard).hasSize(total);
  }

  @Test
  void batchFeedsStoppedSequencesNothing() {
    ScriptedDecoder decoder =
        new ScriptedDecoder(BATCH_SPEC, new int[] {5, 0, 9}, new int[] {6, 7, 8, 9});
    var options = GenerationOptions.builder().maxTokens(4).stopTokens(0).build();
    List<GenerationResult> results =
        new Generator(decoder, SamplerChain.greedy())
            .generateBatch(new int[][] {{1, 2}, {3}}, options);
    assertThat(results.get(0).tokens()).isEqualTo(new int[] {5, 0});
    assertThat(results.get(0).stopReason()).isEqualTo(StopReason.EOS);
    assertThat(results.get(1).tokens()).isEqualTo(new int[] {6, 7, 8, 9});
    assertThat(results.get(1).stopReason()).isEqualTo(StopReason.MAX_TOKENS);
    assertThat(decoder.calls)
        .containsExactly("prefill[[1, 2], [3]]", "step[5, 6]", "append[[], [7]]", "append[[], [8]]")
        .inOrder();
  }

  @Test
  void aBatchPromptThatFillsTheContextEndsAtOnceWhileTheOthersRun() {
    ScriptedDecoder decoder = new ScriptedDecoder(BATCH_SPEC, new int[] {5}, new int[] {6, 7, 8});
    List<GenerationResult> results =
        new Generator(decoder, SamplerChain.greedy())
            .generateBatch(new int[][] {new int[32], {3}}, maxTokens(3));
    assertThat(results.get(0).tokens()).isEmpty();
    assertThat(results.get(0).stopReason()).isEqualTo(StopReason.CONTEXT_FULL);
    assertThat(results.get(1).tokens()).isEqualTo(new int[] {6, 7, 8});
    assertThat(decoder.calls.get(1)).isEqualTo("append[[], [6]]");
  }

  @Test
  void pullingTokenByTokenMatchesGenerate() {
    Interpreter decoder = interpreter(SPEC);
    int[] expected =
        new Generator(decoder, SamplerChain.greedy()).generate(PROMPT, maxTokens(6)).tokens();
    Generation generation =
        new Generator(decoder, SamplerChain.greedy()).start(PROMPT, maxTokens(6));
    List<Integer> pulled = new ArrayList<>();
    while (generation.hasNext()) {
      assertThat(generation.stopReason()).isNull();
      pulled.add(generation.nextInt());
      assertThat(generation.tokens()).hasLength(pulled.size());
    }
    assertThat(pulled.stream().mapToInt(Integer::intValue).toArray()).isEqualTo(expected);
    assertThat(generation.stopReason()).isEqualTo(StopReason.MAX_TOKENS);
    assertThat(generation.result().tokens()).isEqualTo(expected);
    assertThrows(java.util.NoSuchElementException.class, generation::nextInt);

    int[] streamed =
        new Generator(decoder, SamplerChain.greedy())
            .start(PROMPT, maxTokens(6)).stream().toArray();
    assertThat(streamed).isEqualTo(expected);
    int[] firstTwo =
        new Generator(decoder, SamplerChain.greedy())
            .start(PROMPT, maxTokens(6)).stream().limit(2).toArray();
    assertThat(firstTwo).isEqualTo(Arrays.copyOf(expected, 2));
  }

  // ---- text ----

  private static final ResolvedSpec TEXT_SPEC = SPEC.toBuilder().maxPositionEmbeddings(64).build();
  private static final int EOS = 2;

  /** Token bytes: the byte table of a fake tokenizer. */
  private static final byte[][] TABLE = new byte[64][];

  static {
    for (int id = 0; id < 64; id++) {
      TABLE[id] = new byte[0];
    }
    put(EOS, "</s>");
    put(10, "Hi ");
    TABLE[11] = new byte[] {(byte) 0xF0, (byte) 0x9F}; // U+1F600 😀 = F0 9F 98 80, split 2 + 1 + 1
    TABLE[12] = new byte[] {(byte) 0x98};
    TABLE[13] = new byte[] {(byte) 0x80, 'a'};
    TABLE[14] = new byte[] {(byte) 0xE4}; // U+4E2D 中 = E4 B8 AD, split 1 + 2
    TABLE[15] = new byte[] {(byte) 0xB8, (byte) 0xAD, 'b'};
    put(16, " ok");
    put(20, "ab");
    put(21, "cS");
    put(22, "TO");
    put(23, "P tail");
    put(24, "xS");
    put(25, "Ty");
    put(26, "\n");
    put(27, "z");
  }

  private static void put(int id, String text) {
    TABLE[id] = text.getBytes(StandardCharsets.UTF_8);
  }

  private static final TokenText TOKEN_TEXT = id -> TABLE[id].clone();

  private record Heard(List<String> texts, List<String> events, GenerationResult result) {}

  /** Generates the script with a text listener; events interleave tokens and texts. */
  private static Heard run(int[] script, GenerationOptions.Builder options) {
    ScriptedDecoder decoder = new ScriptedDecoder(TEXT_SPEC, script);
    List<String> texts = new ArrayList<>();
    List<String> events = new ArrayList<>();
    GenerationResult result =
        new Generator(decoder, SamplerChain.greedy())
            .generate(
                new int[] {1},
                options.tokenText(TOKEN_TEXT).build(),
                new GenerationListener() {
                  @Override
                  public void onToken(int id) {
                    events.add("#" + id);
                  }

                  @Override
                  public void onText(String text) {
                    texts.add(text);
                    events.add(text);
                  }
                });
    return new Heard(texts, events, result);
  }

  private static void assertWholeCharacters(List<String> pieces) {
    for (String piece : pieces) {
      assertThat(piece).isNotEmpty();
      assertThat(piece).doesNotContain("\uFFFD");
      piece
          .codePoints()
          .forEach(cp -> assertThat(Character.isSurrogate((char) cp) && cp < 0x10000).isFalse());
      assertThat(new String(piece.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8))
          .isEqualTo(piece);
    }
  }

  @Test
  void textStreamsWholeCharactersOnly() {
    Heard heard =
        run(
            new int[] {10, 11, 12, 13, 14, 15, 16, EOS},
            GenerationOptions.builder().stopTokens(EOS));
    assertThat(heard.result().text()).isEqualTo("Hi \uD83D\uDE00a\u4E2Db ok");
    assertThat(heard.result().stopReason()).isEqualTo(StopReason.EOS);
    assertThat(heard.result().tokens()).isEqualTo(new int[] {10, 11, 12, 13, 14, 15, 16, EOS});
    assertThat(String.join("", heard.texts())).isEqualTo(heard.result().text());
    assertWholeCharacters(heard.texts());
    assertThat(heard.events())
        .containsExactly(
            "#10",
            "Hi ",
            "#11",
            "#12",
            "#13",
            "\uD83D\uDE00a",
            "#14",
            "#15",
            "\u4E2Db",
            "#16",
            " ok",
            "#" + EOS)
        .inOrder();
  }

  @Test
  void anIncompleteCharacterAtTheEndBecomesAReplacementCharacter() {
    Heard heard = run(new int[] {10, 11}, GenerationOptions.builder().maxTokens(2));
    assertThat(heard.result().text()).isEqualTo("Hi \uFFFD");
    assertThat(String.join("", heard.texts())).isEqualTo("Hi \uFFFD");
  }

  @Test
  void stopStringsSpanningTokensDoNotLeak() {
    Heard heard =
        run(new int[] {20, 21, 22, 23, 27}, GenerationOptions.builder().stopStrings("STOP"));
    assertThat(heard.result().text()).isEqualTo("abc");
    assertThat(heard.result().stopReason()).isEqualTo(StopReason.STOP_STRING);
    assertThat(heard.result().stopString()).isEqualTo("STOP");
    assertThat(heard.result().tokens()).isEqualTo(new int[] {20, 21, 22, 23});
    assertThat(heard.events()).containsExactly("#20", "ab", "#21", "c", "#22", "#23").inOrder();
    for (String piece : heard.texts()) {
      assertThat(piece).doesNotContain("S");
    }
  }

  @Test
  void heldTextThatIsNotAStopStringIsReleased() {
    Heard heard =
        run(
            new int[] {24, 25, 20, EOS},
            GenerationOptions.builder().stopStrings("STOP").stopTokens(EOS));
    assertThat(heard.result().text()).isEqualTo("xSTyab");
    assertThat(heard.result().stopReason()).isEqualTo(StopReason.EOS);
    assertThat(heard.events())
        .containsExactly("#24", "x", "#25", "STy", "#20", "ab", "#" + EOS)
        .inOrder();

    // held text at the end is released
    Heard end =
        run(new int[] {20, 21, 22}, GenerationOptions.builder().stopStrings("STOP").maxTokens(3));
    assertThat(end.result().text()).isEqualTo("abcSTO");
    assertThat(String.join("", end.texts())).isEqualTo("abcSTO");
  }

  @Test
  void theEarliestOfSeveralStopStringsWins() {
    Heard heard =
        run(
            new int[] {20, 21, 22, 26, 26},
            GenerationOptions.builder().stopStrings("\n\n", "cST", "TO\n"));
    assertThat(heard.result().text()).isEqualTo("ab");
    assertThat(heard.result().stopString()).isEqualTo("cST");
  }

  @Test
  void aStopStringWithASplitMultiByteCharacter() {
    Heard heard =
        run(new int[] {10, 14, 15, 16}, GenerationOptions.builder().stopStrings("\u4E2D"));
    assertThat(heard.result().text()).isEqualTo("Hi ");
    assertThat(heard.result().stopReason()).isEqualTo(StopReason.STOP_STRING);
    assertThat(heard.result().tokens()).isEqualTo(new int[] {10, 14, 15});
  }

  @Test
  void stopTokensAreNotText() {
    Heard heard =
        run(new int[] {16, EOS}, GenerationOptions.builder().stopTokens(EOS).stopStrings("</s>"));
    assertThat(heard.result().text()).isEqualTo(" ok");
    assertThat(heard.result().stopReason()).isEqualTo(StopReason.EOS);
  }

  @Test
  void aContinuedGenerationFeedsOnlyTheNewTokensAndEqualsAFreshOne() {
    Interpreter decoder = interpreter(SPEC);
    var generator = new Generator(decoder, SamplerChain.greedy());
    GenerationResult first = generator.generate(PROMPT, maxTokens(3));
    // The cache holds the prompt and every generated token but the last (which was never fed).
    int[] firstTokens = first.tokens();
    assertThat(decoder.length(0)).isEqualTo(PROMPT.length + firstTokens.length - 1);
    int[] next = new int[PROMPT.length + firstTokens.length + 2];
    System.arraycopy(PROMPT, 0, next, 0, PROMPT.length);
    System.arraycopy(firstTokens, 0, next, PROMPT.length, firstTokens.length);
    next[next.length - 2] = 9;
    next[next.length - 1] = 10;
    GenerationResult continued =
        generator.generateContinuing(
            next, decoder.length(0), maxTokens(5), GenerationListener.NONE);
    GenerationResult fresh =
        new Generator(interpreter(SPEC), SamplerChain.greedy()).generate(next, maxTokens(5));
    assertThat(continued.tokens()).isEqualTo(fresh.tokens());

    var wrongPrefix =
        assertThrows(
            InvalidInputException.class,
            () -> generator.generateContinuing(next, 2, maxTokens(1), GenerationListener.NONE));
    assertThat(wrongPrefix).hasMessageThat().contains("not the 2 the continued prompt says");
  }
}
