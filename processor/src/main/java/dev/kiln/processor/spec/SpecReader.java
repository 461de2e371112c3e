package dev.kiln.processor.spec;

import dev.kiln.spec.SpecDraft;
import dev.kiln.spec.SpecElement;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;
import javax.lang.model.util.Elements;

/**
 * Reads a {@code @ModelSpec} annotation into a {@link DeclaredSpec}; the only code that touches
 * javac's model.
 */
public final class SpecReader {
  private final Elements elements;

  public SpecReader(Elements elements) {
    this.elements = elements;
  }

  /**
   * The declared spec, or empty when a value does not even have its element's type (javac has
   * reported that error already).
   */
  public Optional<DeclaredSpec> read(TypeElement type, AnnotationMirror annotation) {
    Map<String, AnnotationValue> withDefaults =
        byName(elements.getElementValuesWithDefaults(annotation));
    Map<String, AnnotationValue> explicit = byName(annotation.getElementValues());
    Map<SpecElement, AnnotationValue> explicitValues = new EnumMap<>(SpecElement.class);
    for (SpecElement element : SpecElement.values()) {
      AnnotationValue value = explicit.get(element.elementName());
      if (value != null) {
        explicitValues.put(element, value);
      }
    }
    Map<SpecElement, Object> values = new EnumMap<>(SpecElement.class);
    for (SpecElement element : SpecElement.values()) {
      Object value = convert(element, withDefaults.get(element.elementName()));
      if (value == null) {
        return Optional.empty();
      }
      values.put(element, value);
    }
    return Optional.of(
        new DeclaredSpec(type, annotation, SpecDraft.read(values::get), explicitValues));
  }

  private static Map<String, AnnotationValue> byName(
      Map<? extends ExecutableElement, ? extends AnnotationValue> values) {
    Map<String, AnnotationValue> result = new HashMap<>();
    values.forEach((method, value) -> result.put(method.getSimpleName().toString(), value));
    return result;
  }

  /**
   * Boxed primitives as they are, enum constants as the runtime enum's constant; null for a value
   * of the wrong type.
   */
  private static Object convert(SpecElement element, AnnotationValue value) {
    if (value == null) {
      // A required element left out: javac reports that itself; read it as 0 so the other rules
      // still run.
      return element.type() == int.class ? 0 : null;
    }
    Object raw = value.getValue();
    if (raw instanceof VariableElement constant && element.type().isEnum()) {
      String name = constant.getSimpleName().toString();
      return Arrays.stream(element.type().getEnumConstants())
          .filter(c -> ((Enum<?>) c).name().equals(name))
          .findFirst()
          .orElse(null);
    }
    return element.accepts(raw) ? raw : null;
  }
}
