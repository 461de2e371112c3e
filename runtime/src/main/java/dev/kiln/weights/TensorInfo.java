package dev.kiln.weights;

import java.util.Arrays;

/**
 * One tensor a spec needs: its kind, its layer (-1 for global tensors), its name and shape.
 *
 * @param layer the layer index, or -1
 */
public record TensorInfo(TensorKind kind, int layer, String name, long[] shape) {
  public TensorInfo {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  public long elementCount() {
    return Arrays.stream(shape).reduce(1L, Math::multiplyExact);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t
        && t.kind == kind
        && t.layer == layer
        && t.name.equals(name)
        && Arrays.equals(t.shape, shape);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + " " + Arrays.toString(shape);
  }
}
