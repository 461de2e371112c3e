package dev.kiln.ir;

import dev.kiln.spec.ResolvedSpec;
import java.util.List;

/**
 * The op graph of a decoder: the prologue (embedding), the body of one layer (repeated {@code
 * numHiddenLayers} times, layer tensors indexed by the layer), the epilogue (final norm and LM
 * head). Ops of a section run in order, each over all rows.
 */
public record Graph(ResolvedSpec spec, List<Op> prologue, List<Op> layer, List<Op> epilogue) {
  public Graph {
    prologue = List.copyOf(prologue);
    layer = List.copyOf(layer);
    epilogue = List.copyOf(epilogue);
  }
}
