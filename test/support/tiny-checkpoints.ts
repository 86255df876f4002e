// Writes tiny model files for the importer tests: a GGUF file laid out the way llama.cpp's
// converter writes one (q/k rows interleaved, weights quantised with ggml's reference
// quantisers) and a safetensors checkpoint, each with the float weights the importer
// should recover, so a test can compare an import against a direct build.
import { writeFile } from 'node:fs/promises';
import type { DecoderConfig, WeightSource, WeightTensor } from '../../tools/model-builder/index.js';
import { decoderParameters, TINY_DECODER_SHAPE } from '../../tools/model-builder/index.js';
import { f32ToF16 } from '../../tools/model-import/ggml-types.js';
import { reorderQkRows } from '../../tools/model-import/gguf-model.js';

const f16Value = (h: number): number => {
  const exponent = (h >> 10) & 0x1f;
  const value = exponent === 0 ? 2 ** -14 * ((h & 0x3ff) / 1024) : 2 ** (exponent - 15) * (1 + (h & 0x3ff) / 1024);
  return h & 0x8000 ? -value : value;
};

/** IQ4_NL is written as zero blocks, only to be refused. */
export type TestTensorType = 'F32' | 'F16' | 'Q8_0' | 'Q4_0' | 'Q4_1' | 'IQ4_NL';
const TYPE_IDS: Record<TestTensorType, number> = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 8, IQ4_NL: 20 };

/**
 * Encodes float32 values as a ggml tensor (ggml's reference quantisers) and returns the
 * bytes together with the values they decode to, computed from the block parameters.
 */
export function encodeGgml(type: TestTensorType, values: Float32Array): { bytes: Uint8Array; decoded: Float32Array } {
  const decoded = new Float32Array(values.length);
  if (type === 'F32') return { bytes: new Uint8Array(values.slice().buffer), decoded: values.slice() };
  if (type === 'F16') {
    const halves = new Uint16Array(values.length);
    values.forEach((v, i) => { halves[i] = f32ToF16(v); decoded[i] = f16Value(halves[i]!); });
    return { bytes: new Uint8Array(halves.buffer), decoded };
  }
  const blockBytes = { Q8_0: 34, Q4_0: 18, Q4_1: 20, IQ4_NL: 18 }[type];
  if (type === 'IQ4_NL') return { bytes: new Uint8Array((values.length / 32) * blockBytes), decoded };
  const bytes = new Uint8Array((values.length / 32) * blockBytes);
  const view = new DataView(bytes.buffer);
  for (let b = 0; b < values.length / 32; b++) {
    const x = values.subarray(b * 32, b * 32 + 32);
    const at = b * blockBytes;
    if (type === 'Q8_0') {
      const amax = Math.max(...x.map(Math.abs));
      const dBits = f32ToF16(amax / 127);
      view.setUint16(at, dBits, true);
      x.forEach((v, j) => {
        const q = amax === 0 ? 0 : Math.round(v / (amax / 127));
        view.setInt8(at + 2 + j, q);
        decoded[b * 32 + j] = q * f16Value(dBits);
      });
    } else if (type === 'Q4_0') {
      // ggml: d = max / -8 where max is the value of largest magnitude, q = clamp(x/d + 8.5, 0, 15).
      const max = x.reduce((m, v) => (Math.abs(v) > Math.abs(m) ? v : m), 0);
      const dBits = f32ToF16(max / -8);
      view.setUint16(at, dBits, true);
      const q = Array.from(x, (v) => Math.min(15, Math.max(0, Math.trunc((max === 0 ? 0 : v / (max / -8)) + 8.5))));
      for (let j = 0; j < 16; j++) bytes[at + 2 + j] = q[j]! | (q[j + 16]! << 4);
      q.forEach((v, j) => { decoded[b * 32 + j] = (v - 8) * f16Value(dBits); });
    } else {
      const min = Math.min(...x);
      const d = (Math.max(...x) - min) / 15;
      const dBits = f32ToF16(d);
      const mBits = f32ToF16(min);
      view.setUint16(at, dBits, true);
      view.setUint16(at + 2, mBits, true);
      const q = Array.from(x, (v) => Math.min(15, Math.max(0, Math.trunc((d === 0 ? 0 : (v - min) / d) + 0.5))));
      for (let j = 0; j < 16; j++) bytes[at + 4 + j] = q[j]! | (q[j + 16]! << 4);
      q.forEach((v, j) => { decoded[b * 32 + j] = v * f16Value(dBits) + f16Value(mBits); });
    }
  }
  return { bytes, decoded };
}

/** A WeightSource over tensors held in memory. */
export function memoryWeights(tensors: Map<string, WeightTensor>): WeightSource {
  return {
    read: (name) => {
      const tensor = tensors.get(name);
      return tensor ? Promise.resolve(tensor) : Promise.reject(new Error(`no tensor ${name}`));
    },
  };
}

type MetadataValue = { type: 'u32' | 'f32' | 'bool' | 'string'; value: number | boolean | string }
  | { type: 'strings'; value: string[] } | { type: 'i32s'; value: number[] };

/** Serialises a GGUF v3 file: metadata, tensor infos, tensor data aligned to 32 bytes. */
function ggufBytes(metadata: Record<string, MetadataValue>, tensors: { name: string; dims: number[]; type: TestTensorType; bytes: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s: string) => { const b = Buffer.from(s, 'utf8'); u64(b.length); parts.push(b); };
  parts.push(Buffer.from('GGUF', 'latin1'));
  u32(3);
  u64(tensors.length);
  u64(Object.keys(metadata).length);
  for (const [key, entry] of Object.entries(metadata)) {
    str(key);
    switch (entry.type) {
      case 'u32': u32(4); u32(entry.value as number); break;
      case 'f32': { u32(6); const b = Buffer.alloc(4); b.writeFloatLE(entry.value as number); parts.push(b); break; }
      case 'bool': u32(7); parts.push(Buffer.from([entry.value ? 1 : 0])); break;
      case 'string': u32(8); str(entry.value as string); break;
      case 'strings': u32(9); u32(8); u64(entry.value.length); entry.value.forEach(str); break;
      case 'i32s': u32(9); u32(5); u64(entry.value.length); entry.value.forEach((v) => { const b = Buffer.alloc(4); b.writeInt32LE(v); parts.push(b); }); break;
    }
  }
  let offset = 0;
  const offsets = tensors.map((t) => {
    const at = offset;
    offset = Math.ceil((offset + t.bytes.length) / 32) * 32;
    return at;
  });
  tensors.forEach((t, i) => {
    str(t.name);
    u32(t.dims.length);
    t.dims.forEach(u64);
    u32(TYPE_IDS[t.type]);
    u64(offsets[i]!);
  });
  const header = Buffer.concat(parts);
  const dataStart = Math.ceil(header.length / 32) * 32;
  const file = Buffer.alloc(dataStart + offset);
  header.copy(file);
  tensors.forEach((t, i) => file.set(t.bytes, dataStart + offsets[i]!));
  return file;
}

/** A byte-level BPE vocabulary: the 256 byte symbols, two merges, then ChatML special tokens. */
export function tinyVocabulary(): { tokens: string[]; merges: string[]; types: number[] } {
  // GPT-2's byte-to-unicode map: printable bytes map to themselves, the rest to U+0100 onwards.
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let next = 256;
  const bytes = Array.from({ length: 256 }, (_, b) => String.fromCharCode(printable(b) ? b : next++));
  const merges = ['h e', 'l l'];
  const tokens = [...bytes, 'he', 'll', '<|endoftext|>', '<|im_start|>', '<|im_end|>'];
  const types = tokens.map((_, id) => (id >= 258 ? 3 : 1));
  return { tokens, merges, types };
}

/** A tiny Llama config over tinyVocabulary(), for GGUF files written by writeTinyGguf. */
export const TINY_LLAMA: DecoderConfig = {
  model_type: 'llama',
  vocab_size: 261, // tinyVocabulary(): 256 bytes, 2 merges, 3 special tokens
  ...TINY_DECODER_SHAPE,
  rms_norm_eps: 1e-5,
  rope_theta: 10_000,
  tie_word_embeddings: true,
  max_position_embeddings: 512,
  bos_token_id: 259,
  eos_token_id: 260,
};

export const CHATML_TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TinyGguf {
  /** The float weights the file decodes to, by HF name and in HF layout. */
  expected: Map<string, WeightTensor>;
}

/**
 * Writes a Llama- or Qwen2-architecture GGUF of the given config from HF-layout weights,
 * storing each parameter in the type `typeOf` picks, and applying llama.cpp's q/k row
 * permutation for Llama. `ropeFactors` adds a rope_freqs.weight tensor (Llama 3 scaling).
 */
export async function writeTinyGguf(path: string, config: DecoderConfig, weights: WeightSource,
  typeOf: (hfName: string) => TestTensorType, ropeFactors?: Float32Array): Promise<TinyGguf> {
  const arch = config.model_type;
  const vocab = tinyVocabulary();
  const names: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight', 'lm_head.weight': 'output.weight',
  };
  const local: Record<string, string> = {
    input_layernorm: 'attn_norm', post_attention_layernorm: 'ffn_norm', 'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k',
    'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output', 'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
  };
  const ggufName = (hf: string): string => names[hf] ?? hf.replace(/^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/,
    (_, layer: string, part: string, kind: string) => `blk.${layer}.${local[part]}.${kind}`);
  const expected = new Map<string, WeightTensor>();
  const tensors = [];
  for (const spec of decoderParameters(config)) {
    const { data } = await weights.read(spec.name);
    const heads = arch === 'llama' && /q_proj/.test(spec.name) ? config.num_attention_heads
      : arch === 'llama' && /k_proj/.test(spec.name) ? config.num_key_value_heads : undefined;
    const stored = heads ? reorderQkRows(data, spec.shape[0]!, heads, 'gguf') : data;
    const type = spec.shape.length === 1 ? 'F32' : typeOf(spec.name);
    // Blocks never span rows, so decoding the unpermuted weight gives what the importer must recover.
    expected.set(spec.name, { data: encodeGgml(type, data).decoded, shape: spec.shape });
    const { bytes } = encodeGgml(type, stored);
    tensors.push({ name: ggufName(spec.name), dims: [...spec.shape].reverse(), type, bytes });
  }
  if (ropeFactors) tensors.push({ name: 'rope_freqs.weight', dims: [ropeFactors.length], type: 'F32' as const, bytes: new Uint8Array(ropeFactors.slice().buffer) });
  const key = (k: string) => `${arch}.${k}`;
  const metadata: Record<string, MetadataValue> = {
    'general.architecture': { type: 'string', value: arch },
    [key('block_count')]: { type: 'u32', value: config.num_hidden_layers },
    [key('context_length')]: { type: 'u32', value: config.max_position_embeddings },
    [key('embedding_length')]: { type: 'u32', value: config.hidden_size },
    [key('feed_forward_length')]: { type: 'u32', value: config.intermediate_size },
    [key('attention.head_count')]: { type: 'u32', value: config.num_attention_heads },
    [key('attention.head_count_kv')]: { type: 'u32', value: config.num_key_value_heads },
    [key('rope.freq_base')]: { type: 'f32', value: config.rope_theta },
    [key('attention.layer_norm_rms_epsilon')]: { type: 'f32', value: config.rms_norm_eps },
    'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
    'tokenizer.ggml.pre': { type: 'string', value: arch === 'qwen2' ? 'qwen2' : 'smollm' },
    'tokenizer.ggml.tokens': { type: 'strings', value: vocab.tokens },
    'tokenizer.ggml.token_type': { type: 'i32s', value: vocab.types },
    'tokenizer.ggml.merges': { type: 'strings', value: vocab.merges },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: 259 },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: 260 },
    'tokenizer.ggml.padding_token_id': { type: 'u32', value: 258 },
    'tokenizer.ggml.add_bos_token': { type: 'bool', value: false },
    'tokenizer.chat_template': { type: 'string', value: CHATML_TEMPLATE },
  };
  await writeFile(path, ggufBytes(metadata, tensors));
  return { expected };
}

/** Writes one safetensors file; each tensor is stored as F32, F16 or BF16, returning the values stored. */
export async function writeSafetensors(path: string, tensors: { name: string; tensor: WeightTensor; dtype: 'F32' | 'F16' | 'BF16' }[]): Promise<Map<string, WeightTensor>> {
  const stored = new Map<string, WeightTensor>();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const { name, tensor, dtype } of tensors) {
    let bytes: Uint8Array;
    const values = new Float32Array(tensor.data.length);
    if (dtype === 'F32') {
      bytes = new Uint8Array(tensor.data.slice().buffer);
      values.set(tensor.data);
    } else {
      const halves = new Uint16Array(tensor.data.length);
      const asBits = new Uint32Array(tensor.data.slice().buffer);
      tensor.data.forEach((v, i) => {
        // bfloat16 by truncation is valid bfloat16 data; any rounding would do for the test.
        halves[i] = dtype === 'F16' ? f32ToF16(v) : asBits[i]! >>> 16;
        values[i] = dtype === 'F16' ? f16Value(halves[i]!) : new Float32Array(new Uint32Array([halves[i]! << 16]).buffer)[0]!;
      });
      bytes = new Uint8Array(halves.buffer);
    }
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
    stored.set(name, { data: values, shape: tensor.shape });
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  await writeFile(path, Buffer.concat([length, json, ...chunks]));
  return stored;
}
