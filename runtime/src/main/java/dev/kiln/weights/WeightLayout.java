package dev.kiln.weights;

import dev.kiln.spec.ResolvedSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The tensors a spec needs, in file order: embeddings, then each layer, then final norm and LM
 * head.
 */
public final class WeightLayout {
  private WeightLayout() {}

  public static List<TensorInfo> of(ResolvedSpec spec) {
    List<TensorInfo> tensors = new ArrayList<>();
    add(tensors, spec, GlobalTensor.EMBED_TOKENS, -1);
    for (int layer = 0; layer < spec.numHiddenLayers(); layer++) {
      for (LayerTensor kind : LayerTensor.values()) {
        add(tensors, spec, kind, layer);
      }
    }
    add(tensors, spec, GlobalTensor.NORM, -1);
    add(tensors, spec, GlobalTensor.LM_HEAD, -1);
    add(tensors, spec, GlobalTensor.LM_HEAD_BIAS, -1);
    return List.copyOf(tensors);
  }

  private static void add(List<TensorInfo> tensors, ResolvedSpec spec, TensorKind kind, int layer) {
    if (kind.presentIn(spec)) {
      tensors.add(new TensorInfo(kind, layer, kind.hfName(layer), kind.shape(spec)));
    }
  }
}
