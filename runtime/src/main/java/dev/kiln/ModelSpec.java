package dev.kiln;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares a decoder-only transformer. Kiln's annotation processor validates the values at build
 * time and generates, for an annotated type {@code X}, the classes {@code XWeights}, {@code
 * XAttention} and {@code XDecoder} beside it, with every shape a compile-time constant.
 *
 * <p>Element names follow Hugging Face's {@code LlamaConfig}; the defaults describe a Llama (the
 * defaults of {@code LlamaConfig} itself). The remaining elements ({@link #norm()}, {@link #mlp()},
 * {@link #positionEncoding()}, ...) switch parts of the architecture off, which is how the seed's
 * toy single-head model is expressed.
 *
 * <p>The runtime value with the same numbers is {@link dev.kiln.spec.ResolvedSpec}; a generated
 * decoder exposes its own as {@code XDecoder.SPEC}.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface ModelSpec {
  /** Number of token ids ({@code vocab_size}). */
  int vocabSize();

  /** Width of the residual stream ({@code hidden_size}). */
  int hiddenSize();

  /**
   * Width of the MLP's gate/up projections ({@code intermediate_size}); required with {@link
   * MlpKind#SWIGLU}.
   */
  int intermediateSize() default 0;

  /** Number of decoder layers ({@code num_hidden_layers}). */
  int numHiddenLayers();

  /** Number of query heads ({@code num_attention_heads}). */
  int numAttentionHeads();

  /**
   * Number of key/value heads ({@code num_key_value_heads}); 0 means {@code numAttentionHeads} (no
   * GQA).
   */
  int numKeyValueHeads() default 0;

  /** Width of one head ({@code head_dim}); 0 means {@code hiddenSize / numAttentionHeads}. */
  int headDim() default 0;

  /** Longest sequence the KV cache and RoPE tables hold ({@code max_position_embeddings}). */
  int maxPositionEmbeddings() default 2048;

  /** RoPE base frequency ({@code rope_theta}). */
  double ropeTheta() default 10000.0;

  /** Epsilon inside RMSNorm's square root ({@code rms_norm_eps}). */
  double rmsNormEps() default 1e-6;

  /** The LM head reuses the token embedding matrix ({@code tie_word_embeddings}). */
  boolean tieWordEmbeddings() default false;

  /** Biases on the q, k, v and output projections ({@code attention_bias}). */
  boolean attentionBias() default false;

  /** Biases on the gate, up and down projections ({@code mlp_bias}). */
  boolean mlpBias() default false;

  /** A bias on the LM head ({@code lm_head.bias}; not in Llama). */
  boolean lmHeadBias() default false;

  /**
   * Attention ends with the output projection {@code o_proj}; without it the heads' concatenation
   * is the output.
   */
  boolean attentionOutputProjection() default true;

  /** Attention and MLP outputs are added to the residual stream; without, they replace it. */
  boolean residualConnections() default true;

  /** Normalization before attention, MLP and LM head. */
  NormKind norm() default NormKind.RMS_NORM;

  /** The feed-forward block. */
  MlpKind mlp() default MlpKind.SWIGLU;

  /** Position encoding applied to q and k. */
  PositionEncoding positionEncoding() default PositionEncoding.ROPE;

  /** Normalization of attention scores. */
  ScoreNormalization scoreNormalization() default ScoreNormalization.SOFTMAX;

  /** Each position attends only to itself and earlier positions. */
  boolean causalMask() default true;

  /**
   * How RoPE frequencies are rescaled for long contexts ({@code rope_scaling.rope_type}): none,
   * {@code linear} (every frequency divided by {@link #ropeScalingFactor()}) or {@code llama3}
   * (Llama 3.1's wavelength-dependent scaling). The frequencies are constants of the generated
   * code.
   */
  RopeScaling ropeScaling() default RopeScaling.NONE;

  /** {@code rope_scaling.factor}: how much longer the context is than the model was trained for. */
  double ropeScalingFactor() default 1.0;

  /**
   * {@code rope_scaling.low_freq_factor} (llama3): wavelengths above original / this are divided by
   * the factor.
   */
  double ropeScalingLowFreqFactor() default 1.0;

  /** {@code rope_scaling.high_freq_factor} (llama3): wavelengths below original / this are kept. */
  double ropeScalingHighFreqFactor() default 4.0;

  /**
   * {@code rope_scaling.original_max_position_embeddings} (llama3): the context the model was
   * trained for; required with llama3.
   */
  int ropeScalingOriginalMaxPositionEmbeddings() default 0;

  /**
   * Biases on the q, k and v projections but not on o_proj (Qwen2); {@link #attentionBias()} puts
   * them on all four.
   */
  boolean qkvBias() default false;

  /**
   * RMSNorm of each query and key head over {@code headDim} before RoPE ({@code q_norm}, {@code
   * k_norm}; Qwen3).
   */
  boolean qkNorm() default false;

  /** Every RMSNorm's gain is {@code 1 + weight} rather than {@code weight} (Gemma). */
  boolean rmsNormUnitOffset() default false;

  /**
   * Token embeddings are multiplied by {@code sqrt(hiddenSize)} (rounded to float32) before the
   * first layer (Gemma).
   */
  boolean scaleEmbeddings() default false;

  /**
   * Norms after attention and after the MLP as well as before them (Gemma 2): {@code x +=
   * norm(attn(norm(x)))}, {@code x += norm(mlp(norm(x)))}, with the tensors {@code
   * post_attention_layernorm}, {@code pre_feedforward_layernorm} and {@code
   * post_feedforward_layernorm}.
   */
  boolean sandwichNorms() default false;

  /**
   * The gated MLP's activation ({@code hidden_act}/{@code hidden_activation}): SiLU (Llama) or
   * tanh-approximated GELU (Gemma).
   */
  Activation hiddenAct() default Activation.SILU;

  /**
   * Queries are scaled by {@code queryPreAttnScalar^-0.5} ({@code query_pre_attn_scalar}); 0 means
   * {@code headDim}.
   */
  double queryPreAttnScalar() default 0.0;

  /**
   * Attention scores become {@code cap * tanh(score / cap)} before the mask ({@code
   * attn_logit_softcapping}); 0 is off.
   */
  double attnLogitSoftcapping() default 0.0;

  /** Logits become {@code cap * tanh(logit / cap)} ({@code final_logit_softcapping}); 0 is off. */
  double finalLogitSoftcapping() default 0.0;

  /**
   * Query i sees key j only when {@code 0 <= i - j < slidingWindow} ({@code sliding_window}); 0 is
   * no window.
   */
  int slidingWindow() default 0;

  /** Which layers use {@link #slidingWindow()}: all (Mistral) or those of even index (Gemma 2). */
  SlidingWindowLayers slidingWindowLayers() default SlidingWindowLayers.ALL;

  /** Sequences decoded together; the KV cache is preallocated for this many. */
  int maxBatchSize() default 1;

  /**
   * Upper bound on the KV cache's size in bytes, checked at build time; the default means no bound.
   */
  long maxKvCacheBytes() default Long.MAX_VALUE;
}
