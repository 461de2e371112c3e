package dev.kiln.processor.plan;

import dev.kiln.ir.Op;
import dev.kiln.ir.Value;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** A group of ops emitted as one loop nest (one method) by a backend. */
public record Kernel(List<Op> ops) {
  public Kernel {
    if (ops.isEmpty()) {
      throw new IllegalArgumentException("empty kernel");
    }
    ops = List.copyOf(ops);
  }

  public static Kernel of(Op op) {
    return new Kernel(List.of(op));
  }

  /** This kernel's ops followed by {@code other}'s. */
  public Kernel then(Kernel other) {
    List<Op> merged = new ArrayList<>(ops);
    merged.addAll(other.ops);
    return new Kernel(merged);
  }

  public boolean isSingle(Class<? extends Op> type) {
    return ops.size() == 1 && type.isInstance(ops.getFirst());
  }

  public Op single() {
    if (ops.size() != 1) {
      throw new IllegalStateException("not a single-op kernel: " + this);
    }
    return ops.getFirst();
  }

  public <T extends Op> List<T> opsOf(Class<T> type) {
    return ops.stream().filter(type::isInstance).map(type::cast).toList();
  }

  public boolean writes(Value value) {
    return ops.stream().anyMatch(op -> op.outputs().contains(value));
  }

  /** Values this kernel reads from outside (before any of its own ops wrote them). */
  public Set<Value> externalReads() {
    Set<Value> written = new HashSet<>();
    Set<Value> reads = new LinkedHashSet<>();
    for (Op op : ops) {
      for (Value in : op.inputs()) {
        if (!written.contains(in)) {
          reads.add(in);
        }
      }
      written.addAll(op.outputs());
    }
    return reads;
  }

  public boolean reads(Value value) {
    return externalReads().contains(value);
  }

  /** Where this kernel puts {@code value}, one of its results (see {@link Destination}). */
  public Destination destination(Value value) {
    if (value.equals(Value.LOGITS)) {
      return new Destination(Destination.Kind.LOGITS, value);
    }
    for (Op.CacheWrite write : opsOf(Op.CacheWrite.class)) {
      if (write.keys().equals(value)) {
        return new Destination(Destination.Kind.KEY_CACHE, value);
      }
      if (write.values().equals(value)) {
        return new Destination(Destination.Kind.VALUE_CACHE, value);
      }
    }
    for (Op.Add add : opsOf(Op.Add.class)) {
      if (add.b().equals(value) && add.a().equals(add.out())) {
        return new Destination(Destination.Kind.ADD_INTO, add.out());
      }
    }
    return new Destination(Destination.Kind.STORE, value);
  }

  /** The backend template this kernel fits, or null if none (a bug in the passes). */
  public KernelShape shape() {
    return KernelShapes.classify(this);
  }

  /** The generated method's name, e.g. {@code fusedRmsNormQkvRopeCacheWrite}. */
  public String name() {
    return KernelNames.name(this);
  }

  /**
   * What the kernel fuses, e.g. {@code RMSNorm(input_layernorm) -> q_proj, k_proj, v_proj ->
   * RoPE(q), RoPE(k)}.
   */
  public String fusionDescription() {
    List<String> stages = new ArrayList<>();
    List<String> linears = new ArrayList<>();
    for (Op op : ops) {
      if (op instanceof Op.Linear) {
        linears.add(op.describe());
        continue;
      }
      if (!linears.isEmpty()) {
        stages.add(String.join(", ", linears));
        linears.clear();
      }
      stages.add(op.describe());
    }
    if (!linears.isEmpty()) {
      stages.add(String.join(", ", linears));
    }
    return String.join(" -> ", stages);
  }

  @Override
  public String toString() {
    return ops.stream().map(Op::describe).collect(Collectors.joining(" | ", "[", "]"));
  }
}
