package dev.kiln.generate;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.InvalidInputException;
import dev.kiln.KilnException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Chat formats rendered character for character, and detection from templates and special tokens. */
class ChatTemplateTest {
  private static final List<Message> CONVERSATION = List.of(
      Message.system("You are terse."),
      Message.user("Hi"),
      Message.assistant("Hello!"),
      Message.user("Name a color."));

  @Test
  void llama2() {
    assertThat(ChatTemplate.LLAMA_2.render(CONVERSATION, true)).isEqualTo(
        "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Name a color. [/INST]");
    assertThat(ChatTemplate.LLAMA_2.render(CONVERSATION, false)).isEqualTo(ChatTemplate.LLAMA_2.render(CONVERSATION, true));
    assertThat(ChatTemplate.LLAMA_2.render(List.of(Message.user("  Hi\n")), true)).isEqualTo("<s>[INST] Hi [/INST]");
    assertThat(ChatTemplate.LLAMA_2.render(List.of(Message.user("Hi"), Message.assistant(" Yo \n")), false))
        .isEqualTo("<s>[INST] Hi [/INST] Yo </s>");
    // the system block and the first user message are stripped as one
    assertThat(ChatTemplate.LLAMA_2.render(List.of(Message.system("  S  "), Message.user("  U  ")), true))
        .isEqualTo("<s>[INST] <<SYS>>\n  S  \n<</SYS>>\n\n  U [/INST]");
    assertThat(ChatTemplate.LLAMA_2.endOfTurn()).isEqualTo("</s>");
  }

  @Test
  void llama2RolesMustAlternate() {
    var twoUsers = assertThrows(InvalidInputException.class,
        () -> ChatTemplate.LLAMA_2.render(List.of(Message.user("a"), Message.user("b")), true));
    assertThat(twoUsers).hasMessageThat()
        .isEqualTo("Llama 2 conversations go (system), user, assistant, user, ...: message 1 is user where assistant should be");
    var systemLater = assertThrows(InvalidInputException.class,
        () -> ChatTemplate.LLAMA_2.render(List.of(Message.user("a"), Message.system("b")), true));
    assertThat(systemLater).hasMessageThat().contains("message 1 is system where assistant should be");
    var onlySystem = assertThrows(InvalidInputException.class,
        () -> ChatTemplate.LLAMA_2.render(List.of(Message.system("s")), true));
    assertThat(onlySystem).hasMessageThat().isEqualTo("a Llama 2 conversation needs a user message after the system message");
  }

  @Test
  void llama3() {
    assertThat(ChatTemplate.LLAMA_3.render(CONVERSATION, true)).isEqualTo(
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
    assertThat(ChatTemplate.CHATML.render(CONVERSATION, true)).isEqualTo(
        "<|im_start|>system\nYou are terse.<|im_end|>\n"
            + "<|im_start|>user\nHi<|im_end|>\n"
            + "<|im_start|>assistant\nHello!<|im_end|>\n"
            + "<|im_start|>user\nName a color.<|im_end|>\n"
            + "<|im_start|>assistant\n");
    assertThat(ChatTemplate.CHATML.render(List.of(Message.user(" Hi ")), false)).isEqualTo("<|im_start|>user\n Hi <|im_end|>\n");
    assertThat(ChatTemplate.CHATML.endOfTurn()).isEqualTo("<|im_end|>");
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

  private static final String LLAMA2_JINJA = "{% if messages[0]['role'] == 'system' %}...{{ bos_token + '[INST] ' + content.strip()"
      + " + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}";
  private static final String LLAMA3_JINJA = "{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
      + "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% endfor %}";
  private static final String CHATML_JINJA = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
      + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";

  @Test
  void detectsFromTheTemplate() {
    assertThat(ChatTemplate.detect(LLAMA2_JINJA, Set.of())).isEqualTo(ChatTemplate.LLAMA_2);
    assertThat(ChatTemplate.detect(LLAMA3_JINJA, Set.of())).isEqualTo(ChatTemplate.LLAMA_3);
    assertThat(ChatTemplate.detect(CHATML_JINJA, Set.of())).isEqualTo(ChatTemplate.CHATML);
    // the template decides over the special tokens
    assertThat(ChatTemplate.detect(CHATML_JINJA, Set.of("<|start_header_id|>"))).isEqualTo(ChatTemplate.CHATML);
  }

  @Test
  void detectsFromSpecialTokens() {
    assertThat(ChatTemplate.detect(null, Set.of("<|begin_of_text|>", "<|start_header_id|>", "<|eot_id|>")))
        .isEqualTo(ChatTemplate.LLAMA_3);
    assertThat(ChatTemplate.detect(null, Set.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"))).isEqualTo(ChatTemplate.CHATML);
    assertThat(ChatTemplate.detect(null, Set.of("<s>", "</s>", "[INST]", "[/INST]"))).isEqualTo(ChatTemplate.LLAMA_2);
    assertThat(ChatTemplate.detect("{{ messages }}", Set.of("<|im_start|>"))).isEqualTo(ChatTemplate.CHATML);
  }

  @Test
  void noKnownMarkerIsAClearError() {
    var e = assertThrows(KilnException.class, () -> ChatTemplate.detect(null, Set.of("<s>", "</s>", "<unk>")));
    assertThat(e).hasMessageThat().isEqualTo("no known chat format: looked for <|start_header_id|> (Llama 3), <|im_start|> "
        + "(ChatML) and [INST] (Llama 2) in the chat template (none given) and in the 3 special tokens, found none");
    var gemma = assertThrows(KilnException.class,
        () -> ChatTemplate.detect("{{'<start_of_turn>' + role + '\\n'}}", Set.of("<start_of_turn>")));
    assertThat(gemma).hasMessageThat().contains("in the chat template and in the 1 special tokens");
  }
}
