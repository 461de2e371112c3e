package dev.kiln.ir;

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

  /**
   * Token embedding lookup: {@code out = embed_tokens[token]}, times {@code (float)
   * sqrt(HIDDEN_SIZE)} when {@code scaled} (Gemma).
   */
  record Embed(Value out, boolean scaled) implements Op {
    public Embed(Value out) {
      this(out, false);
    }

    @Override
    public List<Value> inputs() {
      return List.of();
    }

    @Override
    public List<Value> outputs() {
      return List.of(out);
    }

    @Override
    public String describe() {
      return "embedding lookup" + (scaled ? " x sqrt(HIDDEN_SIZE)" : "");
    }
  }

  /**
   * {@code out = in / sqrt(mean(in^2) + eps) * gain} over a whole row, or {@code * (1 + gain)} when
   * {@code unitOffset} (Gemma). {@code in} and {@code out} may be the same value (a norm in place).
   */
  record RmsNorm(Value in, TensorKind gain, Value out, boolean unitOffset) implements Op {
    public RmsNorm(Value in, TensorKind gain, Value out) {
      this(in, gain, out, false);
    }

    @Override
    public List<Value> inputs() {
      return List.of(in);
    }

    @Override
    public List<Value> outputs() {
      return List.of(out);
    }

    @Override
    public String describe() {
      return "RMSNorm(" + shortName(gain) + (unitOffset ? ", 1 + w" : "") + ")";
    }
  }

  /**
   * RMSNorm of each head of {@code target} over HEAD_DIM, in place, all heads with the same gain
   * (Qwen3's {@code q_norm}/{@code k_norm}); {@code keyHeads} says whether it has
   * NUM_KEY_VALUE_HEADS heads (k) or NUM_ATTENTION_HEADS (q).
   */
  record HeadRmsNorm(Value target, TensorKind gain, boolean keyHeads, boolean unitOffset)
      implements Op {
    @Override
    public List<Value> inputs() {
      return List.of(target);
    }

    @Override
    public List<Value> outputs() {
      return List.of(target);
    }

    @Override
    public String describe() {
      return "per-head RMSNorm(" + shortName(gain) + ")";
    }
  }

  /**
   * {@code target = cap * tanh(target / cap)} elementwise, in place (Gemma 2's final logit
   * soft-capping).
   */
  record Softcap(Value target) implements Op {
    @Override
    public List<Value> inputs() {
      return List.of(target);
    }

    @Override
    public List<Value> outputs() {
      return List.of(target);
    }

    @Override
    public String describe() {
      return "soft-cap(" + target + ")";
    }
  }

  /** {@code out = in W^T (+ bias)}, W of shape (out, in). */
  record Linear(Value in, TensorKind weight, TensorKind bias, Value out) implements Op {
    @Override
    public List<Value> inputs() {
      return List.of(in);
    }

    @Override
    public List<Value> outputs() {
      return List.of(out);
    }

    @Override
    public String describe() {
      String name =
          weight == GlobalTensor.EMBED_TOKENS
              ? "lm_head (tied to embed_tokens)"
              : shortName(weight);
      return name + (bias != null ? " + bias" : "");
    }
  }

  /**
   * Rotary position embedding of {@code target} (rotate-half), in place, at each row's position.
   */
  record Rope(Value target, boolean keyHeads) implements Op {
    @Override
    public List<Value> inputs() {
      return List.of(target);
    }

    @Override
    public List<Value> outputs() {
      return List.of(target);
    }

    @Override
    public String describe() {
      return "RoPE(" + target + ")";
    }
  }

  /** Stores k and v at each row's position in the layer's KV cache. */
  record CacheWrite(Value keys, Value values) implements Op {
    @Override
    public List<Value> inputs() {
      return List.of(keys, values);
    }

    @Override
    public List<Value> outputs() {
      return List.of();
    }

    @Override
    public String describe() {
      return "KV-cache write";
    }
  }

  /**
   * {@code scores = q . k_t x ATTENTION_SCALE} per head over the attended cache positions: the
   * earlier positions (causal) or all; the scale is {@code 1/sqrt(HEAD_DIM)} unless {@code
   * customScale} ({@code queryPreAttnScalar^-0.5}); soft-capped ({@code cap * tanh(score / cap)})
   * when {@code softcapped}; within the layer's sliding window when {@code windowed}.
   */
  record AttentionScores(
      Value q,
      Value scores,
      boolean causal,
      boolean customScale,
      boolean softcapped,
      boolean windowed)
      implements Op {
    public AttentionScores(Value q, Value scores, boolean causal) {
      this(q, scores, causal, false, false, false);
    }

    @Override
    public List<Value> inputs() {
      return List.of(q);
    }

    @Override
    public List<Value> outputs() {
      return List.of(scores);
    }

    @Override
    public String describe() {
      return "scores q.k"
          + (customScale ? " x ATTENTION_SCALE" : "/sqrt(HEAD_DIM)")
          + (softcapped ? ", soft-capped" : "")
          + (causal ? " with causal mask" : " (no mask)")
          + (windowed ? " and sliding window" : "");
    }
  }

  /** Softmax over each head's scores. */
  record Softmax(Value scores) implements Op {
    @Override
    public List<Value> inputs() {
      return List.of(scores);
    }

    @Override
    public List<Value> outputs() {
      return List.of(scores);
    }

    @Override
    public String describe() {
      return "softmax";
    }
  }

  /** {@code out = sum_t scores_t v_t} per head over the attended cache positions. */
  record WeightedValues(Value scores, Value out) implements Op {
    @Override
    public List<Value> inputs() {
      return List.of(scores);
    }

    @Override
    public List<Value> outputs() {
      return List.of(out);
    }

    @Override
    public String describe() {
      return "weighted sum of V";
    }
  }

  /**
   * The gated MLP's activation, {@code out = act(in)}: SiLU {@code in * sigmoid(in)} or
   * tanh-approximated GELU.
   */
  record Activate(Value in, Value out, dev.kiln.Activation function) implements Op {
    @Override
    public List<Value> inputs() {
      return List.of(in);
    }

    @Override
    public List<Value> outputs() {
      return List.of(out);
    }

    @Override
    public String describe() {
      return switch (function) {
        case SILU -> "SiLU(" + in + ")";
        case GELU_TANH -> "GELU-tanh(" + in + ")";
      };
    }
  }

  /** Elementwise {@code out = a * b}. */
  record Multiply(Value a, Value b, Value out) implements Op {
    @Override
    public List<Value> inputs() {
      return List.of(a, b);
    }

    @Override
    public List<Value> outputs() {
      return List.of(out);
    }

    @Override
    public String describe() {
      return a + " * " + b;
    }
  }

  /** Residual add {@code out = a + b}. */
  record Add(Value a, Value b, Value out) implements Op {
    @Override
    public List<Value> inputs() {
      return List.of(a, b);
    }

    @Override
    public List<Value> outputs() {
      return List.of(out);
    }

    @Override
    public String describe() {
      return "residual add";
    }
  }

  private static String shortName(TensorKind kind) {
    String name =
        switch (kind) {
          case LayerTensor layer -> layer.suffix();
          case GlobalTensor global -> global.hfName();
        };
    List<String> parts = new ArrayList<>(List.of(name.split("\\.")));
    parts.removeIf(
        p -> p.equals("weight") || p.equals("self_attn") || p.equals("mlp") || p.equals("model"));
    return String.join(".", parts);
  }
}
