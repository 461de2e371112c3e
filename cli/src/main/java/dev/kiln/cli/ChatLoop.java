package dev.kiln.cli;

import dev.kiln.InvalidInputException;
import dev.kiln.generate.ChatTemplate;
import dev.kiln.generate.GenerationListener;
import dev.kiln.generate.GenerationResult;
import dev.kiln.generate.Generator;
import dev.kiln.generate.Message;
import dev.kiln.tokenizer.TokenType;
import dev.kiln.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.Set;

/**
 * {@code kiln run --chat}: with {@code --prompt} one turn, else a conversation on standard input
 * that keeps the KV cache across turns, in the model's chat format (or {@code --chat-template}'s).
 */
final class ChatLoop {
  private final RunCommand run;
  private final Tokenizer tokenizer;
  private final Generator generator;
  private final RunReport report;
  private final PrintWriter out;
  private final PrintWriter err;

  ChatLoop(
      RunCommand run,
      Tokenizer tokenizer,
      Generator generator,
      RunReport report,
      PrintWriter out,
      PrintWriter err) {
    this.run = run;
    this.tokenizer = tokenizer;
    this.generator = generator;
    this.report = report;
    this.out = out;
    this.err = err;
  }

  int chat() throws IOException {
    // Control and user-defined tokens: Qwen 3's <think> is one of the latter.
    Set<String> specials = new HashSet<>();
    for (int id = 0; id < tokenizer.vocabSize(); id++) {
      if (tokenizer.isSpecial(id) || tokenizer.tokenType(id) == TokenType.USER_DEFINED) {
        specials.add(tokenizer.tokenText(id));
      }
    }
    String chatTemplate = run.files.chatTemplate;
    ChatTemplate template =
        chatTemplate != null
            ? ModelFileOptions.template(chatTemplate)
            : ChatTemplate.detect(tokenizer.chatTemplate().orElse(null), specials);
    checkSpecialTokens(template, tokenizer, chatTemplate);
    OptionalInt endOfTurn = tokenizer.id(template.endOfTurn());
    List<Message> messages = new ArrayList<>();
    if (run.system != null) {
      messages.add(Message.system(run.system));
    }
    List<Integer> fed = new ArrayList<>(); // tokens in the KV cache, in order
    BufferedReader input =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    boolean interactive = run.prompt == null;
    if (interactive) {
      err.println("chat (" + template + " template); an empty line or end of input ends it");
    }
    while (true) {
      String user;
      if (interactive) {
        out.print("> ");
        Kiln.flush(out);
        user = input.readLine();
        if (user == null || user.isBlank()) {
          return 0;
        }
      } else {
        user = run.prompt;
      }
      messages.add(Message.user(user));
      int[] ids =
          template.encode(
              tokenizer, messages, true); // contents stay text: no special tokens injected
      // Keep what the cache holds up to where this turn's tokens differ from it (re-tokenizing the
      // answer may differ from the sampled tokens), and feed only the rest.
      int cached = Math.min(commonPrefix(fed, ids), ids.length - 1);
      if (cached > 0 && cached < generator.decoder().length(0)) {
        generator.decoder().truncate(0, cached);
      }
      StringBuilder answer = new StringBuilder();
      GenerationListener listener =
          new GenerationListener() {
            @Override
            public void onText(String piece) {
              answer.append(piece);
              if (!run.json) {
                out.print(piece);
                Kiln.flush(out);
              }
            }
          };
      boolean reuse = cached > 0 && cached == generator.decoder().length(0) && cached < ids.length;
      GenerationResult result =
          reuse
              ? generator.generateContinuing(
                  ids, cached, run.options(tokenizer, endOfTurn), listener)
              : generator.generate(ids, run.options(tokenizer, endOfTurn), listener);
      if (!run.json) {
        // The turn is the number of user messages so far (a --system message is not one).
        long turn =
            messages.stream().filter(message -> message.role().equals(Message.USER)).count();
        err.printf(
            Locale.ROOT,
            "%n[turn %d: %d prompt tokens, %d of them already in the KV cache]",
            turn,
            ids.length,
            reuse ? cached : 0);
      }
      // The cache now holds the prompt and every generated token but the last.
      fed.clear();
      int[] generated = result.tokens();
      for (int i = 0; i < generator.decoder().length(0); i++) {
        fed.add(i < ids.length ? ids[i] : generated[i - ids.length]);
      }
      if (!run.json) {
        out.println();
      }
      report.generation(result, ids);
      messages.add(Message.assistant(answer.toString()));
      if (!interactive) {
        return 0;
      }
      if (generator.decoder().length(0) >= generator.decoder().spec().maxPositionEmbeddings()) {
        err.println("the context is full; the conversation ends here (--context for more)");
        return 0;
      }
    }
  }

  /**
   * A format whose special tokens are not tokens of the model's vocabulary would be encoded as
   * plain text (with a small vocabulary, as unknown tokens) and could not stop at the end of a
   * turn: an error that names them, rather than a prompt the model cannot read.
   */
  private static void checkSpecialTokens(
      ChatTemplate template, Tokenizer tokenizer, String chatTemplate) {
    List<String> missing =
        template.specialTokens().stream().filter(token -> tokenizer.id(token).isEmpty()).toList();
    if (!missing.isEmpty()) {
      throw new InvalidInputException(
          (chatTemplate != null
                  ? "--chat-template " + chatTemplate
                  : "the chat format " + template.name().toLowerCase(Locale.ROOT))
              + ": this model's vocabulary has no "
              + String.join(", ", missing)
              + " token"
              + (missing.size() == 1 ? "" : "s")
              + " (the format's special tokens would be read as plain text);"
              + " use a format the model was trained with");
    }
  }

  private static int commonPrefix(List<Integer> fed, int[] ids) {
    int n = 0;
    while (n < fed.size() && n < ids.length && fed.get(n) == ids[n]) {
      n++;
    }
    return n;
  }
}
