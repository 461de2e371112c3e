package dev.kiln.generate;

import dev.kiln.InvalidInputException;
import dev.kiln.KilnException;
import java.util.List;
import java.util.Set;

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
 *   <dd>{@code <|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>}
 *       {@code <|start_header_id|>user<|end_header_id|>\n\nU1<|eot_id|>}
 *       {@code <|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|>}
 *       {@code <|start_header_id|>user<|end_header_id|>\n\nU2<|eot_id|>}
 *       {@code <|start_header_id|>assistant<|end_header_id|>\n\n}
 *   <dt>{@link #CHATML}
 *   <dd>{@code <|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n}
 *       {@code <|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nU2<|im_end|>\n}
 *       {@code <|im_start|>assistant\n}
 * </dl>
 *
 * ({@code \n} is a newline; the lines of Llama 3 and ChatML are one string.)
 */
public enum ChatTemplate {
  /**
   * Llama 2 chat (Meta's {@code chat_completion}, HF {@code Llama-2-*-chat-hf}): an optional first
   * system message goes inside the first user turn as {@code <<SYS>>\n...\n<</SYS>>\n\n}; the
   * remaining messages alternate user, assistant, user, ... A user turn is
   * {@code <s>[INST] } + content + {@code  [/INST]}, an assistant turn {@code  } + content +
   * {@code  </s>}; each content (the first user's with the system block) is stripped of leading
   * and trailing whitespace (Python's {@code str.strip}). There is no assistant header, so the
   * generation prompt adds nothing: the answer follows {@code [/INST]}.
   */
  LLAMA_2("</s>") {
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
        throw new InvalidInputException("a Llama 2 conversation needs a user message after the system message");
      }
      StringBuilder out = new StringBuilder();
      for (int i = first; i < messages.size(); i++) {
        Message message = messages.get(i);
        String expected = (i - first) % 2 == 0 ? Message.USER : Message.ASSISTANT;
        if (!message.role().equals(expected)) {
          throw new InvalidInputException("Llama 2 conversations go (system), user, assistant, user, ...: message " + i
              + " is " + message.role() + " where " + expected + " should be");
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
   * Llama 3 and 3.x instruct (HF {@code Meta-Llama-3-8B-Instruct}): {@code <|begin_of_text|>},
   * then per message {@code <|start_header_id|>} + role + {@code <|end_header_id|>\n\n} + content
   * stripped of leading and trailing whitespace + {@code <|eot_id|>}; the generation prompt is an
   * assistant header, {@code <|start_header_id|>assistant<|end_header_id|>\n\n}. (Llama 3.1's
   * template also writes a default system preamble with knowledge-cutoff and current dates; that is
   * not reproduced: give such a system message yourself.)
   */
  LLAMA_3("<|eot_id|>") {
    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
      check(messages);
      StringBuilder out = new StringBuilder("<|begin_of_text|>");
      for (Message message : messages) {
        out.append("<|start_header_id|>").append(message.role()).append("<|end_header_id|>\n\n")
            .append(strip(message.content())).append("<|eot_id|>");
      }
      if (addGenerationPrompt) {
        out.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
      }
      return out.toString();
    }
  },

  /**
   * ChatML (OpenAI's format, used by Qwen, Hermes, ...): per message {@code <|im_start|>} + role +
   * {@code \n} + content as given + {@code <|im_end|>\n}; the generation prompt is
   * {@code <|im_start|>assistant\n}. No BOS, no stripping, and no default system message (Qwen's
   * templates add one when there is none; add it yourself for those).
   */
  CHATML("<|im_end|>") {
    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
      check(messages);
      StringBuilder out = new StringBuilder();
      for (Message message : messages) {
        out.append("<|im_start|>").append(message.role()).append('\n').append(message.content()).append("<|im_end|>\n");
      }
      if (addGenerationPrompt) {
        out.append("<|im_start|>assistant\n");
      }
      return out.toString();
    }
  };

  private final String endOfTurn;

  ChatTemplate(String endOfTurn) {
    this.endOfTurn = endOfTurn;
  }

  /**
   * Renders a conversation.
   *
   * @param addGenerationPrompt whether to end with the opening of an assistant turn, so the model
   *     answers next
   * @throws InvalidInputException for no messages, or (Llama 2) roles out of order
   */
  public abstract String render(List<Message> messages, boolean addGenerationPrompt);

  /**
   * The special token that ends an assistant turn in this format ({@code </s>}, {@code <|eot_id|>},
   * {@code <|im_end|>}): its id belongs in the generation's stop tokens.
   */
  public String endOfTurn() {
    return endOfTurn;
  }

  /**
   * Picks the format of a model from its {@code chat_template} (Jinja source, e.g. GGUF
   * {@code tokenizer.chat_template} or {@code tokenizer_config.json}) or, when that is missing or
   * has no known marker, from its special tokens: {@code <|start_header_id|>} means Llama 3,
   * {@code <|im_start|>} ChatML, {@code [INST]} Llama 2 (markers checked in that order). Mistral's
   * templates also contain {@code [INST]} and are taken for Llama 2, whose rendering differs from
   * theirs in details (Mistral puts no BOS before each turn and no space before an answer).
   *
   * @param jinjaTemplate the template source, or null
   * @param specialTokens the texts of the model's special tokens (may be empty)
   * @throws KilnException naming the markers looked for, when neither source has one
   */
  public static ChatTemplate detect(String jinjaTemplate, Set<String> specialTokens) {
    if (jinjaTemplate != null) {
      for (ChatTemplate template : DETECTION_ORDER) {
        if (jinjaTemplate.contains(template.marker())) {
          return template;
        }
      }
    }
    if (specialTokens != null) {
      for (ChatTemplate template : DETECTION_ORDER) {
        if (specialTokens.contains(template.marker())) {
          return template;
        }
      }
    }
    throw new KilnException("no known chat format: looked for <|start_header_id|> (Llama 3), <|im_start|> (ChatML) and [INST] "
        + "(Llama 2) in " + (jinjaTemplate == null ? "the chat template (none given)" : "the chat template")
        + " and in the " + (specialTokens == null ? 0 : specialTokens.size()) + " special tokens, found none");
  }

  private static final List<ChatTemplate> DETECTION_ORDER = List.of(LLAMA_3, CHATML, LLAMA_2);

  private String marker() {
    return switch (this) {
      case LLAMA_2 -> "[INST]";
      case LLAMA_3 -> "<|start_header_id|>";
      case CHATML -> "<|im_start|>";
    };
  }

  private static void check(List<Message> messages) {
    if (messages == null || messages.isEmpty()) {
      throw new InvalidInputException("no messages to render");
    }
  }

  /** Strips leading and trailing whitespace as Python's {@code str.strip()} (and Jinja's {@code trim}) do. */
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
