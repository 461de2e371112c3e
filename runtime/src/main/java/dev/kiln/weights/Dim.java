package dev.kiln.weights;

import dev.kiln.spec.ModelSpec;
import java.util.function.ToIntFunction;

/** A named dimension of a weight or activation; {@link #constantName()} is its constant in generated code. */
public enum Dim {
  VOCAB("VOCAB_SIZE", ModelSpec::vocabSize),
  HIDDEN("HIDDEN_SIZE", ModelSpec::hiddenSize),
  INTERMEDIATE("INTERMEDIATE_SIZE", ModelSpec::intermediateSize),
  Q_DIM("Q_DIM", ModelSpec::qDim),
  KV_DIM("KV_DIM", ModelSpec::kvDim),
  HEAD_DIM("HEAD_DIM", ModelSpec::headDim);

  private final String constantName;
  private final ToIntFunction<ModelSpec> size;

  Dim(String constantName, ToIntFunction<ModelSpec> size) {
    this.constantName = constantName;
    this.size = size;
  }

  public String constantName() {
    return constantName;
  }

  public int size(ModelSpec spec) {
    return size.applyAsInt(spec);
  }
}
