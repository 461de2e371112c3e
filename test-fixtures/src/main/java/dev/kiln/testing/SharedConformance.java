package dev.kiln.testing;

import static com.google.common.truth.Truth.assertWithMessage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * The shared conformance models, in the folder the build names with {@code -Dkiln.conformance=DIR}
 * (relative paths resolve against the {@linkplain Repository#root() repository root}). Without the
 * property, tests that need them are skipped; with it, a missing or incomplete folder is a failure,
 * never a skip.
 *
 * <p>Each constant names the files a group of tests reads; {@link #root()} checks that every one of
 * its models holds each of them, so a wrong path fails at the first file it lacks.
 */
public record SharedConformance(List<String> models, List<String> files) {
  public static final String PROPERTY = "kiln.conformance";

  /** The seven models: three plain Llama ones, then the other architectures. */
  public static final List<String> MODELS =
      List.of("tiny", "seed", "gqa", "llama3rope", "qwen2", "qwen3", "gemma2");

  /** The plain Llama models, the only ones with a llama2.c checkpoint. */
  public static final List<String> LLAMA_MODELS = List.of("tiny", "seed", "gqa");

  /** Every model's {@code golden.json} (the decoder and command line tests). */
  public static final SharedConformance GOLDENS =
      new SharedConformance(MODELS, List.of("golden.json"));

  /**
   * The Llama models' GGUF files and Hugging Face F32 folder (the runtime's GGUF and tokenizer
   * tests).
   */
  public static final SharedConformance LLAMA_GGUF =
      new SharedConformance(
          LLAMA_MODELS,
          List.of(
              "gguf/model-f32.gguf",
              "gguf/model-f16.gguf",
              "hf/model.safetensors",
              "hf/config.json"));

  /**
   * The Llama models' llama2.c file and Hugging Face F32 and F16 folders (the runtime's checkpoint
   * tests).
   */
  public static final SharedConformance LLAMA_CHECKPOINTS =
      new SharedConformance(
          LLAMA_MODELS,
          List.of(
              "llama2c/model.bin",
              "hf/config.json",
              "hf/model.safetensors",
              "hf_f16/config.json",
              "hf_f16/model.safetensors"));

  /** {@code gqa}'s F32 GGUF file (the Spark tests' larger model). */
  public static final SharedConformance GQA_GGUF =
      new SharedConformance(List.of("gqa"), List.of("gguf/model-f32.gguf"));

  public SharedConformance {
    models = List.copyOf(models);
    files = List.copyOf(files);
  }

  /**
   * The folder if the build names one; fails if it names one that lacks a file of {@link #files()}
   * for one of {@link #models()} (is the path right?).
   */
  public Optional<Path> root() {
    String property = System.getProperty(PROPERTY, "").trim();
    if (property.isEmpty()) {
      return Optional.empty();
    }
    Path root = Repository.resolve(property);
    for (String model : models) {
      for (String file : files) {
        Path path = root.resolve(model).resolve(file);
        assertWithMessage("-D%s=%s: expected %s (is the path right?)", PROPERTY, property, path)
            .that(Files.isRegularFile(path))
            .isTrue();
      }
    }
    return Optional.of(root);
  }

  /** One model's folder; skips the test when the build names no conformance folder. */
  public Path model(String name) {
    Optional<Path> root = root();
    Assumptions.assumeTrue(
        root.isPresent(),
        "-D" + PROPERTY + "=DIR not given: shared conformance models not checked");
    return root.get().resolve(name);
  }
}
