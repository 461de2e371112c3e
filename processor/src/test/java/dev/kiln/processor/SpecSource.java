package dev.kiln.processor;

import static com.google.common.truth.Truth.assertWithMessage;

import com.google.testing.compile.JavaFileObjects;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.tools.JavaFileObject;

/**
 * The source of a test spec, {@code @ModelSpec} with one element per line, so a diagnostic's line
 * tells which element it is on. Starts from a small valid Llama; tests override, add or remove
 * elements and ask for the line of any of them.
 */
final class SpecSource {
  static final String PACKAGE = "test";

  private final String simpleName;
  private final Map<String, String> elements = new LinkedHashMap<>();
  private String declaration = "public interface %s {}";

  private SpecSource(String simpleName) {
    this.simpleName = simpleName;
  }

  /**
   * A valid Llama: vocab 100, hidden 256, intermediate 512, 2 layers, 4 heads (head dim 64); other
   * elements default.
   */
  static SpecSource llama(String simpleName) {
    return new SpecSource(simpleName)
        .set("vocabSize", "100")
        .set("hiddenSize", "256")
        .set("intermediateSize", "512")
        .set("numHiddenLayers", "2")
        .set("numAttentionHeads", "4");
  }

  /**
   * Sets (or adds, at the end) an element, written as Java source, e.g. {@code set("norm",
   * "NormKind.NONE")}.
   */
  SpecSource set(String element, String valueSource) {
    elements.put(element, valueSource);
    return this;
  }

  SpecSource remove(String element) {
    assertWithMessage("element %s of %s", element, simpleName)
        .that(elements.remove(element))
        .isNotNull();
    return this;
  }

  /**
   * The annotated declaration, {@code %s} standing for the simple name, e.g. {@code "public enum %s
   * {}"}.
   */
  SpecSource declaredAs(String template) {
    this.declaration = template;
    return this;
  }

  String simpleName() {
    return simpleName;
  }

  String qualifiedName() {
    return PACKAGE + "." + simpleName;
  }

  List<String> lines() {
    List<String> lines = new ArrayList<>();
    lines.add("package " + PACKAGE + ";");
    lines.add("");
    lines.add("import dev.kiln.*;");
    lines.add("");
    lines.add("@ModelSpec(");
    int i = 0;
    for (var entry : elements.entrySet()) {
      boolean last = ++i == elements.size();
      lines.add("    " + entry.getKey() + " = " + entry.getValue() + (last ? ")" : ","));
    }
    if (elements.isEmpty()) {
      lines.set(lines.size() - 1, "@ModelSpec()");
    }
    lines.add(declaration.formatted(simpleName));
    return lines;
  }

  JavaFileObject file() {
    return JavaFileObjects.forSourceLines(qualifiedName(), lines());
  }

  /** The 1-based line on which {@code element} is written. */
  int lineOf(String element) {
    return uniqueLine(element + " = ");
  }

  /** The 1-based line of the {@code @ModelSpec(} annotation itself. */
  int annotationLine() {
    return uniqueLine("@ModelSpec(");
  }

  private int uniqueLine(String prefix) {
    List<String> lines = lines();
    int found = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).strip().startsWith(prefix)) {
        assertWithMessage("two lines of %s start with %s", simpleName, prefix)
            .that(found)
            .isEqualTo(-1);
        found = i + 1;
      }
    }
    assertWithMessage("no line of %s starts with %s", simpleName, prefix)
        .that(found)
        .isNotEqualTo(-1);
    return found;
  }

  @Override
  public String toString() {
    return simpleName;
  }
}
