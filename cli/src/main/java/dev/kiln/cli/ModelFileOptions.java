package dev.kiln.cli;

import dev.kiln.InvalidInputException;
import dev.kiln.generate.ChatTemplate;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * The options {@code run} and {@code serve} share: the model file, its tokenizer and its chat
 * format.
 */
final class ModelFileOptions {
  @Option(
      names = {"-m", "--model"},
      required = true,
      paramLabel = "FILE",
      description = "The model file.")
  Path model;

  @Option(
      names = "--tokenizer",
      paramLabel = "PATH",
      description = "Tokenizer, if the model file has none beside it.")
  Path tokenizerPath;

  @Option(
      names = "--chat-template",
      paramLabel = "NAME",
      description =
          "llama2, llama3, chatml, qwen3, gemma or mistral"
              + " (default: chosen from the model's tokenizer).")
  String chatTemplate;

  /** The chat format {@code --chat-template} names. */
  static ChatTemplate template(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "llama2", "llama-2" -> ChatTemplate.LLAMA_2;
      case "llama3", "llama-3" -> ChatTemplate.LLAMA_3;
      case "chatml" -> ChatTemplate.CHATML;
      case "qwen3", "qwen-3" -> ChatTemplate.QWEN_3;
      case "gemma" -> ChatTemplate.GEMMA;
      case "mistral" -> ChatTemplate.MISTRAL;
      default ->
          throw new InvalidInputException(
              "--chat-template " + name + ": use llama2, llama3, chatml, qwen3, gemma or mistral");
    };
  }
}
