package dev.kiln.processor;

import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.JavaFile;
import dev.kiln.processor.spec.DeclaredSpec;
import dev.kiln.processor.spec.SpecReader;
import dev.kiln.spec.ModelSpec;
import dev.kiln.spec.SpecProblem;
import dev.kiln.spec.SpecRules;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.util.List;
import java.util.Set;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.TypeElement;
import javax.tools.Diagnostic;
import javax.tools.JavaFileObject;

/**
 * Kiln's annotation processor. For each type annotated {@code @ModelSpec}: read the spec, check
 * every rule (each problem an error on the offending annotation value; a bad spec stops only
 * itself), then run the {@link Pipeline} and write the generated classes.
 *
 * <p>Option {@code -Akiln.dumpIr=true} prints the kernel plan after each pass as notes.
 */
public final class KilnProcessor extends AbstractProcessor {
  static final String ANNOTATION = "dev.kiln.ModelSpec";
  static final String DUMP_IR_OPTION = "kiln.dumpIr";

  @Override
  public Set<String> getSupportedAnnotationTypes() {
    return Set.of(ANNOTATION);
  }

  @Override
  public Set<String> getSupportedOptions() {
    return Set.of(DUMP_IR_OPTION);
  }

  @Override
  public SourceVersion getSupportedSourceVersion() {
    return SourceVersion.latestSupported();
  }

  @Override
  public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
    TypeElement annotation = processingEnv.getElementUtils().getTypeElement(ANNOTATION);
    if (annotation == null) {
      return false;
    }
    for (Element element : round.getElementsAnnotatedWith(annotation)) {
      try {
        processSpec(element, mirrorOf(element, annotation));
      } catch (RuntimeException e) {
        StringWriter trace = new StringWriter();
        e.printStackTrace(new PrintWriter(trace));
        error(ProcessorMessage.INTERNAL.format(element, trace), element, null, null);
      }
    }
    return true;
  }

  private void processSpec(Element element, AnnotationMirror mirror) {
    if (element.getKind() != ElementKind.CLASS && element.getKind() != ElementKind.INTERFACE
        && element.getKind() != ElementKind.RECORD) {
      // ElementKind names read as words: "enum", "annotation type".
      String kind = element.getKind().toString().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
      error(ProcessorMessage.TARGET.format(kind, element), element, mirror, null);
      return;
    }
    TypeElement type = (TypeElement) element;
    var declared = new SpecReader(processingEnv.getElementUtils()).read(type, mirror);
    if (declared.isEmpty()) {
      return; // javac has reported the ill-typed value
    }
    List<SpecProblem> problems = SpecRules.check(declared.get().draft());
    for (SpecProblem problem : problems) {
      error(problem.text(), type, mirror, declared.get().explicitValues().get(problem.element()));
    }
    if (problems.isEmpty()) {
      generate(declared.get());
    }
  }

  private void generate(DeclaredSpec declared) {
    ModelSpec spec = declared.draft().resolve();
    ClassName specName = ClassName.get(declared.type());
    GeneratedNames names = new GeneratedNames(specName.packageName(), String.join("_", specName.simpleNames()),
        declared.type().getQualifiedName().toString());
    boolean dumpIr = Boolean.parseBoolean(processingEnv.getOptions().get(DUMP_IR_OPTION));
    Pipeline.Result result = Pipeline.run(spec, names,
        text -> {
          if (dumpIr) {
            processingEnv.getMessager().printMessage(Diagnostic.Kind.NOTE, "[Kiln/IR] " + text, declared.type());
          }
        });
    for (JavaFile file : result.files()) {
      try {
        String name = file.packageName().isEmpty() ? file.typeSpec().name() : file.packageName() + "." + file.typeSpec().name();
        JavaFileObject source = processingEnv.getFiler().createSourceFile(name, declared.type());
        try (Writer writer = source.openWriter()) {
          file.writeTo(writer);
        }
      } catch (IOException e) {
        error("[Kiln/Write] cannot write " + file.packageName() + "." + file.typeSpec().name() + ": " + e.getMessage(),
            declared.type(), declared.annotation(), null);
      }
    }
  }

  private static AnnotationMirror mirrorOf(Element element, TypeElement annotation) {
    for (AnnotationMirror mirror : element.getAnnotationMirrors()) {
      if (mirror.getAnnotationType().asElement().equals(annotation)) {
        return mirror;
      }
    }
    return null;
  }

  private void error(String message, Element element, AnnotationMirror mirror, AnnotationValue value) {
    var messager = processingEnv.getMessager();
    if (mirror == null) {
      messager.printMessage(Diagnostic.Kind.ERROR, message, element);
    } else if (value == null) {
      messager.printMessage(Diagnostic.Kind.ERROR, message, element, mirror);
    } else {
      messager.printMessage(Diagnostic.Kind.ERROR, message, element, mirror, value);
    }
  }
}
