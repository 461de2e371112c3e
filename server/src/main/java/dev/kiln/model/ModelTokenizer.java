package dev.kiln.model;

import dev.kiln.KilnException;
import dev.kiln.tokenizer.Tokenizer;
import dev.kiln.tokenizer.Tokenizers;
import dev.kiln.weights.Checkpoint;
import dev.kiln.weights.GgufFile;
import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the tokenizer that goes with a model file. */
public final class ModelTokenizer {
  private ModelTokenizer() {}

  /**
   * The tokenizer for {@code file}: {@code override} if given (a GGUF file, a Hugging Face folder
   * or its tokenizer.json, a llama2.c tokenizer.bin); else the GGUF file's own, the Hugging Face
   * folder's {@code tokenizer.json}, the {@code tokenizer.bin} beside a llama2.c checkpoint, or the
   * {@code tokenizer.json} beside a .safetensors file.
   */
  public static Tokenizer of(Path file, Checkpoint checkpoint, Path override, int vocabSize) {
    if (override != null) {
      return open(override, vocabSize);
    }
    if (checkpoint instanceof GgufFile gguf) {
      return Tokenizers.fromGguf(gguf);
    }
    if (Files.isDirectory(file) && Files.isRegularFile(file.resolve("tokenizer.json"))) {
      return Tokenizers.fromHfFolder(file);
    }
    Path parent = Files.isDirectory(file) ? file : file.toAbsolutePath().getParent();
    String name = file.getFileName().toString();
    if (name.endsWith(".bin") && Files.isRegularFile(parent.resolve("tokenizer.bin"))) {
      return Tokenizers.fromLlama2c(parent.resolve("tokenizer.bin"), vocabSize);
    }
    if (name.endsWith(".safetensors") && Files.isRegularFile(parent.resolve("tokenizer.json"))) {
      return Tokenizers.fromHfFolder(parent);
    }
    throw new KilnException(
        "no tokenizer found for "
            + file
            + "; give one with --tokenizer PATH, or feed token ids"
            + " with --prompt-ids");
  }

  private static Tokenizer open(Path path, int vocabSize) {
    if (Files.isDirectory(path)) {
      return Tokenizers.fromHfFolder(path);
    }
    String name = path.getFileName().toString();
    if (name.equals("tokenizer.json")) {
      return Tokenizers.fromHfFolder(path.toAbsolutePath().getParent());
    }
    if (name.endsWith(".gguf")) {
      return Tokenizers.fromGguf(path);
    }
    if (name.endsWith(".bin")) {
      return Tokenizers.fromLlama2c(path, vocabSize);
    }
    throw new KilnException(
        "--tokenizer "
            + path
            + ": give a .gguf file, a Hugging Face folder or tokenizer.json, or a"
            + " llama2.c tokenizer.bin");
  }
}
