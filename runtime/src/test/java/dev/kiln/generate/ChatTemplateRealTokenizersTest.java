package dev.kiln.generate;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.kiln.KilnException;
import dev.kiln.testing.SharedTokenizers;
import dev.kiln.tokenizer.TokenType;
import dev.kiln.tokenizer.Tokenizer;
import dev.kiln.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Chat renders against the references of the real tokenizers ({@code -Dkiln.tokenizers=DIR}, see
 * {@link SharedTokenizers}): each model's {@code chat-public.jsonl} holds, per conversation of
 * {@code chats-public.jsonl}, the text its chat template renders with a generation prompt and the
 * ids of that text. {@code mistral7b}'s package has no template: its references use Llama 2's, with
 * Mistral's {@code <s>} and {@code </s>}.
 */
class ChatTemplateRealTokenizersTest {
  @TempDir Path temp;

  private static List<Message> messages(JsonArray array) {
    List<Message> messages = new ArrayList<>();
    for (JsonElement element : array) {
      JsonObject message = element.getAsJsonObject();
      messages.add(
          new Message(message.get("role").getAsString(), message.get("content").getAsString()));
    }
    return messages;
  }

  private static int[] ints(JsonArray array) {
    return IntStream.range(0, array.size()).map(i -> array.get(i).getAsInt()).toArray();
  }

  /** The texts of the control, unknown and user-defined tokens (what detection looks at). */
  static Set<String> specialTexts(Tokenizer t) {
    Set<String> texts = new HashSet<>();
    for (int id = 0; id < t.vocabSize(); id++) {
      if (t.isSpecial(id) || t.tokenType(id) == TokenType.USER_DEFINED) {
        texts.add(t.tokenText(id));
      }
    }
    return texts;
  }

  @ParameterizedTest
  @CsvSource({"mistral7b, LLAMA_2", "qwen3, QWEN_3", "llama3, LLAMA_3", "gemma3, GEMMA"})
  void rendersAndEncodesAsTheReferences(String model, ChatTemplate template) throws IOException {
    Path dir = SharedTokenizers.model(model);
    Tokenizer t = SharedTokenizers.load(dir, temp, Tokenizers::fromHfFolder);
    List<JsonObject> chats =
        SharedTokenizers.readJsonLines(dir.resolveSibling("chats-public.jsonl"));
    List<JsonObject> refs = SharedTokenizers.readJsonLines(dir.resolve("chat-public.jsonl"));
    assertThat(refs).hasSize(chats.size());
    for (int i = 0; i < refs.size(); i++) {
      JsonObject ref = refs.get(i);
      String what =
          model + " " + ref.get("id").getAsString() + " (" + ref.get("name").getAsString() + ")";
      assertWithMessage("%s: conversation", what)
          .that(ref.get("id"))
          .isEqualTo(chats.get(i).get("id"));
      List<Message> messages = messages(chats.get(i).getAsJsonArray("messages"));
      assertWithMessage("%s: messages", what)
          .that(messages(ref.getAsJsonArray("messages")))
          .isEqualTo(messages);
      String text = template.render(messages, ref.get("add_generation_prompt").getAsBoolean());
      assertWithMessage("%s: text", what).that(text).isEqualTo(ref.get("text").getAsString());
      // Rendered text is encoded with special tokens parsed and no BOS added (the text has it).
      assertWithMessage("%s: ids", what)
          .that(t.encode(text, false, true))
          .isEqualTo(ints(ref.getAsJsonArray("ids")));
    }
    // The end of a turn is one special token, for the stop tokens.
    assertThat(t.id(template.endOfTurn())).isPresent();
    assertThat(t.isSpecial(t.id(template.endOfTurn()).getAsInt())).isTrue();
    // Every special token the format writes is one token of the vocabulary (kiln run --chat checks
    // it).
    for (String token : template.specialTokens()) {
      assertWithMessage("%s: %s", model, token).that(t.id(token)).isPresent();
    }
  }

  @ParameterizedTest
  @CsvSource({"qwen3, QWEN_3", "llama3, LLAMA_3", "gemma3, GEMMA"})
  void detectsTheFormat(String model, ChatTemplate template) throws IOException {
    Tokenizer t =
        SharedTokenizers.load(SharedTokenizers.model(model), temp, Tokenizers::fromHfFolder);
    assertThat(t.chatTemplate()).isPresent();
    assertThat(ChatTemplate.detect(t.chatTemplate().get(), Set.of())).isEqualTo(template);
    assertThat(ChatTemplate.detect(null, specialTexts(t))).isEqualTo(template);
  }

  @Test
  void mistralHasNoTemplateToDetect() throws IOException {
    Tokenizer t =
        SharedTokenizers.load(SharedTokenizers.model("mistral7b"), temp, Tokenizers::fromHfFolder);
    assertThat(t.chatTemplate()).isEmpty();
    assertThrows(KilnException.class, () -> ChatTemplate.detect(null, specialTexts(t)));
  }

  /**
   * Mistral's own format with its tokenizer: the ids are those of Mistral's reference layout
   * (mistral-common's first tokenizer): BOS, then each user turn encoded on its own as {@code
   * "[INST] " + content + " [/INST]"} with the space prefix, each answer encoded on its own (with
   * the prefix) and followed by EOS.
   */
  @Test
  void mistralFormatEncodesAsMistralsLayout() throws IOException {
    Path dir = SharedTokenizers.model("mistral7b");
    Tokenizer t = SharedTokenizers.load(dir, temp, Tokenizers::fromHfFolder);
    for (JsonObject chat :
        SharedTokenizers.readJsonLines(dir.resolveSibling("chats-public.jsonl"))) {
      List<Message> messages = messages(chat.getAsJsonArray("messages"));
      List<Integer> expected = new ArrayList<>(List.of(t.bos().getAsInt()));
      String system =
          messages.get(0).role().equals(Message.SYSTEM) ? messages.get(0).content() : null;
      boolean firstUser = true;
      for (Message message : messages) {
        if (message.role().equals(Message.USER)) {
          String content = (firstUser && system != null ? system + "\n\n" : "") + message.content();
          IntStream.of(t.encode("[INST] " + content + " [/INST]")).forEach(expected::add);
          firstUser = false;
        } else if (message.role().equals(Message.ASSISTANT)) {
          IntStream.of(t.encode(message.content())).forEach(expected::add);
          expected.add(t.eos().getAsInt());
        }
      }
      int[] actual = t.encode(ChatTemplate.MISTRAL.render(messages, true), false, true);
      assertWithMessage("%s", chat.get("id"))
          .that(actual)
          .isEqualTo(expected.stream().mapToInt(Integer::intValue).toArray());
      assertThat(t.tokenText(actual[1])).isEqualTo("▁["); // "[INST]" with the space prefix
    }
  }
}
