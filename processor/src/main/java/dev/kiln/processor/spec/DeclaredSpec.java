package dev.kiln.processor.spec;

import dev.kiln.spec.SpecDraft;
import dev.kiln.spec.SpecElement;
import java.util.Map;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.TypeElement;

/**
 * A {@code @ModelSpec} as written in source: the draft of its values, and where each explicitly
 * written value is, so problems can be reported on it.
 */
public record DeclaredSpec(
    TypeElement type,
    AnnotationMirror annotation,
    SpecDraft draft,
    Map<SpecElement, AnnotationValue> explicitValues) {}
