package dev.kiln.generate;

import dev.kiln.InvalidInputException;

/**
 * One turn of a conversation: a role ({@code system}, {@code user}, {@code assistant}, or another
 * role a template allows) and its text.
 */
public record Message(String role, String content) {
  public static final String SYSTEM = "system";
  public static final String USER = "user";
  public static final String ASSISTANT = "assistant";

  public Message {
    if (role == null || role.isEmpty()) {
      throw new InvalidInputException("a message needs a role (system, user, assistant, ...)");
    }
    if (content == null) {
      throw new InvalidInputException("the " + role + " message has no content (null)");
    }
  }

  public static Message system(String content) {
    return new Message(SYSTEM, content);
  }

  public static Message user(String content) {
    return new Message(USER, content);
  }

  public static Message assistant(String content) {
    return new Message(ASSISTANT, content);
  }
}
