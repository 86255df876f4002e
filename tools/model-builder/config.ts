/**
 * Decoder-only LM configuration, mirroring the fields of a Hugging Face
 * `config.json` for the Llama / Qwen2 family so that real configs can be passed
 * through unchanged.
 */
export interface DecoderConfig {
  model_type: 'qwen2' | 'llama';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  /** Defaults to hidden_size / num_attention_heads, as in HF. */
  head_dim?: number;
  rms_norm_eps: number;
  rope_theta: number;
  /** Only Llama 3's frequency-dependent scaling is supported; absent or null means none. */
  rope_scaling?: Llama3RopeScaling | null;
  tie_word_embeddings: boolean;
  max_position_embeddings: number;
  /** Llama only: bias on q/k/v/o projections (Qwen2 always has q/k/v biases and no o bias). */
  attention_bias?: boolean;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
}

/** HF `rope_scaling` of Llama 3.1 / 3.2 / 3.3 (`rope_type: "llama3"`). */
export interface Llama3RopeScaling {
  rope_type: 'llama3';
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

/** Derived dimensions the graph builder needs. */
export interface DecoderDims {
  headDim: number;
  /** Query heads per KV head (grouped-query attention). */
  groupSize: number;
  qkvBias: boolean;
  oBias: boolean;
}

export function decoderDims(config: DecoderConfig): DecoderDims {
  const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new Error(`head_dim must be an even integer, got ${headDim}`);
  }
  if (config.num_attention_heads % config.num_key_value_heads !== 0) {
    throw new Error('num_attention_heads must be a multiple of num_key_value_heads');
  }
  const llamaBias = config.attention_bias ?? false;
  return {
    headDim,
    groupSize: config.num_attention_heads / config.num_key_value_heads,
    qkvBias: config.model_type === 'qwen2' || llamaBias,
    oBias: config.model_type === 'llama' && llamaBias,
  };
}

/**
 * RoPE inverse frequencies theta^(-2i/d), i < d/2, as HF computes them, including
 * Llama 3's scaling: long wavelengths slowed by `factor`, short ones kept, a smooth
 * blend in between (transformers' `_compute_llama3_parameters`).
 */
export function ropeInverseFrequencies(config: DecoderConfig): number[] {
  const { headDim } = decoderDims(config);
  const base = Array.from({ length: headDim / 2 }, (_, i) => 1 / config.rope_theta ** ((2 * i) / headDim));
  const scaling = config.rope_scaling;
  if (!scaling) return base;
  const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: context } = scaling;
  return base.map((invFreq) => {
    const wavelength = (2 * Math.PI) / invFreq;
    if (wavelength < context / high) return invFreq;
    if (wavelength > context / low) return invFreq / factor;
    const smooth = (context / wavelength - low) / (high - low);
    return (1 - smooth) * (invFreq / factor) + smooth * invFreq;
  });
}

/**
 * Qwen2.5 token ids: the BPE vocabulary has 151,643 tokens followed by the
 * special tokens; the embedding matrix is padded to 151,936 rows.
 */
export const QWEN_VOCAB_SIZE = 151_936;
export const QWEN_ENDOFTEXT_ID = 151_643;
export const QWEN_IM_END_ID = 151_645;

/** What Qwen2 models share: tokenizer, RoPE base, norms, tied embeddings. */
const QWEN2_FAMILY = {
  model_type: 'qwen2',
  vocab_size: QWEN_VOCAB_SIZE,
  rms_norm_eps: 1e-6,
  rope_theta: 1_000_000,
  tie_word_embeddings: true,
  max_position_embeddings: 32_768,
  bos_token_id: QWEN_ENDOFTEXT_ID,
  eos_token_id: QWEN_IM_END_ID,
} as const;

/** The layer shape of the tiny test models: fast to build and run, still grouped-query attention. */
export const TINY_DECODER_SHAPE = {
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 16,
} as const;

/** Tiny Qwen2-shaped model for tests: real tokenizer vocabulary, random weights. */
export const TINY_QWEN2_CONFIG: DecoderConfig = { ...QWEN2_FAMILY, ...TINY_DECODER_SHAPE };

/** The shape of Qwen2.5-0.5B(-Instruct), for benchmarks with random weights. */
export const QWEN25_05B_SHAPE_CONFIG: DecoderConfig = {
  ...QWEN2_FAMILY,
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
};
