package dev.kiln.weights;

import dev.kiln.spec.ResolvedSpec;
import java.util.List;

/**
 * A kind of weight tensor: its Hugging Face name, its field name in generated code, its shape, when
 * it exists.
 */
public sealed interface TensorKind permits GlobalTensor, LayerTensor {
  /** The Hugging Face name; {@code layer} is ignored for global tensors. */
  String hfName(int layer);

  /** The short name used for fields in generated weights classes, e.g. {@code qProj}. */
  String fieldName();

  /**
   * The dimensions, outermost first (a projection's weight is {@code (out, in)}, as in PyTorch).
   */
  List<Dim> dims();

  /** Whether a model with this spec has this tensor. */
  boolean presentIn(ResolvedSpec spec);

  default long[] shape(ResolvedSpec spec) {
    return dims().stream().mapToLong(d -> d.size(spec)).toArray();
  }
}
