package dev.kiln.generate;

import dev.kiln.InvalidInputException;
import dev.kiln.KilnException;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The prompt formats of chat models, rendered as text with their special tokens written out (encode
 * the text with special-token parsing on, and without adding another BOS).
 *
 * <p>Each follows its Hugging Face {@code chat_template} (and the model's reference code), so the
 * exact whitespace is theirs. With messages {@code system S, user U1, assistant A1, user U2} and a
 * generation prompt:
 *
 * <dl>
 *   <dt>{@link #LLAMA_2}
 *   <dd>{@code <s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST]}
 *   <dt>{@link #LLAMA_3}
 *   <dd>{@code <|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>} {@code
 *       <|start_header_id|>user<|end_header_id|>\n\nU1<|eot_id|>} {@code
 *       <|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|>} {@code
 *       <|start_header_id|>user<|end_header_id|>\n\nU2<|eot_id|>} {@code
 *       <|start_header_id|>assistant<|end_header_id|>\n\n}
 *   <dt>{@link #CHATML}
 *   <dd>{@code <|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n} {@code
 *       <|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nU2<|im_end|>\n} {@code
 *       <|im_start|>assistant\n}
 *   <dt>{@link #QWEN_3}
 *   <dd>as ChatML, but an earlier answer {@code <think>R</think>\n\nA1} is written {@code A1}
 *   <dt>{@link #GEMMA}
 *   <dd>{@code
 *       <bos><start_of_turn>user\nS\n\nU1<end_of_turn>\n<start_of_turn>model\nA1<end_of_turn>\n}
 *       {@code <start_of_turn>user\nU2<end_of_turn>\n<start_of_turn>model\n}
 *   <dt>{@link #MISTRAL}
 *   <dd>{@code <s>[INST] S\n\nU1 [/INST] A1</s>[INST] U2 [/INST]}
 * </dl>
 *
 * ({@code \n} is a newline; the lines of a format are one string.)
 */
public enum ChatTemplate {
  /**
   * Llama 2 chat (Meta's {@code chat_completion}, HF {@code Llama-2-*-chat-hf}): an optional first
   * system message goes inside the first user turn as {@code <<SYS>>\n...\n<</SYS>>\n\n}; the
   * remaining messages alternate user, assistant, user, ... A user turn is {@code <s>[INST] } +
   * content + {@code [/INST]}, an assistant turn {@code } + content + {@code </s>}; each content
   * (the first user's with the system block) is stripped of leading and trailing whitespace
   * (Python's {@code str.strip}). There is no assistant header, so the generation prompt adds
   * nothing: the answer follows {@code [/INST]}.
   */
  LLAMA_2("</s>", "<s>", "</s>") {
    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
      check(messages);
      String system = null;
      int first = 0;
      if (messages.get(0).role().equals(Message.SYSTEM)) {
        system = messages.get(0).content();
        first = 1;
      }
      if (first == messages.size()) {
        throw new InvalidInputException(
            "a Llama 2 conversation needs a user message after the system message");
      }
      StringBuilder out = new StringBuilder();
      for (int i = first; i < messages.size(); i++) {
        Message message = messages.get(i);
        String expected = (i - first) % 2 == 0 ? Message.USER : Message.ASSISTANT;
        if (!message.role().equals(expected)) {
          throw new InvalidInputException(
              "Llama 2 conversations go (system), user, assistant, user, ...: message "
                  + i
                  + " is "
                  + message.role()
                  + " where "
                  + expected
                  + " should be");
        }
        String content = message.content();
        if (i == first && system != null) {
          content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
        }
        if (expected.equals(Message.USER)) {
          out.append("<s>[INST] ").append(strip(content)).append(" [/INST]");
        } else {
          out.append(' ').append(strip(content)).append(" </s>");
        }
      }
      return out.toString();
    }
  },

  /**
   * Llama 3 and 3.x instruct (HF {@code Meta-Llama-3-8B-Instruct}): {@code <|begin_of_text|>}, then
   * per message {@code <|start_header_id|>} + role + {@code <|end_header_id|>\n\n} + content
   * stripped of leading and trailing whitespace + {@code <|eot_id|>}; the generation prompt is an
   * assistant header, {@code <|start_header_id|>assistant<|end_header_id|>\n\n}. (Llama 3.1's
   * template also writes a default system preamble with knowledge-cutoff and current dates; that is
   * not reproduced: give such a system message yourself.)
   */
  LLAMA_3(
      "<|eot_id|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>") {
    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
      check(messages);
      StringBuilder out = new StringBuilder("<|begin_of_text|>");
      for (Message message : messages) {
        out.append("<|start_header_id|>")
            .append(message.role())
            .append("<|end_header_id|>\n\n")
            .append(strip(message.content()))
            .append("<|eot_id|>");
      }
      if (addGenerationPrompt) {
        out.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
      }
      return out.toString();
    }
  },

  /**
   * ChatML (OpenAI's format, used by Qwen, Hermes, ...): per message {@code <|im_start|>} + role +
   * {@code \n} + content as given + {@code <|im_end|>\n}; the generation prompt is {@code
   * <|im_start|>assistant\n}. No BOS, no stripping, and no default system message (Qwen's templates
   * add one when there is none; add it yourself for those).
   */
  CHATML("<|im_end|>", "<|im_start|>", "<|im_end|>") {
    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
      check(messages);
      StringBuilder out = new StringBuilder();
      for (Message message : messages) {
        out.append("<|im_start|>")
            .append(message.role())
            .append('\n')
            .append(message.content())
            .append("<|im_end|>\n");
      }
      if (addGenerationPrompt) {
        out.append("<|im_start|>assistant\n");
      }
      return out.toString();
    }
  },

  /**
   * Qwen 3 (its {@code chat_template}, without tools): ChatML, with the thinking of earlier answers
   * dropped. The last user message that is not a tool result ({@code
   * <tool_response>...</tool_response>}) is the current query. An assistant message with {@code
   * </think>} in it is split there: its answer is the text after the last {@code </think>} with
   * leading newlines removed, its reasoning the text before the first {@code </think>}, less
   * trailing newlines, after the last {@code <think>}, less leading newlines. An assistant message
   * before the current query is written as its answer alone; one after it as {@code <think>\n} +
   * reasoning (stripped of newlines) + {@code \n</think>\n\n} + answer when it is the last message
   * or has reasoning, else as its answer. A system message is written as is ({@code
   * <|im_start|>system\n...}), user messages too; {@code tool} messages become {@code
   * <tool_response>} blocks of one user turn. The generation prompt is {@code
   * <|im_start|>assistant\n} (the model then thinks first). Other roles are refused (the template
   * would drop them).
   */
  QWEN_3("<|im_end|>", "<|im_start|>", "<|im_end|>") {
    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
      check(messages);
      int n = messages.size();
      int lastQuery = n - 1;
      for (int i = n - 1; i >= 0; i--) {
        Message message = messages.get(i);
        if (message.role().equals(Message.USER)
            && !(message.content().startsWith("<tool_response>")
                && message.content().endsWith("</tool_response>"))) {
          lastQuery = i;
          break;
        }
      }
      StringBuilder out = new StringBuilder();
      for (int i = 0; i < n; i++) {
        Message message = messages.get(i);
        String role = message.role();
        String content = message.content();
        switch (role) {
          case Message.SYSTEM, Message.USER ->
              out.append("<|im_start|>")
                  .append(role)
                  .append('\n')
                  .append(content)
                  .append("<|im_end|>\n");
          case Message.ASSISTANT -> {
            String answer = content;
            String reasoning = "";
            int end = content.indexOf("</think>");
            if (end >= 0) {
              answer =
                  stripLeading(
                      content.substring(content.lastIndexOf("</think>") + "</think>".length()),
                      '\n');
              String before = stripTrailing(content.substring(0, end), '\n');
              int start = before.lastIndexOf("<think>");
              reasoning =
                  stripLeading(
                      start < 0 ? before : before.substring(start + "<think>".length()), '\n');
            }
            out.append("<|im_start|>assistant\n");
            if (i > lastQuery && (i == n - 1 || !reasoning.isEmpty())) {
              out.append("<think>\n")
                  .append(stripTrailing(stripLeading(reasoning, '\n'), '\n'))
                  .append("\n</think>\n\n")
                  .append(stripLeading(answer, '\n'));
            } else {
              out.append(answer);
            }
            out.append("<|im_end|>\n");
          }
          case "tool" -> {
            if (i == 0 || !messages.get(i - 1).role().equals("tool")) {
              out.append("<|im_start|>user");
            }
            out.append("\n<tool_response>\n").append(content).append("\n</tool_response>");
            if (i == n - 1 || !messages.get(i + 1).role().equals("tool")) {
              out.append("<|im_end|>\n");
            }
          }
          default ->
              throw new InvalidInputException(
                  "Qwen 3 conversations have roles system, user, assistant and tool: "
                      + "message "
                      + i
                      + " is "
                      + role);
        }
      }
      if (addGenerationPrompt) {
        out.append("<|im_start|>assistant\n");
      }
      return out.toString();
    }
  },

  /**
   * Gemma 2 and 3 instruct (Gemma 3's {@code chat_template}): {@code <bos>}, then per message
   * {@code <start_of_turn>} + {@code user} or {@code model} + {@code \n} + content stripped of
   * leading and trailing whitespace + {@code <end_of_turn>\n}; the generation prompt is {@code
   * <start_of_turn>model\n}. Gemma has no system role: a first system message, as given and
   * followed by a blank line ({@code \n\n}), goes before the first user message's content. The
   * remaining messages alternate user, assistant, user, ...
   */
  GEMMA("<end_of_turn>", "<bos>", "<start_of_turn>", "<end_of_turn>") {
    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
      check(messages);
      String prefix = "";
      int first = 0;
      if (messages.get(0).role().equals(Message.SYSTEM)) {
        prefix = messages.get(0).content() + "\n\n";
        first = 1;
      }
      checkAlternation("Gemma", messages, first);
      StringBuilder out = new StringBuilder("<bos>");
      for (int i = first; i < messages.size(); i++) {
        boolean user = (i - first) % 2 == 0;
        out.append("<start_of_turn>")
            .append(user ? "user" : "model")
            .append('\n')
            .append(i == first ? prefix : "")
            .append(strip(messages.get(i).content()))
            .append("<end_of_turn>\n");
      }
      if (addGenerationPrompt) {
        out.append("<start_of_turn>model\n");
      }
      return out.toString();
    }
  },

  /**
   * Mistral 7B Instruct v0.1 and v0.2 (the first tokenizer's format): {@code <s>}, then a user turn
   * {@code [INST] } + content + {@code [/INST]}, an assistant turn {@code } + content + {@code
   * </s>}; contents as given. A first system message, followed by a blank line ({@code \n\n}), goes
   * before the first user message's content. The remaining messages alternate user, assistant,
   * user, ... The generation prompt adds nothing: the answer follows {@code [/INST]}. Encoded with
   * special tokens parsed, each {@code [INST]} gets the space prefix, which makes Mistral's {@code
   * "▁[INST]"} tokens.
   */
  MISTRAL("</s>", "<s>", "</s>") {
    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
      check(messages);
      String system = null;
      int first = 0;
      if (messages.get(0).role().equals(Message.SYSTEM)) {
        system = messages.get(0).content();
        first = 1;
      }
      checkAlternation("Mistral", messages, first);
      StringBuilder out = new StringBuilder("<s>");
      for (int i = first; i < messages.size(); i++) {
        String content = messages.get(i).content();
        if ((i - first) % 2 == 0) {
          out.append("[INST] ")
              .append(i == first && system != null ? system + "\n\n" : "")
              .append(content)
              .append(" [/INST]");
        } else {
          out.append(' ').append(content).append("</s>");
        }
      }
      return out.toString();
    }
  };

  private final String endOfTurn;
  private final List<String> specialTokens;

  ChatTemplate(String endOfTurn, String... specialTokens) {
    this.endOfTurn = endOfTurn;
    this.specialTokens = List.of(specialTokens);
  }

  /**
   * Renders a conversation.
   *
   * @param addGenerationPrompt whether to end with the opening of an assistant turn, so the model
   *     answers next
   * @throws InvalidInputException for no messages, or (Llama 2) roles out of order
   */
  public abstract String render(List<Message> messages, boolean addGenerationPrompt);

  /** Marks, in a message's content, the start of text that must stay plain (a noncharacter). */
  private static final char PLAIN = '\uFDD0';

  /**
   * The token ids of {@link #render}, with the template's special tokens as their ids and every
   * message's content as plain text: a user who writes {@code <|im_end|>} gets the characters, not
   * the token (no prompt injection). For contents without special-token texts the ids are those of
   * {@code tokenizer.encode(render(messages, addGenerationPrompt), false, true)}. The noncharacter
   * U+FDD0 is removed from contents.
   */
  public int[] encode(
      dev.kiln.tokenizer.Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt) {
    java.util.List<String> specials = new java.util.ArrayList<>();
    for (int id = 0; id < tokenizer.vocabSize(); id++) {
      if (tokenizer.isSpecial(id)) {
        String text = tokenizer.tokenText(id);
        if (!text.isEmpty()) {
          specials.add(text);
        }
      }
    }
    List<Message> marked = new java.util.ArrayList<>();
    for (Message message : messages) {
      String content = message.content().replace(String.valueOf(PLAIN), "");
      for (String special : specials) {
        if (content.contains(special)) {
          content = content.replace(special, PLAIN + special);
        }
      }
      marked.add(new Message(message.role(), content));
    }
    String rendered = render(marked, addGenerationPrompt);
    StringBuilder text = new StringBuilder(rendered.length());
    java.util.BitSet plain = new java.util.BitSet();
    for (int i = 0; i < rendered.length(); i++) {
      char c = rendered.charAt(i);
      if (c == PLAIN) {
        plain.set(text.length());
      } else {
        text.append(c);
      }
    }
    return tokenizer.encode(text.toString(), false, i -> !plain.get(i));
  }

  /**
   * The special token that ends an assistant turn in this format ({@code </s>}, {@code <|eot_id|>},
   * {@code <|im_end|>}): its id belongs in the generation's stop tokens.
   */
  public String endOfTurn() {
    return endOfTurn;
  }

  /**
   * The special tokens this format writes out, each of which must be one token of the model's
   * vocabulary for the rendered text to mean what the format means (a vocabulary without them would
   * encode them as plain text); the end of turn is one of them. Llama 2's and Mistral's {@code
   * [INST]}, {@code [/INST]} and {@code <<SYS>>} are plain text and not listed; nor is Qwen 3's
   * {@code <think>}, which only earlier answers with reasoning write.
   */
  public List<String> specialTokens() {
    return specialTokens;
  }

  /**
   * Picks the format of a model from its {@code chat_template} (Jinja source, e.g. GGUF {@code
   * tokenizer.chat_template} or {@code tokenizer_config.json}) or, when that is missing or has no
   * known marker, from its special tokens. Markers, checked in this order: {@code
   * <|start_header_id|>} means Llama 3; {@code <start_of_turn>} Gemma; {@code <|im_start|>} with
   * {@code <think>} (or, in a template, {@code reasoning_content}) Qwen 3, else ChatML; {@code
   * [INST]} with {@code <<SYS>>} Llama 2, without it Mistral. (Llama 2's tokenizer has no {@code
   * [INST]} token; Mistral's later tokenizers do.) Mistral's later formats (v0.3 and on, with
   * {@code [INST]} as a token) are taken for {@link #MISTRAL}, whose spacing may differ from
   * theirs.
   *
   * @param jinjaTemplate the template source, or null
   * @param specialTokens the texts of the model's special (and user-defined) tokens (may be empty)
   * @throws KilnException naming the markers looked for, when neither source has one
   */
  public static ChatTemplate detect(String jinjaTemplate, Set<String> specialTokens) {
    if (jinjaTemplate != null) {
      ChatTemplate found = detect(jinjaTemplate::contains, true);
      if (found != null) {
        return found;
      }
    }
    if (specialTokens != null) {
      ChatTemplate found = detect(specialTokens::contains, false);
      if (found != null) {
        return found;
      }
    }
    throw new KilnException(
        "no known chat format: looked for <|start_header_id|> (Llama 3), <start_of_turn> (Gemma), "
            + "<|im_start|> (ChatML; Qwen 3 with <think>) and [INST] (Llama 2 with <<SYS>>, else Mistral) in "
            + (jinjaTemplate == null ? "the chat template (none given)" : "the chat template")
            + " and in the "
            + (specialTokens == null ? 0 : specialTokens.size())
            + " special tokens, found none");
  }

  private static ChatTemplate detect(Predicate<String> has, boolean template) {
    if (has.test("<|start_header_id|>")) {
      return LLAMA_3;
    }
    if (has.test("<start_of_turn>")) {
      return GEMMA;
    }
    if (has.test("<|im_start|>")) {
      return has.test("<think>") || (template && has.test("reasoning_content")) ? QWEN_3 : CHATML;
    }
    if (has.test("[INST]")) {
      return has.test("<<SYS>>") ? LLAMA_2 : MISTRAL;
    }
    return null;
  }

  private static void checkAlternation(String format, List<Message> messages, int first) {
    if (first == messages.size()) {
      throw new InvalidInputException(
          "a " + format + " conversation needs a user message after the system message");
    }
    for (int i = first; i < messages.size(); i++) {
      String expected = (i - first) % 2 == 0 ? Message.USER : Message.ASSISTANT;
      if (!messages.get(i).role().equals(expected)) {
        throw new InvalidInputException(
            format
                + " conversations go (system), user, assistant, user, ...: message "
                + i
                + " is "
                + messages.get(i).role()
                + " where "
                + expected
                + " should be");
      }
    }
  }

  /** {@code s} without the {@code c}s at its start (Python's {@code lstrip(c)}). */
  static String stripLeading(String s, char c) {
    int start = 0;
    while (start < s.length() && s.charAt(start) == c) {
      start++;
    }
    return s.substring(start);
  }

  /** {@code s} without the {@code c}s at its end (Python's {@code rstrip(c)}). */
  static String stripTrailing(String s, char c) {
    int end = s.length();
    while (end > 0 && s.charAt(end - 1) == c) {
      end--;
    }
    return s.substring(0, end);
  }

  private static void check(List<Message> messages) {
    if (messages == null || messages.isEmpty()) {
      throw new InvalidInputException("no messages to render");
    }
  }

  /**
   * Strips leading and trailing whitespace as Python's {@code str.strip()} (and Jinja's {@code
   * trim}) do.
   */
  static String strip(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && isPythonSpace(s.charAt(start))) {
      start++;
    }
    while (end > start && isPythonSpace(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(start, end);
  }

  private static boolean isPythonSpace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
  }
}
