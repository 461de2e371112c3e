package dev.kiln.cli;

import dev.kiln.Decoder;
import dev.kiln.generate.GenerationListener;
import dev.kiln.generate.GenerationResult;
import dev.kiln.generate.Generator;
import dev.kiln.generate.SamplerChain;
import dev.kiln.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.util.Arrays;

/**
 * {@code kiln run} without {@code --chat}: one generation from {@code --prompt} (or {@code
 * --prompt-file}) text, streamed, or from {@code --prompt-ids}, printed as ids.
 */
final class OneShotRun {
  private final RunCommand run;
  private final RunReport report;
  private final PrintWriter out;

  OneShotRun(RunCommand run, RunReport report, PrintWriter out) {
    this.run = run;
    this.report = report;
    this.out = out;
  }

  /** The text prompt, echoed, then the generated text as it comes. */
  int text(LoadedModel loaded, Tokenizer tokenizer, Generator generator) {
    String prompt = run.prompt;
    int[] ids = tokenizer.encode(prompt, tokenizer.addBosByDefault(), false);
    RunCommand.checkPrompt(ids, loaded.spec()); // before the prompt is echoed
    if (!run.json) {
      out.print(prompt);
      Kiln.flush(out);
    }
    GenerationResult result =
        generator.generate(
            ids, run.options(tokenizer), run.json ? GenerationListener.NONE : text(out));
    if (run.logsLogits() && run.maxTokens == 0) {
      generator
          .decoder()
          .prefill(new int[][] {ids}); // -n 0 feeds nothing; the prompt rows are still asked for
    }
    report.commitLogits();
    report.generation(result, ids);
    return 0;
  }

  private static GenerationListener text(PrintWriter out) {
    return new GenerationListener() {
      @Override
      public void onText(String piece) {
        out.print(piece);
        Kiln.flush(out); // a closed pipe or full disk stops the generation
      }
    };
  }

  /** Token ids in, ids out: the prompt is prefilled, then each step's pick is fed back. */
  int ids(LoadedModel loaded, SamplerChain sampler) {
    int[] promptIds = run.promptIds;
    int maxTokens = run.maxTokens;
    int contextLength = loaded.spec().maxPositionEmbeddings();
    RunCommand.checkPrompt(promptIds, loaded.spec());
    Decoder decoder = run.decoder(loaded);
    long start = System.nanoTime();
    float[] logits = decoder.prefill(new int[][] {promptIds})[0];
    long prefilled = System.nanoTime();
    int[] history = Arrays.copyOf(promptIds, promptIds.length + maxTokens);
    int generated = 0;
    String stop = "max_tokens";
    while (generated < maxTokens) {
      int next = sampler.next(logits, history, promptIds.length + generated);
      history[promptIds.length + generated++] = next;
      if (!run.json) {
        out.print(generated == 1 ? Integer.toString(next) : "," + next);
        Kiln.flush(out);
      }
      if (generated == maxTokens) {
        break;
      }
      if (decoder.length(0) >= contextLength) {
        stop = "context_full";
        break;
      }
      logits = decoder.step(new int[] {next})[0];
    }
    double prefillSeconds = (prefilled - start) / 1e9;
    double decodeSeconds = (System.nanoTime() - prefilled) / 1e9;
    int steps = Math.max(0, generated - 1);
    double promptRate = promptIds.length / prefillSeconds;
    double decodeRate = steps == 0 ? 0 : steps / decodeSeconds;
    report.commitLogits();
    report.ids(
        promptIds,
        Arrays.copyOfRange(history, promptIds.length, promptIds.length + generated),
        stop,
        logits,
        run.topLogits,
        promptRate,
        decodeRate);
    return 0;
  }
}
