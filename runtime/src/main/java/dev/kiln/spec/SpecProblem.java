package dev.kiln.spec;

/**
 * One thing wrong with a spec: the element to blame, the stable message tag, and the text.
 *
 * @param element the annotation element the problem is reported on
 * @param message the rule that found it
 * @param text the full message, starting with the rule's tag, e.g. {@code [Spec/KvHeads] ...}
 */
public record SpecProblem(SpecElement element, SpecMessage message, String text) {
  @Override
  public String toString() {
    return element.elementName() + ": " + text;
  }
}
