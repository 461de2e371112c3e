package dev.kiln.weights;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** A {@link TensorSource} of float32 arrays, for tests that build weights by hand. */
public final class InMemorySource implements TensorSource {
  private final Map<String, long[]> shapes = new LinkedHashMap<>();
  private final Map<String, float[]> values = new LinkedHashMap<>();
  private final Map<String, String> dtypes = new LinkedHashMap<>();

  /** Adds a float32 tensor; {@code values} is row-major and must match the shape. */
  public InMemorySource put(String name, long[] shape, float... values) {
    long count = 1;
    for (long d : shape) {
      count *= d;
    }
    if (count != values.length) {
      throw new IllegalArgumentException(
          name + ": " + values.length + " values for " + count + " elements");
    }
    shapes.put(name, shape.clone());
    this.values.put(name, values.clone());
    dtypes.put(name, "F32");
    return this;
  }

  /** Marks a tensor as stored in another element type (for messages). */
  public InMemorySource dtype(String name, String dtype) {
    dtypes.put(name, dtype);
    return this;
  }

  @Override
  public String description() {
    return "in-memory tensors";
  }

  @Override
  public Set<String> names() {
    return shapes.keySet();
  }

  @Override
  public long[] shape(String name) {
    return shapes.get(name).clone();
  }

  @Override
  public String dtypeName(String name) {
    return dtypes.get(name);
  }

  @Override
  public WeightTensor read(String name) {
    if (!dtypes.get(name).equals("F32")) {
      throw new WeightLoadException("in-memory tensor " + name + " is " + dtypes.get(name));
    }
    return FloatTensor.of(name, shapes.get(name), values.get(name));
  }
}
