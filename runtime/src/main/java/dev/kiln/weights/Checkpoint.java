package dev.kiln.weights;

import dev.kiln.spec.SpecElement;
import java.util.Map;

/**
 * A model file Kiln reads (GGUF, a Hugging Face safetensors file or folder, a llama2.c checkpoint):
 * its tensors under Hugging Face names and layout ({@link TensorSource}; permuted q/k rows are
 * presented in Hugging Face order, see {@link WeightTensor#withRowOrder}), plus the spec values its
 * header states.
 */
public interface Checkpoint extends TensorSource {
  /**
   * The file format, for messages: {@code "GGUF v3"}, {@code "safetensors"}, {@code "llama2.c v0"}.
   */
  String format();

  /**
   * The spec elements this file states, with their values typed as in {@link
   * dev.kiln.spec.SpecDraft} ({@code Integer}, {@code Double}, {@code Boolean}, {@code Long}, enum
   * constants). Elements the file says nothing about are absent; a bare safetensors file states
   * none.
   */
  Map<SpecElement, Object> statedSpec();
}
