// A GGUF model as the decoder builder wants it: an HF-shaped DecoderConfig and WeightSources
// that serve HF parameter names from the ggml tensors, dequantised to float32 or kept as
// blocks for MatMulNBits.
import { decoderDims, ropeInverseFrequencies, type DecoderConfig, type Llama3RopeScaling } from '../model-builder/config.js';
import { elementCount, type WeightSource } from '../model-builder/weights.js';
import { metadataOf, type GgufFile, type GgufTensorInfo } from './gguf-file.js';
import { dequantise, NBITS_FORMS, SUPPORTED_GGML_TYPES, toNBits } from './ggml-types.js';

const ARCHITECTURES = ['llama', 'qwen2'] as const;
type Architecture = (typeof ARCHITECTURES)[number];

/** HF parameter name → GGUF tensor name (llama.cpp's tensor naming, gguf-py constants). */
export function ggufTensorName(hfName: string): string {
  const global: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  if (global[hfName]) return global[hfName];
  const layer = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  const local: Record<string, string> = {
    'input_layernorm.weight': 'attn_norm.weight',
    'post_attention_layernorm.weight': 'ffn_norm.weight',
    'self_attn.q_proj.weight': 'attn_q.weight',
    'self_attn.q_proj.bias': 'attn_q.bias',
    'self_attn.k_proj.weight': 'attn_k.weight',
    'self_attn.k_proj.bias': 'attn_k.bias',
    'self_attn.v_proj.weight': 'attn_v.weight',
    'self_attn.v_proj.bias': 'attn_v.bias',
    'self_attn.o_proj.weight': 'attn_output.weight',
    'self_attn.o_proj.bias': 'attn_output.bias',
    'mlp.gate_proj.weight': 'ffn_gate.weight',
    'mlp.up_proj.weight': 'ffn_up.weight',
    'mlp.down_proj.weight': 'ffn_down.weight',
  };
  const suffix = layer ? local[layer[2]!] : undefined;
  if (!layer || !suffix) throw new Error(`no GGUF tensor for parameter ${hfName}`);
  return `blk.${layer[1]}.${suffix}`;
}

/**
 * llama.cpp's HF→GGUF converter reorders the rows of Llama q/k projections within each
 * head from HF's halves layout [x0..x(d/2-1), y0..] to interleaved pairs [x0, y0, x1, y1, ...],
 * because its Llama RoPE rotates adjacent pairs while HF's rotate_half rotates halves
 * (`LlamaModel.permute` in convert_hf_to_gguf.py): HF row h·d + j·d/2 + i is GGUF row
 * h·d + 2i + j. This reorders a per-row array either way. Qwen2 uses the halves layout in
 * both and is not permuted.
 */
export function reorderQkRows<T extends Float32Array | Uint8Array>(data: T, rows: number, heads: number, to: 'hf' | 'gguf'): T {
  const headDim = rows / heads;
  const rowLength = data.length / rows;
  const out = data.slice() as T; // same type and length; every row is overwritten
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < headDim / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const gguf = (h * headDim + 2 * i + j) * rowLength;
        const hf = (h * headDim + j * (headDim / 2) + i) * rowLength;
        const [from, into] = to === 'hf' ? [gguf, hf] : [hf, gguf];
        out.set(data.subarray(from, from + rowLength), into);
      }
    }
  }
  return out;
}

/** The heads whose rows llama.cpp permuted in this parameter (Llama q/k weights and biases), if any. */
export function permutedHeads(arch: string, config: DecoderConfig, hfName: string): number | undefined {
  if (arch !== 'llama') return undefined;
  if (/\.q_proj\.(weight|bias)$/.test(hfName)) return config.num_attention_heads;
  if (/\.k_proj\.(weight|bias)$/.test(hfName)) return config.num_key_value_heads;
  return undefined;
}

export interface GgufModel {
  config: DecoderConfig;
  /** Every weight dequantised to float32. */
  weights: WeightSource;
  /** Q4_0 / Q4_1 / Q8_0 linear weights kept as blocks (MatMulNBits), the rest float32. */
  quantisedWeights: WeightSource;
}

export async function ggufModel(gguf: GgufFile): Promise<GgufModel> {
  const meta = metadataOf(gguf);
  const architecture = meta.string('general.architecture');
  if (!ARCHITECTURES.includes(architecture as Architecture)) {
    throw new Error(`unsupported architecture "${architecture}"; this importer handles ${ARCHITECTURES.join(', ')} ` +
      '(Llama, SmolLM2, Llama 3.x, Qwen2, Qwen2.5)');
  }
  const arch = architecture as Architecture;
  const unsupported = [...gguf.tensors.values()].filter((t) => !SUPPORTED_GGML_TYPES.includes(t.type.name));
  if (unsupported.length > 0) {
    const types = [...new Set(unsupported.map((t) => t.type.name))].join(', ');
    throw new Error(`unsupported quantisation type(s) ${types} (e.g. ${unsupported[0]!.name}); ` +
      `supported: ${SUPPORTED_GGML_TYPES.join(', ')}`);
  }
  const tensor = (name: string): GgufTensorInfo | undefined => gguf.tensors.get(name);
  const embedding = tensor('token_embd.weight');
  if (!embedding) throw new Error('GGUF file has no token_embd.weight tensor');

  const key = (name: string): string => `${arch}.${name}`;
  const hidden = meta.requiredNumber(key('embedding_length'));
  const heads = meta.requiredNumber(key('attention.head_count'));
  const headDim = meta.number(key('attention.key_length')) ?? hidden / heads;
  const ropeDims = meta.number(key('rope.dimension_count')) ?? headDim;
  if (ropeDims !== headDim) throw new Error(`partial rotary embeddings (${ropeDims} of ${headDim} dims) are unsupported`);
  const ropeScaling = meta.string(key('rope.scaling.type')) ?? 'none';
  if (ropeScaling !== 'none') throw new Error(`unsupported RoPE scaling "${ropeScaling}"`);
  const config: DecoderConfig = {
    model_type: arch,
    vocab_size: embedding.dims[1]!,
    hidden_size: hidden,
    intermediate_size: meta.requiredNumber(key('feed_forward_length')),
    num_hidden_layers: meta.requiredNumber(key('block_count')),
    num_attention_heads: heads,
    num_key_value_heads: meta.number(key('attention.head_count_kv')) ?? heads,
    head_dim: headDim,
    rms_norm_eps: meta.requiredNumber(key('attention.layer_norm_rms_epsilon')),
    rope_theta: meta.number(key('rope.freq_base')) ?? 10_000,
    tie_word_embeddings: !tensor('output.weight'),
    max_position_embeddings: meta.number(key('context_length')) ?? 4096,
    ...(arch === 'llama' ? { attention_bias: tensor('blk.0.attn_q.bias') !== undefined } : {}),
    bos_token_id: meta.number('tokenizer.ggml.bos_token_id') ?? null,
    eos_token_id: meta.number('tokenizer.ggml.eos_token_id') ?? null,
  };
  const ropeFactors = tensor('rope_freqs.weight');
  if (ropeFactors) {
    const factors = dequantise(ropeFactors.type, await gguf.readTensor(ropeFactors), elementCount(ropeFactors.dims), ropeFactors.name);
    config.rope_scaling = llama3RopeScaling(config, factors);
  }
  return {
    config,
    weights: ggufWeightSource(gguf, arch, config, false),
    quantisedWeights: ggufWeightSource(gguf, arch, config, true),
  };
}

/**
 * Llama 3.x GGUF files carry RoPE scaling only as per-frequency divisors (rope_freqs.weight)
 * that llama.cpp's converter computed from HF's rope_scaling. Every Llama 3.x release uses
 * low_freq_factor 1, high_freq_factor 4 and an original context of 8192, with factor 8 or 32
 * (the largest divisor): rebuild that, and refuse unless it reproduces every divisor.
 */
function llama3RopeScaling(config: DecoderConfig, factors: Float32Array): Llama3RopeScaling {
  const scaling: Llama3RopeScaling = {
    rope_type: 'llama3',
    factor: Math.max(...factors),
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 8192,
  };
  const plain = ropeInverseFrequencies({ ...config, rope_scaling: null });
  const scaled = ropeInverseFrequencies({ ...config, rope_scaling: scaling });
  const reproduced = plain.length === factors.length &&
    plain.every((f, i) => Math.abs(f / scaled[i]! - factors[i]!) <= 1e-4 * factors[i]!);
  if (!reproduced) throw new Error('rope_freqs.weight does not match Llama 3 RoPE scaling; other RoPE scalings are unsupported');
  return scaling;
}

function ggufWeightSource(gguf: GgufFile, arch: Architecture, config: DecoderConfig, keepQuantised: boolean): WeightSource {
  const { headDim } = decoderDims(config);
  const tensorFor = (hfName: string): GgufTensorInfo => {
    const name = ggufTensorName(hfName);
    const info = gguf.tensors.get(name);
    if (!info) throw new Error(`GGUF file has no tensor ${name} (for ${hfName})`);
    return info;
  };
  /** Undoes llama.cpp's q/k row interleaving on any per-row array of the weight. */
  const unpermute = <T extends Float32Array | Uint8Array>(hfName: string, data: T, rows: number): T => {
    const heads = permutedHeads(arch, config, hfName);
    if (heads === undefined) return data;
    if (rows !== heads * headDim) throw new Error(`${hfName}: ${rows} rows, expected ${heads} heads × ${headDim}`);
    return reorderQkRows(data, rows, heads, 'hf');
  };
  return {
    async read(hfName) {
      const info = tensorFor(hfName);
      const shape = [...info.dims].reverse();
      const data = dequantise(info.type, await gguf.readTensor(info), elementCount(shape), info.name);
      return { data: unpermute(hfName, data, shape[0]!), shape };
    },
    quantisation: (hfName) => (keepQuantised ? NBITS_FORMS[tensorFor(hfName).type.name] : undefined),
    async readQuantised(hfName) {
      const info = tensorFor(hfName);
      const rows = info.dims[1]!;
      const { data, scales, offsets } = toNBits(info.type, await gguf.readTensor(info), elementCount(info.dims));
      return {
        data: unpermute(hfName, data, rows),
        scales: unpermute(hfName, scales, rows),
        ...(offsets ? { offsets: unpermute(hfName, offsets, rows) } : {}),
      };
    },
  };
}
