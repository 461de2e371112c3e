package dev.kiln.processor;

import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.JavaFile;
import dev.kiln.processor.backend.GeneratedFile;
import dev.kiln.processor.backend.tornado.TornadoBackend;
import dev.kiln.processor.spec.DeclaredSpec;
import dev.kiln.processor.spec.SpecReader;
import dev.kiln.spec.ResolvedSpec;
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
import javax.tools.StandardLocation;

/**
 * Kiln's annotation processor. For each type annotated {@code @ModelSpec}: read the spec, check
 * every rule (each problem an error on the offending annotation value; a bad spec stops only
 * itself), then run the {@link Pipeline} and write the generated classes.
 *
 * <p>Besides the Java backend's classes it always generates {@code XTornadoDecoder}: compiled when
 * TornadoVM's API and {@code kiln-tornado} are on the class path, else kept as a resource under
 * {@link #TORNADO_RESOURCE_ROOT}. A plan TornadoVM cannot run gets a warning saying why.
 *
 * <p>Option {@code -Akiln.dumpIr=true} prints the kernel plan after each pass as notes; {@code
 * -Akiln.tornado=resource} keeps the TornadoVM decoder a resource even with TornadoVM present.
 */
public final class KilnProcessor extends AbstractProcessor {
  static final String ANNOTATION = "dev.kiln.ModelSpec";
  static final String DUMP_IR_OPTION = "kiln.dumpIr";

  /**
   * {@code auto} (default): compile the TornadoVM decoder where TornadoVM is on the class path;
   * {@code resource}: never.
   */
  static final String TORNADO_OPTION = "kiln.tornado";

  /** Where the TornadoVM decoders' sources go, in the class output, when they are not compiled. */
  public static final String TORNADO_RESOURCE_ROOT = "META-INF/kiln/tornado/";

  @Override
  public Set<String> getSupportedAnnotationTypes() {
    return Set.of(ANNOTATION);
  }

  @Override
  public Set<String> getSupportedOptions() {
    return Set.of(DUMP_IR_OPTION, TORNADO_OPTION);
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
    if (element.getKind() != ElementKind.CLASS
        && element.getKind() != ElementKind.INTERFACE
        && element.getKind() != ElementKind.RECORD) {
      // ElementKind names read as words: "enum", "annotation type".
      String kind =
          element.getKind().toString().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
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
    ResolvedSpec spec = declared.draft().resolve();
    ClassName specName = ClassName.get(declared.type());
    GeneratedNames names =
        new GeneratedNames(
            specName.packageName(),
            String.join("_", specName.simpleNames()),
            declared.type().getQualifiedName().toString());
    boolean dumpIr = Boolean.parseBoolean(processingEnv.getOptions().get(DUMP_IR_OPTION));
    Pipeline.Result result =
        Pipeline.run(
            spec,
            names,
            text -> {
              if (dumpIr) {
                processingEnv
                    .getMessager()
                    .printMessage(Diagnostic.Kind.NOTE, "[Kiln/IR] " + text, declared.type());
              }
            });
    for (JavaFile file : result.files()) {
      writeSource(file, declared);
    }
    if (result.tornado() == null) {
      processingEnv
          .getMessager()
          .printMessage(
              Diagnostic.Kind.WARNING,
              "[Kiln/Tornado] no TornadoVM decoder for "
                  + declared.type().getQualifiedName()
                  + ": "
                  + result.tornadoProblem(),
              declared.type(),
              declared.annotation());
    } else if (tornadoOnClassPath()) {
      writeSource(result.tornado().file(), declared);
    } else {
      writeTornadoResource(result.tornado().file(), declared);
    }
  }

  private void writeSource(JavaFile file, DeclaredSpec declared) {
    try {
      JavaFileObject source =
          processingEnv.getFiler().createSourceFile(qualifiedName(file), declared.type());
      try (Writer writer = source.openWriter()) {
        writer.write(GeneratedFile.format(file));
      }
    } catch (IOException e) {
      error(
          "[Kiln/Write] cannot write " + qualifiedName(file) + ": " + e.getMessage(),
          declared.type(),
          declared.annotation(),
          null);
    }
  }

  /**
   * Without TornadoVM on the class path the TornadoVM decoder's source is kept as a resource,
   * {@code META-INF/kiln/tornado/<package path>/XTornadoDecoder.java}, rather than compiled.
   */
  private void writeTornadoResource(JavaFile file, DeclaredSpec declared) {
    String path = TORNADO_RESOURCE_ROOT + qualifiedName(file).replace('.', '/') + ".java";
    try {
      var resource =
          processingEnv
              .getFiler()
              .createResource(StandardLocation.CLASS_OUTPUT, "", path, declared.type());
      try (Writer writer = resource.openWriter()) {
        writer.write(GeneratedFile.format(file));
      }
    } catch (IOException e) {
      error(
          "[Kiln/Write] cannot write " + path + ": " + e.getMessage(),
          declared.type(),
          declared.annotation(),
          null);
    }
  }

  /**
   * Whether TornadoVM's API and Kiln's support for it are visible, so the TornadoVM decoder can
   * compile.
   */
  private boolean tornadoOnClassPath() {
    String option = processingEnv.getOptions().getOrDefault(TORNADO_OPTION, "auto");
    if (option.equals("resource")) {
      return false;
    }
    return TornadoBackend.requiredTypes().stream()
        .allMatch(name -> processingEnv.getElementUtils().getTypeElement(name) != null);
  }

  private static String qualifiedName(JavaFile file) {
    return file.packageName().isEmpty()
        ? file.typeSpec().name()
        : file.packageName() + "." + file.typeSpec().name();
  }

  private static AnnotationMirror mirrorOf(Element element, TypeElement annotation) {
    for (AnnotationMirror mirror : element.getAnnotationMirrors()) {
      if (mirror.getAnnotationType().asElement().equals(annotation)) {
        return mirror;
      }
    }
    return null;
  }

  private void error(
      String message, Element element, AnnotationMirror mirror, AnnotationValue value) {
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
