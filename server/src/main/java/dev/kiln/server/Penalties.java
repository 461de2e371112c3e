package dev.kiln.server;

import dev.kiln.generate.Candidates;
import dev.kiln.generate.LogitsProcessor;
import java.util.HashMap;
import java.util.Map;

/**
 * OpenAI's {@code frequency_penalty} and {@code presence_penalty}: each token already generated
 * (the prompt does not count) has its logit lowered by {@code count x frequency + presence}.
 */
record Penalties(int promptLength, double frequency, double presence) implements LogitsProcessor {
  @Override
  public void process(Candidates candidates, int[] history, int historyLength) {
    if (historyLength <= promptLength) {
      return;
    }
    Map<Integer, Integer> counts = new HashMap<>();
    for (int i = promptLength; i < historyLength; i++) {
      counts.merge(history[i], 1, Integer::sum);
    }
    for (Map.Entry<Integer, Integer> entry : counts.entrySet()) {
      int at = candidates.indexOf(entry.getKey());
      if (at >= 0) {
        candidates.setLogit(
            at, (float) (candidates.logit(at) - entry.getValue() * frequency - presence));
      }
    }
  }
}
