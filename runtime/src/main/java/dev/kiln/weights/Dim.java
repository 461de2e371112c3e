package dev.kiln.weights;

import dev.kiln.spec.ResolvedSpec;
import java.util.function.ToIntFunction;

/**
 * A named dimension of a weight or activation; {@link #constantName()} is its constant in generated
 * code.
 */
public enum Dim {
  VOCAB("VOCAB_SIZE", ResolvedSpec::vocabSize),
  HIDDEN("HIDDEN_SIZE", ResolvedSpec::hiddenSize),
  INTERMEDIATE("INTERMEDIATE_SIZE", ResolvedSpec::intermediateSize),
  Q_DIM("Q_DIM", ResolvedSpec::qDim),
  KV_DIM("KV_DIM", ResolvedSpec::kvDim),
  HEAD_DIM("HEAD_DIM", ResolvedSpec::headDim);

  private final String constantName;
  private final ToIntFunction<ResolvedSpec> size;

  Dim(String constantName, ToIntFunction<ResolvedSpec> size) {
    this.constantName = constantName;
    this.size = size;
  }

  public String constantName() {
    return constantName;
  }

  public int size(ResolvedSpec spec) {
    return size.applyAsInt(spec);
  }
}
