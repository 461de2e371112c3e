package dev.kiln.processor;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.Filer;
import javax.annotation.processing.Messager;
import javax.annotation.processing.ProcessingEnvironment;
import javax.annotation.processing.RoundEnvironment;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.Element;
import javax.lang.model.element.TypeElement;
import javax.lang.model.util.Elements;
import javax.lang.model.util.Types;
import javax.tools.FileObject;
import javax.tools.JavaFileManager;
import javax.tools.JavaFileObject;

/**
 * Runs {@link KilnProcessor} and records every source file it asks the {@link Filer} for.
 * compile-testing hides generated files once a compilation has failed, and javac runs no further
 * round after a processor's error; this is how a test sees what a processor generated in a
 * compilation that also has a bad spec.
 */
final class RecordingProcessor extends AbstractProcessor {
  private final KilnProcessor kiln = new KilnProcessor();
  private final List<String> createdSources = new ArrayList<>();

  /** Qualified names of the source files Kiln created, in order. */
  List<String> createdSources() {
    return List.copyOf(createdSources);
  }

  @Override
  public synchronized void init(ProcessingEnvironment env) {
    super.init(env);
    Filer filer = env.getFiler();
    Filer recording =
        new Filer() {
          @Override
          public JavaFileObject createSourceFile(CharSequence name, Element... originatingElements)
              throws IOException {
            createdSources.add(name.toString());
            return filer.createSourceFile(name, originatingElements);
          }

          @Override
          public JavaFileObject createClassFile(CharSequence name, Element... originatingElements)
              throws IOException {
            return filer.createClassFile(name, originatingElements);
          }

          @Override
          public FileObject createResource(
              JavaFileManager.Location location,
              CharSequence moduleAndPkg,
              CharSequence relativeName,
              Element... originatingElements)
              throws IOException {
            return filer.createResource(location, moduleAndPkg, relativeName, originatingElements);
          }

          @Override
          public FileObject getResource(
              JavaFileManager.Location location,
              CharSequence moduleAndPkg,
              CharSequence relativeName)
              throws IOException {
            return filer.getResource(location, moduleAndPkg, relativeName);
          }
        };
    kiln.init(
        new ProcessingEnvironment() {
          @Override
          public Map<String, String> getOptions() {
            return env.getOptions();
          }

          @Override
          public Messager getMessager() {
            return env.getMessager();
          }

          @Override
          public Filer getFiler() {
            return recording;
          }

          @Override
          public Elements getElementUtils() {
            return env.getElementUtils();
          }

          @Override
          public Types getTypeUtils() {
            return env.getTypeUtils();
          }

          @Override
          public SourceVersion getSourceVersion() {
            return env.getSourceVersion();
          }

          @Override
          public Locale getLocale() {
            return env.getLocale();
          }

          @Override
          public boolean isPreviewEnabled() {
            return env.isPreviewEnabled();
          }
        });
  }

  @Override
  public Set<String> getSupportedAnnotationTypes() {
    return kiln.getSupportedAnnotationTypes();
  }

  @Override
  public Set<String> getSupportedOptions() {
    return kiln.getSupportedOptions();
  }

  @Override
  public SourceVersion getSupportedSourceVersion() {
    return kiln.getSupportedSourceVersion();
  }

  @Override
  public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
    return kiln.process(annotations, round);
  }
}
