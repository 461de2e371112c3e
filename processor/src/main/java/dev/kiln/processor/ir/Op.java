package dev.kiln.processor.ir;

import dev.kiln.weights.GlobalTensor;
import dev.kiln.weights.LayerTensor;
import dev.kiln.weights.TensorKind;
import java.util.ArrayList;
import java.util.List;

/**
 * One operation of the decoder's op graph, applied to every row. Ops are what the interpreter
 * evaluates one at a time; fusion passes group them into kernels.
 */
public sealed interface Op {
  List<Value> inputs();

  List<Value> outputs();

  /** A short human description, used in dumps and in the comment of the kernel that fuses it. */
  String describe();

  /** Token embedding lookup: {@code out = embed_tokens[token]}. */
  record Embed(Value out) implements Op {
    @Override public List<Value> inputs() { return List.of(); }
    @Override public List<Value> outputs() { return List.of(out); }
    @Override public String describe() { return "embedding lookup"; }
  }

  /** {@code out = in / sqrt(mean(in^2) + eps) * gain}. */
  record RmsNorm(Value in, TensorKind gain, Value out) implements Op {
    @Override public List<Value> inputs() { return List.of(in); }
    @Override public List<Value> outputs() { return List.of(out); }
    @Override public String describe() { return "RMSNorm(" + shortName(gain) + ")"; }
  }

  /** {@code out = in W^T (+ bias)}, W of shape (out, in). */
  record Linear(Value in, TensorKind weight, TensorKind bias, Value out) implements Op {
    @Override public List<Value> inputs() { return List.of(in); }
    @Override public List<Value> outputs() { return List.of(out); }
    @Override public String describe() {
      String name = weight == GlobalTensor.EMBED_TOKENS ? "lm_head (tied to embed_tokens)" : shortName(weight);
      return name + (bias != null ? " + bias" : "");
    }
  }

  /** Rotary position embedding of {@code target} (rotate-half), in place, at each row's position. */
  record Rope(Value target, boolean keyHeads) implements Op {
    @Override public List<Value> inputs() { return List.of(target); }
    @Override public List<Value> outputs() { return List.of(target); }
    @Override public String describe() { return "RoPE(" + target + ")"; }
  }

  /** Stores k and v at each row's position in the layer's KV cache. */
  record CacheWrite(Value keys, Value values) implements Op {
    @Override public List<Value> inputs() { return List.of(keys, values); }
    @Override public List<Value> outputs() { return List.of(); }
    @Override public String describe() { return "KV-cache write"; }
  }

  /** {@code scores = q . k_t / sqrt(HEAD_DIM)} per head over the attended cache positions. */
  record AttentionScores(Value q, Value scores, boolean causal) implements Op {
    @Override public List<Value> inputs() { return List.of(q); }
    @Override public List<Value> outputs() { return List.of(scores); }
    @Override public String describe() { return "scores q.k/sqrt(HEAD_DIM)" + (causal ? " with causal mask" : " (no mask)"); }
  }

  /** Softmax over each head's scores. */
  record Softmax(Value scores) implements Op {
    @Override public List<Value> inputs() { return List.of(scores); }
    @Override public List<Value> outputs() { return List.of(scores); }
    @Override public String describe() { return "softmax"; }
  }

  /** {@code out = sum_t scores_t v_t} per head over the attended cache positions. */
  record WeightedValues(Value scores, Value out) implements Op {
    @Override public List<Value> inputs() { return List.of(scores); }
    @Override public List<Value> outputs() { return List.of(out); }
    @Override public String describe() { return "weighted sum of V"; }
  }

  /** {@code out = in * sigmoid(in)}. */
  record Silu(Value in, Value out) implements Op {
    @Override public List<Value> inputs() { return List.of(in); }
    @Override public List<Value> outputs() { return List.of(out); }
    @Override public String describe() { return "SiLU(" + in + ")"; }
  }

  /** Elementwise {@code out = a * b}. */
  record Multiply(Value a, Value b, Value out) implements Op {
    @Override public List<Value> inputs() { return List.of(a, b); }
    @Override public List<Value> outputs() { return List.of(out); }
    @Override public String describe() { return a + " * " + b; }
  }

  /** Residual add {@code out = a + b}. */
  record Add(Value a, Value b, Value out) implements Op {
    @Override public List<Value> inputs() { return List.of(a, b); }
    @Override public List<Value> outputs() { return List.of(out); }
    @Override public String describe() { return "residual add"; }
  }

  private static String shortName(TensorKind kind) {
    String name = switch (kind) {
      case LayerTensor layer -> layer.suffix();
      case GlobalTensor global -> global.hfName();
    };
    List<String> parts = new ArrayList<>(List.of(name.split("\\.")));
    parts.removeIf(p -> p.equals("weight") || p.equals("self_attn") || p.equals("mlp") || p.equals("model"));
    return String.join(".", parts);
  }
}
