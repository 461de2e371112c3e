package dev.kiln.tools;

import dev.kiln.KilnException;
import dev.kiln.weights.Checkpoint;
import dev.kiln.weights.ModelFiles;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Prints the {@code @ModelSpec} annotation for model files, ready to paste into a build: {@code
 * java -cp kiln-runtime.jar dev.kiln.tools.PrintSpec model.gguf}.
 */
public final class PrintSpec {
  private PrintSpec() {}

  public static void main(String[] args) {
    if (args.length == 0) {
      System.err.println(
          "usage: PrintSpec FILE...  (GGUF, Hugging Face folder or .safetensors, llama2.c .bin)");
      System.exit(2);
    }
    int status = 0;
    for (String arg : args) {
      try {
        System.out.print(describe(Path.of(arg)));
      } catch (KilnException e) {
        System.err.println("kiln: " + e.getMessage());
        status = 1;
      }
    }
    System.exit(status);
  }

  /** The file's format and tensor types as a comment, then the annotation. */
  public static String describe(Path file) {
    Checkpoint checkpoint = ModelFiles.open(file);
    return describe(checkpoint, ModelFiles.deriveSpec(checkpoint));
  }

  /**
   * {@link #describe(Path)} for an open file and a spec derived from it (with values supplied for
   * what the file does not state: {@link ModelFiles#deriveSpec(Checkpoint, java.util.Map)}).
   */
  public static String describe(Checkpoint checkpoint, ModelFiles.DerivedSpec derived) {
    Map<String, Integer> types = new TreeMap<>();
    for (String name : checkpoint.names()) {
      types.merge(checkpoint.dtypeName(name), 1, Integer::sum);
    }
    var out = new StringBuilder();
    out.append("// ")
        .append(checkpoint.description())
        .append(": ")
        .append(checkpoint.format())
        .append(", ")
        .append(checkpoint.names().size())
        .append(" tensors ")
        .append(types)
        .append('\n');
    out.append(derived.annotationSource()).append('\n');
    return out.toString();
  }
}
