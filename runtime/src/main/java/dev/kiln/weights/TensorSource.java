package dev.kiln.weights;

import java.util.Set;

/**
 * Named tensors from somewhere (a checkpoint file); {@link Weights#from} checks them against a
 * spec.
 */
public interface TensorSource {
  /** Where the tensors come from, for messages (usually the file's path). */
  String description();

  /** Names of all tensors, in the source's order. */
  Set<String> names();

  /** The shape of a tensor this source has. */
  long[] shape(String name);

  /** The stored element type name of a tensor (e.g. {@code F16}), for messages. */
  String dtypeName(String name);

  /**
   * The tensor in its stored type, in Hugging Face's layout (a source whose file stores rows in
   * another order returns a reordered view), over the source's memory where possible.
   */
  WeightTensor read(String name);

  /** The tensor as float32: a view where the stored type is float32, a converted copy otherwise. */
  default FloatTensor readFloat(String name) {
    return read(name).toFloat();
  }
}
