package dev.kiln;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares a decoder-only transformer. Kiln's annotation processor validates the values at build
 * time and generates, for an annotated type {@code X}, the classes {@code XWeights},
 * {@code XAttention} and {@code XDecoder} beside it, with every shape a compile-time constant.
 *
 * <p>Element names follow Hugging Face's {@code LlamaConfig}; the defaults describe a Llama (the
 * defaults of {@code LlamaConfig} itself). The remaining elements ({@link #norm()},
 * {@link #mlp()}, {@link #positionEncoding()}, ...) switch parts of the architecture off, which is
 * how the seed's toy single-head model is expressed.
 *
 * <p>The runtime value with the same numbers is {@link dev.kiln.spec.ModelSpec}; a generated
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

  /** Width of the MLP's gate/up projections ({@code intermediate_size}); required with {@link MlpKind#SWIGLU}. */
  int intermediateSize() default 0;

  /** Number of decoder layers ({@code num_hidden_layers}). */
  int numHiddenLayers();

  /** Number of query heads ({@code num_attention_heads}). */
  int numAttentionHeads();

  /** Number of key/value heads ({@code num_key_value_heads}); 0 means {@code numAttentionHeads} (no GQA). */
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

  /** Attention ends with the output projection {@code o_proj}; without it the heads' concatenation is the output. */
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

  /** Sequences decoded together; the KV cache is preallocated for this many. */
  int maxBatchSize() default 1;

  /** Upper bound on the KV cache's size in bytes, checked at build time; the default means no bound. */
  long maxKvCacheBytes() default Long.MAX_VALUE;
}
