package dev.kiln.spark;

import dev.kiln.KilnException;
import dev.kiln.generate.Message;
import dev.kiln.model.KilnModel;
import dev.kiln.server.BatchGenerator;
import java.util.ArrayList;
import java.util.List;

/** One row's way through the shared model: checked, encoded, submitted; or an error value. */
final class Rows {
  private Rows() {}

  /** A row's outcome: a pending generation, or an error found before generating. */
  record Submitted(BatchGenerator.Pending pending, BatchGenerator.Completion failed) {
    boolean isDone() {
      return failed != null || pending.isDone();
    }

    BatchGenerator.Completion await(long timeoutMillis) throws InterruptedException {
      return failed != null ? failed : pending.await(timeoutMillis);
    }

    BatchGenerator.Completion await() throws InterruptedException {
      return failed != null ? failed : pending.await();
    }

    void cancel() {
      if (pending != null) {
        pending.cancel();
      }
    }
  }

  /**
   * Submits {@code prompt} (a row's text) to the shared model, or says why it cannot be generated.
   */
  static Submitted submit(
      ExecutorModels.Shared shared, GenerateSettings settings, Object prompt, long seed)
      throws InterruptedException {
    String problem;
    int promptTokens = 0;
    if (prompt == null) {
      problem = "the prompt is null";
    } else if (!(prompt instanceof String text)) {
      problem = "the prompt is not text but " + prompt.getClass().getSimpleName();
    } else if ((problem = invalidText(text)) == null) {
      try {
        int[] ids = encode(shared.model(), settings, text);
        promptTokens = ids.length;
        return new Submitted(
            shared
                .generator()
                .submit(
                    ids,
                    settings.sampler(seed),
                    settings.maxTokens(),
                    shared.model().stopTokens(settings.chat()),
                    settings.stops(),
                    shared.model().tokenizer()::tokenBytes),
            null);
      } catch (KilnException e) {
        problem = e.getMessage();
      }
    }
    if (settings.failFast()) {
      throw new KilnException("kiln-spark: a bad row (failFast is on): " + problem);
    }
    return new Submitted(
        null, new BatchGenerator.Completion(null, new int[0], "error", promptTokens, 0, problem));
  }

  /**
   * The prompt's ids: plain text with the tokenizer's BOS ({@code kiln run -p}), or a chat's user
   * turn.
   */
  static int[] encode(KilnModel model, GenerateSettings settings, String text) {
    if (!settings.chat()) {
      return model.encode(text);
    }
    List<Message> messages = new ArrayList<>();
    if (settings.system() != null) {
      messages.add(Message.system(settings.system()));
    }
    messages.add(Message.user(text));
    return model.encodeChat(messages);
  }

  /** Why {@code text} is not valid Unicode text (an unpaired surrogate, a NUL), or null. */
  static String invalidText(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == 0) {
        return "invalid text: a NUL character at index " + i;
      }
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return "invalid text: an unpaired surrogate U+"
            + Integer.toHexString(c).toUpperCase(java.util.Locale.ROOT)
            + " at index "
            + i;
      }
    }
    return null;
  }
}
