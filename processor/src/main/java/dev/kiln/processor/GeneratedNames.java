package dev.kiln.processor;

import com.palantir.javapoet.ClassName;

/**
 * Names of the classes generated for one spec type {@code X}: {@code XDecoder}, {@code XWeights},
 * {@code XAttention} (and {@code XTornadoDecoder}) in X's package. A nested spec type {@code
 * Outer.X} gives {@code Outer_XDecoder} and so on.
 *
 * @param specType the annotated type's qualified name, for comments
 */
public record GeneratedNames(String packageName, String baseName, String specType) {
  public ClassName decoder() {
    return ClassName.get(packageName, baseName + "Decoder");
  }

  public ClassName weights() {
    return ClassName.get(packageName, baseName + "Weights");
  }

  public ClassName attention() {
    return ClassName.get(packageName, baseName + "Attention");
  }

  public ClassName tornadoDecoder() {
    return ClassName.get(packageName, baseName + "TornadoDecoder");
  }
}
