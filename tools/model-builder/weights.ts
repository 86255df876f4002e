import { decoderDims, type DecoderConfig } from './config.js';
import { mulberry32 } from '../../src/seeded-random.js';

/** A float32 tensor in row-major order, shaped like the HF parameter ([out, in] for linears). */
export interface WeightTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** How a linear weight is kept quantised. */
export type QuantisationSpec = BlockQuantisation | OutputInt8Quantisation;

/** In blocks along the input axis, for MatMulNBits (int8 activations per block). */
export interface BlockQuantisation {
  kind: 'blocks';
  bits: 4 | 8;
  blockSize: number;
  /** Per-block offsets as well as scales (GGUF Q4_1's minimum). */
  offsets: boolean;
}

/** Symmetric int8 with one scale per output, for DynamicQuantizeMatMul (activations quantised per run). */
export interface OutputInt8Quantisation {
  kind: 'int8-per-output';
}

/**
 * A quantised [out, in] linear weight. Blocks, in ONNX Runtime's MatMulNBits layout:
 * w = scale · (q − 2^(bits−1)) + offset, per block of `blockSize` inputs. Int8 per output:
 * w = scale[out] · q, q stored transposed as DynamicQuantizeMatMul's B.
 */
export interface QuantisedWeight {
  /**
   * Blocks: [out, in/blockSize, blockSize·bits/8], 4-bit values packed two a byte, low nibble
   * first. Int8 per output: [in, out] signed bytes.
   */
  data: Uint8Array;
  /** Blocks: [out · in/blockSize]. Int8 per output: [out]. */
  scales: Float32Array;
  /** [out, in/blockSize], when the spec has offsets. */
  offsets?: Float32Array;
}

/**
 * Supplies weights by Hugging Face parameter name. The builder reads each
 * parameter exactly once, so importers can load lazily (e.g. from safetensors
 * or dequantised GGUF) and the caller never holds the whole model in memory.
 * A source that can keep linear weights quantised says so through `quantisation`;
 * the builder then reads those through `readQuantised` instead of `read`.
 */
export interface WeightSource {
  read(name: string): Promise<WeightTensor>;
  quantisation?(name: string): QuantisationSpec | undefined;
  readQuantised?(name: string): Promise<QuantisedWeight>;
}

export type ParameterKind = 'embedding' | 'linear' | 'bias' | 'norm';

export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: ParameterKind;
}

/** Every parameter the decoder graph uses, in graph order, with HF names and shapes. */
export function decoderParameters(config: DecoderConfig): ParameterSpec[] {
  const { headDim, qkvBias, oBias } = decoderDims(config);
  const h = config.hidden_size;
  const qDim = config.num_attention_heads * headDim;
  const kvDim = config.num_key_value_heads * headDim;
  const specs: ParameterSpec[] = [
    { name: 'model.embed_tokens.weight', shape: [config.vocab_size, h], kind: 'embedding' },
  ];
  const linear = (name: string, out: number, inp: number, bias: boolean): void => {
    specs.push({ name: `${name}.weight`, shape: [out, inp], kind: 'linear' });
    if (bias) specs.push({ name: `${name}.bias`, shape: [out], kind: 'bias' });
  };
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    specs.push({ name: `${p}.input_layernorm.weight`, shape: [h], kind: 'norm' });
    linear(`${p}.self_attn.q_proj`, qDim, h, qkvBias);
    linear(`${p}.self_attn.k_proj`, kvDim, h, qkvBias);
    linear(`${p}.self_attn.v_proj`, kvDim, h, qkvBias);
    linear(`${p}.self_attn.o_proj`, h, qDim, oBias);
    specs.push({ name: `${p}.post_attention_layernorm.weight`, shape: [h], kind: 'norm' });
    linear(`${p}.mlp.gate_proj`, config.intermediate_size, h, false);
    linear(`${p}.mlp.up_proj`, config.intermediate_size, h, false);
    linear(`${p}.mlp.down_proj`, h, config.intermediate_size, false);
  }
  specs.push({ name: 'model.norm.weight', shape: [h], kind: 'norm' });
  if (!config.tie_word_embeddings) {
    specs.push({ name: 'lm_head.weight', shape: [config.vocab_size, h], kind: 'embedding' });
  }
  return specs;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}


/** FNV-1a, so each parameter gets its own stream independent of read order. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

function fillNormal(out: Float32Array, random: () => number, mean: number, std: number): void {
  // Box–Muller, using both outputs of each pair; 1 - u keeps log() away from 0.
  for (let i = 0; i < out.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    out[i] = mean + std * radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = mean + std * radius * Math.sin(angle);
  }
}

/**
 * Gains over 1/sqrt(fan_in) for random linears. With plain init the layers are
 * weak next to the embedding and a tied random model just echoes its last input
 * token; strong residual writes and sharper attention make each generated token
 * depend on the whole context, so cache and batching tests are meaningful.
 */
const LINEAR_GAINS: readonly [RegExp, number][] = [
  [/\.(o_proj|down_proj)\.weight$/, 6],
  [/\.(q_proj|k_proj)\.weight$/, 2],
];

/**
 * Initialisation for random test models. Unlike training init (std 0.02), the
 * embeddings get std 1 so logits spread over several units and greedy argmax
 * is not decided by float rounding; norm weights and biases are perturbed so
 * tests prove they are applied.
 */
function initFor(spec: ParameterSpec): { mean: number; std: number } {
  switch (spec.kind) {
    case 'embedding':
      return { mean: 0, std: 1 };
    case 'linear': {
      const gain = LINEAR_GAINS.find(([pattern]) => pattern.test(spec.name))?.[1] ?? 1;
      return { mean: 0, std: gain / Math.sqrt(spec.shape[1]!) };
    }
    case 'bias':
      return { mean: 0, std: 0.2 };
    case 'norm':
      return { mean: 1, std: 0.1 };
  }
}

/** Deterministic random weights: the same (config, seed) always gives the same model. */
export function randomWeightSource(config: DecoderConfig, seed: number): WeightSource {
  const specs = new Map(decoderParameters(config).map((s) => [s.name, s]));
  return {
    read(name) {
      const spec = specs.get(name);
      if (!spec) return Promise.reject(new Error(`unknown parameter ${name}`));
      const data = new Float32Array(elementCount(spec.shape));
      const { mean, std } = initFor(spec);
      fillNormal(data, mulberry32(seed ^ hashName(name)), mean, std);
      return Promise.resolve({ data, shape: spec.shape });
    },
  };
}
