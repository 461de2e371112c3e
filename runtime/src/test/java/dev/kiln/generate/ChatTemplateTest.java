package dev.kiln.generate;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.InvalidInputException;
import dev.kiln.KilnException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Chat formats rendered character for character, and detection from templates and special tokens.
 */
class ChatTemplateTest {
  private static final List<Message> CONVERSATION =
      List.of(
          Message.system("You are terse."),
          Message.user("Hi"),
          Message.assistant("Hello!"),
          Message.user("Name a color."));

  @Test
  void llama2() {
    assertThat(ChatTemplate.LLAMA_2.render(CONVERSATION, true))
        .isEqualTo(
            "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Name a color. [/INST]");
    assertThat(ChatTemplate.LLAMA_2.render(CONVERSATION, false))
        .isEqualTo(ChatTemplate.LLAMA_2.render(CONVERSATION, true));
    assertThat(ChatTemplate.LLAMA_2.render(List.of(Message.user("  Hi\n")), true))
        .isEqualTo("<s>[INST] Hi [/INST]");
    assertThat(
            ChatTemplate.LLAMA_2.render(
                List.of(Message.user("Hi"), Message.assistant(" Yo \n")), false))
        .isEqualTo("<s>[INST] Hi [/INST] Yo </s>");
    // the system block and the first user message are stripped as one
    assertThat(
            ChatTemplate.LLAMA_2.render(
                List.of(Message.system("  S  "), Message.user("  U  ")), true))
        .isEqualTo("<s>[INST] <<SYS>>\n  S  \n<</SYS>>\n\n  U [/INST]");
    assertThat(ChatTemplate.LLAMA_2.endOfTurn()).isEqualTo("</s>");
  }

  @Test
  void llama2RolesMustAlternate() {
    var twoUsers =
        assertThrows(
            InvalidInputException.class,
            () -> ChatTemplate.LLAMA_2.render(List.of(Message.user("a"), Message.user("b")), true));
    assertThat(twoUsers)
        .hasMessageThat()
        .isEqualTo(
            "Llama 2 conversations go (system), user, assistant, user, ...: message 1 is user where assistant should be");
    var systemLater =
        assertThrows(
            InvalidInputException.class,
            () ->
                ChatTemplate.LLAMA_2.render(List.of(Message.user("a"), Message.system("b")), true));
    assertThat(systemLater)
        .hasMessageThat()
        .contains("message 1 is system where assistant should be");
    var onlySystem =
        assertThrows(
            InvalidInputException.class,
            () -> ChatTemplate.LLAMA_2.render(List.of(Message.system("s")), true));
    assertThat(onlySystem)
        .hasMessageThat()
        .isEqualTo("a Llama 2 conversation needs a user message after the system message");
  }

  @Test
  void llama3() {
    assertThat(ChatTemplate.LLAMA_3.render(CONVERSATION, true))
        .isEqualTo(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nName a color.<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    assertThat(ChatTemplate.LLAMA_3.render(List.of(Message.user(" Hi \n")), false))
        .isEqualTo("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
    assertThat(ChatTemplate.LLAMA_3.render(List.of(new Message("ipython", "42")), false))
        .isEqualTo("<|begin_of_text|><|start_header_id|>ipython<|end_header_id|>\n\n42<|eot_id|>");
    assertThat(ChatTemplate.LLAMA_3.endOfTurn()).isEqualTo("<|eot_id|>");
  }

  @Test
  void chatMl() {
    assertThat(ChatTemplate.CHATML.render(CONVERSATION, true))
        .isEqualTo(
            "<|im_start|>system\nYou are terse.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\nName a color.<|im_end|>\n"
                + "<|im_start|>assistant\n");
    assertThat(ChatTemplate.CHATML.render(List.of(Message.user(" Hi ")), false))
        .isEqualTo("<|im_start|>user\n Hi <|im_end|>\n");
    assertThat(ChatTemplate.CHATML.endOfTurn()).isEqualTo("<|im_end|>");
  }

  /** The three conversations of the shared folder's {@code chats-public.jsonl}. */
  static final List<Message> SYSTEM_USER =
      List.of(
          Message.system("You are a helpful assistant."),
          Message.user("What is the capital of France?"));

  static final List<Message> USER_ASSISTANT_USER =
      List.of(
          Message.user("Hi!"),
          Message.assistant("Hello! How can I help you today?"),
          Message.user("Tell me a joke."));
  static final List<Message> SYSTEM_USER_ASSISTANT_USER =
      List.of(
          Message.system("Be brief."),
          Message.user("What is 2+2?"),
          Message.assistant("4."),
          Message.user("And 3+3?"));

  @Test
  void gemma() {
    // As Gemma 3's chat_template renders them (the system message goes into the first user turn).
    assertThat(ChatTemplate.GEMMA.render(SYSTEM_USER, true))
        .isEqualTo(
            "<bos><start_of_turn>user\nYou are a helpful "
                + "assistant.\n\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n");
    assertThat(ChatTemplate.GEMMA.render(USER_ASSISTANT_USER, true))
        .isEqualTo(
            "<bos><start_of_turn>user\nHi!<end_of_turn>\n"
                + "<start_of_turn>model\nHello! How can I help you today?<end_of_turn>\n"
                + "<start_of_turn>user\nTell me a joke.<end_of_turn>\n<start_of_turn>model\n");
    assertThat(ChatTemplate.GEMMA.render(SYSTEM_USER_ASSISTANT_USER, true))
        .isEqualTo(
            "<bos><start_of_turn>user\nBe brief."
                + "\n\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n4.<end_of_turn>\n"
                + "<start_of_turn>user\nAnd 3+3?<end_of_turn>\n<start_of_turn>model\n");
    // The generation prompt is the model's header; contents are stripped, the system message is
    // not.
    assertThat(
            ChatTemplate.GEMMA.render(
                List.of(Message.system("  S  "), Message.user("  U  \n"), Message.assistant(" A ")),
                false))
        .isEqualTo(
            "<bos><start_of_turn>user\n  S  \n\nU<end_of_turn>\n<start_of_turn>model\nA<end_of_turn>\n");
    assertThat(ChatTemplate.GEMMA.render(List.of(Message.user("U")), false))
        .isEqualTo("<bos><start_of_turn>user\nU<end_of_turn>\n");
    assertThat(ChatTemplate.GEMMA.render(CONVERSATION, true))
        .isEqualTo(
            "<bos><start_of_turn>user\nYou are terse.\n\nHi"
                + "<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nName a color.<end_of_turn>\n"
                + "<start_of_turn>model\n");
    assertThat(ChatTemplate.GEMMA.endOfTurn()).isEqualTo("<end_of_turn>");
  }

  @Test
  void gemmaRolesMustAlternate() {
    var twoUsers =
        assertThrows(
            InvalidInputException.class,
            () -> ChatTemplate.GEMMA.render(List.of(Message.user("a"), Message.user("b")), true));
    assertThat(twoUsers)
        .hasMessageThat()
        .isEqualTo(
            "Gemma conversations go (system), user, assistant, user, ...: message 1 is user where assistant should be");
    var assistantFirst =
        assertThrows(
            InvalidInputException.class,
            () ->
                ChatTemplate.GEMMA.render(
                    List.of(Message.system("s"), Message.assistant("a")), true));
    assertThat(assistantFirst)
        .hasMessageThat()
        .contains("message 1 is assistant where user should be");
    // Gemma's template would silently drop a lone system message.
    var onlySystem =
        assertThrows(
            InvalidInputException.class,
            () -> ChatTemplate.GEMMA.render(List.of(Message.system("s")), true));
    assertThat(onlySystem)
        .hasMessageThat()
        .isEqualTo("a Gemma conversation needs a user message after the system message");
  }

  @Test
  void qwen3() {
    // Without thinking in the messages, Qwen 3's template renders ChatML (qwen3/chat-public.jsonl).
    assertThat(ChatTemplate.QWEN_3.render(SYSTEM_USER, true))
        .isEqualTo(
            "<|im_start|>system\nYou are a helpful assistant."
                + "<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n");
    assertThat(ChatTemplate.QWEN_3.render(USER_ASSISTANT_USER, true))
        .isEqualTo(
            "<|im_start|>user\nHi!<|im_end|>\n"
                + "<|im_start|>assistant\nHello! How can I help you today?<|im_end|>\n<|im_start|>user\nTell me a joke.<|im_end|>\n"
                + "<|im_start|>assistant\n");
    assertThat(ChatTemplate.QWEN_3.render(SYSTEM_USER_ASSISTANT_USER, true))
        .isEqualTo(
            "<|im_start|>system\nBe brief."
                + "<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4.<|im_end|>\n"
                + "<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n");
    for (var conversation : List.of(SYSTEM_USER, USER_ASSISTANT_USER, SYSTEM_USER_ASSISTANT_USER)) {
      assertThat(ChatTemplate.QWEN_3.render(conversation, true))
          .isEqualTo(ChatTemplate.CHATML.render(conversation, true));
      assertThat(ChatTemplate.QWEN_3.render(conversation, false))
          .isEqualTo(ChatTemplate.CHATML.render(conversation, false));
    }
    assertThat(ChatTemplate.QWEN_3.endOfTurn()).isEqualTo("<|im_end|>");
  }

  // The expected texts below are what Qwen 3's chat_template gives with Python's str methods
  // (Jinja2, as transformers renders it). @huggingface/jinja 0.5.13 ignores the argument of
  // lstrip('\n') / rstrip('\n') / strip('\n') and strips all white space; the cases where that
  // shows say so.

  @Test
  void qwen3DropsTheThinkingOfEarlierAnswers() {
    List<Message> conversation =
        List.of(
            Message.user("Hi"),
            Message.assistant("<think>\nplan\n</think>\n\nHello!"),
            Message.user("Joke?"));
    assertThat(ChatTemplate.QWEN_3.render(conversation, true))
        .isEqualTo(
            "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nJoke?<|im_end|>\n<|im_start|>assistant\n");
    // The answer after the last query keeps its thinking; when it is the last message it always
    // gets a think block, empty if it had none.
    assertThat(ChatTemplate.QWEN_3.render(conversation.subList(0, 2), false))
        .isEqualTo(
            "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n<think>\nplan\n</think>\n\nHello!<|im_end|>\n");
    assertThat(
            ChatTemplate.QWEN_3.render(
                List.of(Message.user("Hi"), Message.assistant("Hello!")), true))
        .isEqualTo(
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello!<|im_end|>\n"
                + "<|im_start|>assistant\n");
    // Only newlines are stripped around the answer and the reasoning; text before <think> goes.
    assertThat(
            ChatTemplate.QWEN_3.render(
                List.of(
                    Message.user("Q"),
                    Message.assistant("pre\n<think>\n\n a \n\n</think>" + "\n\n\n B \n"),
                    Message.user("Q2")),
                false))
        .isEqualTo(
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
                + " B \n<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n"); // @huggingface/jinja: "B
    // \n"
    assertThat(
            ChatTemplate.QWEN_3.render(
                List.of(
                    Message.user("Q"),
                    Message.assistant("\n<think>\n\n a \n\n</think>" + "\n\n B")),
                false))
        .isEqualTo(
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n a \n</think>\n\n"
                + " B<|im_end|>\n"); // @huggingface/jinja: "<think>\na\n</think>\n\nB"
    // Several think blocks: the reasoning is the last <think> before the first </think>, the answer
    // what follows the last </think>.
    assertThat(
            ChatTemplate.QWEN_3.render(
                List.of(
                    Message.user("Q"), Message.assistant("<think>r1</think><think>r2</think>ans")),
                false))
        .isEqualTo(
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nr1\n</think>\n\nans<|im_end|>\n");
  }

  @Test
  void qwen3ToolResultsAndTheCurrentQuery() {
    // Tool results are not queries: the answers after the last real user message keep their
    // reasoning (when they have some), and consecutive tool messages make one user turn.
    List<Message> conversation =
        List.of(
            Message.system("S"),
            Message.user("Hi"),
            Message.assistant("<think>\na\n</think>\n\nB"),
            Message.user("<tool_response>x</tool_response>"),
            Message.assistant("<think>r1</think>ans"),
            new Message("tool", "t1"),
            new Message("tool", "t2"),
            Message.assistant("no think"),
            Message.system("late system"));
    assertThat(ChatTemplate.QWEN_3.render(conversation, true))
        .isEqualTo(
            "<|im_start|>system\nS<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n<think>\na\n</think>\n\nB<|im_end|>\n"
                + "<|im_start|>user\n<tool_response>x</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n<think>\nr1\n</think>\n\nans<|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\nt1\n</tool_response>\n<tool_response>\nt2\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\nno think<|im_end|>\n"
                + "<|im_start|>system\nlate system<|im_end|>\n"
                + "<|im_start|>assistant\n");
    var other =
        assertThrows(
            InvalidInputException.class,
            () ->
                ChatTemplate.QWEN_3.render(
                    List.of(Message.user("a"), new Message("ipython", "b")), true));
    assertThat(other)
        .hasMessageThat()
        .isEqualTo(
            "Qwen 3 conversations have roles system, user, assistant and tool: message 1 is ipython");
  }

  @Test
  void mistral() {
    assertThat(ChatTemplate.MISTRAL.render(SYSTEM_USER, true))
        .isEqualTo(
            "<s>[INST] You are a helpful assistant.\n\nWhat is the capital of France? [/INST]");
    assertThat(ChatTemplate.MISTRAL.render(USER_ASSISTANT_USER, true))
        .isEqualTo(
            "<s>[INST] Hi! [/INST] Hello! How can I help you today?</s>[INST] Tell me a joke. [/INST]");
    assertThat(ChatTemplate.MISTRAL.render(SYSTEM_USER_ASSISTANT_USER, true))
        .isEqualTo("<s>[INST] Be brief.\n\nWhat is 2+2? [/INST] 4.</s>[INST] And 3+3? [/INST]");
    // No assistant header: the generation prompt adds nothing. Contents are as given.
    assertThat(ChatTemplate.MISTRAL.render(USER_ASSISTANT_USER, false))
        .isEqualTo(ChatTemplate.MISTRAL.render(USER_ASSISTANT_USER, true));
    assertThat(
            ChatTemplate.MISTRAL.render(
                List.of(Message.user(" U "), Message.assistant(" A ")), false))
        .isEqualTo("<s>[INST]  U  [/INST]  A </s>");
    assertThat(ChatTemplate.MISTRAL.endOfTurn()).isEqualTo("</s>");
    var twoUsers =
        assertThrows(
            InvalidInputException.class,
            () -> ChatTemplate.MISTRAL.render(List.of(Message.user("a"), Message.user("b")), true));
    assertThat(twoUsers)
        .hasMessageThat()
        .isEqualTo(
            "Mistral conversations go (system), user, assistant, user, ...: message 1 is user where assistant should be");
    var onlySystem =
        assertThrows(
            InvalidInputException.class,
            () -> ChatTemplate.MISTRAL.render(List.of(Message.system("s")), true));
    assertThat(onlySystem)
        .hasMessageThat()
        .isEqualTo("a Mistral conversation needs a user message after the system message");
  }

  /**
   * Each format's special tokens are the ones its renders write, the end of turn among them; plain
   * text markers such as {@code [INST]} are not listed.
   */
  @Test
  void specialTokensAreTheOnesTheFormatWrites() {
    assertThat(ChatTemplate.LLAMA_2.specialTokens()).containsExactly("<s>", "</s>");
    assertThat(ChatTemplate.LLAMA_3.specialTokens())
        .containsExactly(
            "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>");
    assertThat(ChatTemplate.CHATML.specialTokens()).containsExactly("<|im_start|>", "<|im_end|>");
    assertThat(ChatTemplate.QWEN_3.specialTokens()).containsExactly("<|im_start|>", "<|im_end|>");
    assertThat(ChatTemplate.GEMMA.specialTokens())
        .containsExactly("<bos>", "<start_of_turn>", "<end_of_turn>");
    assertThat(ChatTemplate.MISTRAL.specialTokens()).containsExactly("<s>", "</s>");
    for (ChatTemplate template : ChatTemplate.values()) {
      assertThat(template.specialTokens()).contains(template.endOfTurn());
      String text = template.render(SYSTEM_USER_ASSISTANT_USER, true);
      for (String token : template.specialTokens()) {
        assertWithMessage("%s writes %s", template, token).that(text).contains(token);
      }
    }
  }

  @Test
  void noMessages() {
    for (ChatTemplate template : ChatTemplate.values()) {
      var e = assertThrows(InvalidInputException.class, () -> template.render(List.of(), true));
      assertThat(e).hasMessageThat().isEqualTo("no messages to render");
    }
    assertThrows(InvalidInputException.class, () -> Message.user(null));
    assertThrows(InvalidInputException.class, () -> new Message("", "x"));
  }

  private static final String LLAMA2_JINJA =
      "{% if messages[0]['role'] == 'system' %}{% set system_message = '<<SYS>>\\n' + "
          + "messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}...{{ bos_token + '[INST] ' + content.strip()"
          + " + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}";
  private static final String MISTRAL_JINJA =
      "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
          + "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + "
          + "eos_token}}{% endif %}{% endfor %}";
  private static final String GEMMA_JINJA =
      "{{ bos_token }}{% for message in loop_messages %}{{ '<start_of_turn>' + role + "
          + "'\\n' + (first_user_prefix if loop.first else \"\") }}{{ message['content'] | trim }}{{ '<end_of_turn>\\n' }}{% endfor %}";
  private static final String QWEN3_JINJA =
      "{%- for message in messages %}{%- if message.role == \"user\" %}{{- '<|im_start|>' + "
          + "message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- elif message.role == \"assistant\" %}"
          + "{%- if message.reasoning_content is defined %}{%- set reasoning_content = message.reasoning_content %}{%- endif %}"
          + "{%- if '</think>' in message.content %}...{%- endif %}{%- endif %}{%- endfor %}";
  private static final String LLAMA3_JINJA =
      "{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
          + "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% endfor %}";
  private static final String CHATML_JINJA =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
          + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";

  @Test
  void detectsFromTheTemplate() {
    assertThat(ChatTemplate.detect(LLAMA2_JINJA, Set.of())).isEqualTo(ChatTemplate.LLAMA_2);
    assertThat(ChatTemplate.detect(LLAMA3_JINJA, Set.of())).isEqualTo(ChatTemplate.LLAMA_3);
    assertThat(ChatTemplate.detect(CHATML_JINJA, Set.of())).isEqualTo(ChatTemplate.CHATML);
    assertThat(ChatTemplate.detect(MISTRAL_JINJA, Set.of())).isEqualTo(ChatTemplate.MISTRAL);
    assertThat(ChatTemplate.detect(GEMMA_JINJA, Set.of())).isEqualTo(ChatTemplate.GEMMA);
    assertThat(ChatTemplate.detect(QWEN3_JINJA, Set.of())).isEqualTo(ChatTemplate.QWEN_3);
    assertThat(
            ChatTemplate.detect(
                CHATML_JINJA.replace("message['content']", "message['reasoning_content']"),
                Set.of()))
        .isEqualTo(ChatTemplate.QWEN_3);
    // the template decides over the special tokens
    assertThat(ChatTemplate.detect(CHATML_JINJA, Set.of("<|start_header_id|>")))
        .isEqualTo(ChatTemplate.CHATML);
    assertThat(ChatTemplate.detect(CHATML_JINJA, Set.of("<|im_start|>", "<think>")))
        .isEqualTo(ChatTemplate.CHATML);
    assertThat(ChatTemplate.detect(LLAMA2_JINJA, Set.of("[INST]"))).isEqualTo(ChatTemplate.LLAMA_2);
  }

  @Test
  void detectsFromSpecialTokens() {
    assertThat(
            ChatTemplate.detect(
                null, Set.of("<|begin_of_text|>", "<|start_header_id|>", "<|eot_id|>")))
        .isEqualTo(ChatTemplate.LLAMA_3);
    assertThat(ChatTemplate.detect(null, Set.of("<|endoftext|>", "<|im_start|>", "<|im_end|>")))
        .isEqualTo(ChatTemplate.CHATML);
    // Llama 2's tokenizer has no [INST] token; Mistral's later ones (v0.3 and on) have it.
    assertThat(ChatTemplate.detect(null, Set.of("<s>", "</s>", "[INST]", "[/INST]")))
        .isEqualTo(ChatTemplate.MISTRAL);
    assertThat(ChatTemplate.detect("{{ messages }}", Set.of("<|im_start|>")))
        .isEqualTo(ChatTemplate.CHATML);
    assertThat(
            ChatTemplate.detect(null, Set.of("<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>")))
        .isEqualTo(ChatTemplate.GEMMA);
    // Qwen 3's <think> is a user-defined (not special) token: give those too.
    assertThat(
            ChatTemplate.detect(
                null, Set.of("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>")))
        .isEqualTo(ChatTemplate.QWEN_3);
    // "reasoning_content" is a marker of templates only.
    assertThat(ChatTemplate.detect(null, Set.of("<|im_start|>", "reasoning_content")))
        .isEqualTo(ChatTemplate.CHATML);
  }

  @Test
  void noKnownMarkerIsAClearError() {
    var e =
        assertThrows(
            KilnException.class, () -> ChatTemplate.detect(null, Set.of("<s>", "</s>", "<unk>")));
    assertThat(e)
        .hasMessageThat()
        .isEqualTo(
            "no known chat format: looked for <|start_header_id|> (Llama 3), "
                + "<start_of_turn> (Gemma), <|im_start|> (ChatML; Qwen 3 with <think>) and [INST] (Llama 2 with <<SYS>>, else "
                + "Mistral) in the chat template (none given) and in the 3 special tokens, found none");
    var phi3 =
        assertThrows(
            KilnException.class,
            () ->
                ChatTemplate.detect(
                    "{{'<|user|>' + message['content'] + '<|end|>'}}", Set.of("<|user|>")));
    assertThat(phi3).hasMessageThat().contains("in the chat template and in the 1 special tokens");
  }
}
