// ggml tensor types: block geometry for every type (to size tensors in a GGUF file),
// dequantisation to float32 for the types this importer supports, quantisation back with
// ggml's reference quantisers (for the GGUF exporter), and repacking of the
// 32-element block types for ONNX Runtime's MatMulNBits. Block layouts follow ggml's
// `block_q4_0`, `block_q4_1` and `block_q8_0` (ggml-common.h).
import type { BlockQuantisation, QuantisedWeight } from '../model-builder/weights.js';

export interface GgmlType {
  id: number;
  name: string;
  /** Elements per block, along the fastest axis. */
  blockSize: number;
  blockBytes: number;
}

// [id, name, elements per block, bytes per block], from ggml.c's type_traits.
const TYPES: readonly [number, string, number, number][] = [
  [0, 'F32', 1, 4], [1, 'F16', 1, 2], [2, 'Q4_0', 32, 18], [3, 'Q4_1', 32, 20],
  [6, 'Q5_0', 32, 22], [7, 'Q5_1', 32, 24], [8, 'Q8_0', 32, 34], [9, 'Q8_1', 32, 36],
  [10, 'Q2_K', 256, 84], [11, 'Q3_K', 256, 110], [12, 'Q4_K', 256, 144], [13, 'Q5_K', 256, 176],
  [14, 'Q6_K', 256, 210], [15, 'Q8_K', 256, 292], [16, 'IQ2_XXS', 256, 66], [17, 'IQ2_XS', 256, 74],
  [18, 'IQ3_XXS', 256, 98], [19, 'IQ1_S', 256, 50], [20, 'IQ4_NL', 32, 18], [21, 'IQ3_S', 256, 110],
  [22, 'IQ2_S', 256, 82], [23, 'IQ4_XS', 256, 136], [24, 'I8', 1, 1], [25, 'I16', 1, 2],
  [26, 'I32', 1, 4], [27, 'I64', 1, 8], [28, 'F64', 1, 8], [29, 'IQ1_M', 256, 56], [30, 'BF16', 1, 2],
  [34, 'TQ1_0', 256, 54], [35, 'TQ2_0', 256, 66], [39, 'MXFP4', 32, 17],
];

const BY_ID = new Map(TYPES.map(([id, name, blockSize, blockBytes]) => [id, { id, name, blockSize, blockBytes }]));
const BY_NAME = new Map([...BY_ID.values()].map((type) => [type.name, type]));

export function ggmlType(id: number, tensorName: string): GgmlType {
  const type = BY_ID.get(id);
  if (!type) throw new Error(`tensor ${tensorName} has unknown ggml type ${id}`);
  return type;
}

export function ggmlTypeNamed(name: string): GgmlType {
  const type = BY_NAME.get(name);
  if (!type) throw new Error(`unknown ggml type ${name}`);
  return type;
}

export function tensorByteLength(type: GgmlType, dims: readonly number[], tensorName: string): number {
  const rowLength = dims[0] ?? 1;
  if (rowLength % type.blockSize !== 0) {
    throw new Error(`tensor ${tensorName}: row length ${rowLength} is not a multiple of the ${type.name} block size`);
  }
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  return (rowLength / type.blockSize) * type.blockBytes * rows;
}

/** IEEE half → float, through a table of all 65,536 values (Node 20 has no Float16Array). */
const F16_TO_F32: Float32Array = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    table[h] = exponent === 0 ? sign * 2 ** -14 * (mantissa / 1024)
      : exponent === 31 ? (mantissa ? NaN : sign * Infinity)
      : sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
  }
  return table;
})();

/** bfloat16 is the top half of a float32. */
export function bf16ToF32(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) bits[i] = (bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16;
  return out;
}

export function f16ToF32(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = F16_TO_F32[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
  return out;
}

type Dequantiser = (bytes: Uint8Array, count: number) => Float32Array;

const half = (bytes: Uint8Array, at: number): number => F16_TO_F32[bytes[at]! | (bytes[at + 1]! << 8)]!;

/** Q4_0: f16 scale d, 16 bytes of nibbles; x = (q - 8)·d, low nibbles first then high nibbles. */
function dequantiseQ4_0(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let block = 0, at = 0; block * 32 < count; block++, at += 18) {
    const d = half(bytes, at);
    const base = block * 32;
    for (let j = 0; j < 16; j++) {
      const q = bytes[at + 2 + j]!;
      out[base + j] = ((q & 0x0f) - 8) * d;
      out[base + j + 16] = ((q >> 4) - 8) * d;
    }
  }
  return out;
}

/** Q4_1: f16 scale d and minimum m, 16 bytes of nibbles; x = q·d + m. */
function dequantiseQ4_1(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let block = 0, at = 0; block * 32 < count; block++, at += 20) {
    const d = half(bytes, at);
    const m = half(bytes, at + 2);
    const base = block * 32;
    for (let j = 0; j < 16; j++) {
      const q = bytes[at + 4 + j]!;
      out[base + j] = (q & 0x0f) * d + m;
      out[base + j + 16] = (q >> 4) * d + m;
    }
  }
  return out;
}

/** Q8_0: f16 scale d, 32 signed bytes; x = q·d. */
function dequantiseQ8_0(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const signed = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let block = 0, at = 0; block * 32 < count; block++, at += 34) {
    const d = half(bytes, at);
    const base = block * 32;
    for (let j = 0; j < 32; j++) out[base + j] = signed[at + 2 + j]! * d;
  }
  return out;
}

const DEQUANTISERS: Record<string, Dequantiser> = {
  F32: (bytes, count) => new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count * 4)),
  F16: f16ToF32,
  BF16: bf16ToF32,
  Q4_0: dequantiseQ4_0,
  Q4_1: dequantiseQ4_1,
  Q8_0: dequantiseQ8_0,
};

export const SUPPORTED_GGML_TYPES: readonly string[] = Object.keys(DEQUANTISERS);

export function dequantise(type: GgmlType, bytes: Uint8Array, count: number, tensorName: string): Float32Array {
  const dequantiser = DEQUANTISERS[type.name];
  if (!dequantiser) {
    throw new Error(`tensor ${tensorName} is ${type.name}, which this importer does not support ` +
      `(supported: ${SUPPORTED_GGML_TYPES.join(', ')}); re-quantise the model, e.g. to Q8_0 or Q4_1`);
  }
  return dequantiser(bytes, count);
}

/** Round-to-nearest-even float → IEEE half bits, as ggml's GGML_FP32_TO_FP16; overflow gives ±infinity. */
export function f32ToF16(value: number): number {
  const bits = new Uint32Array(Float32Array.of(value).buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (((bits >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 31) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    return sign | ((mantissa + (1 << (shift - 1)) - 1 + ((mantissa >> shift) & 1)) >> shift);
  }
  const rounded = mantissa + 0xfff + ((mantissa >> 13) & 1);
  // A carry out of the mantissa bumps the exponent, up to infinity at 31.
  return rounded & 0x800000 ? sign | ((exponent + 1) << 10) : sign | (exponent << 10) | (rounded >> 13);
}

/** C's roundf: halves away from zero (Math.round rounds them up). */
const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

type Quantiser = (values: Float32Array, out: DataView) => void;

/** ggml's quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d). */
function quantiseQ8_0(values: Float32Array, out: DataView): void {
  for (let block = 0, at = 0; block * 32 < values.length; block++, at += 34) {
    const x = values.subarray(block * 32, block * 32 + 32);
    let amax = 0;
    for (const v of x) amax = Math.max(amax, Math.abs(v));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    out.setUint16(at, f32ToF16(d), true);
    for (let j = 0; j < 32; j++) out.setInt8(at + 2 + j, roundHalfAway(Math.fround(x[j]! * id)));
  }
}

/** ggml's quantize_row_q4_1_ref: d = (max − min) / 15, m = min, q = min(15, trunc((x − min) / d + 0.5)). */
function quantiseQ4_1(values: Float32Array, out: DataView): void {
  for (let block = 0, at = 0; block * 32 < values.length; block++, at += 20) {
    const x = values.subarray(block * 32, block * 32 + 32);
    let min = Infinity;
    let max = -Infinity;
    for (const v of x) { min = Math.min(min, v); max = Math.max(max, v); }
    const d = Math.fround((max - min) / 15);
    const id = d ? Math.fround(1 / d) : 0;
    out.setUint16(at, f32ToF16(d), true);
    out.setUint16(at + 2, f32ToF16(min), true);
    const q = (v: number) => Math.min(15, Math.trunc(Math.fround(Math.fround(v - min) * id) + 0.5));
    for (let j = 0; j < 16; j++) out.setUint8(at + 4 + j, q(x[j]!) | (q(x[j + 16]!) << 4));
  }
}

const QUANTISERS: Record<string, Quantiser> = {
  F32: (values, out) => values.forEach((v, i) => out.setFloat32(4 * i, v, true)),
  F16: (values, out) => values.forEach((v, i) => out.setUint16(2 * i, f32ToF16(v), true)),
  Q4_1: quantiseQ4_1,
  Q8_0: quantiseQ8_0,
};

export const QUANTISABLE_GGML_TYPES: readonly string[] = Object.keys(QUANTISERS);

/** Float32 values (rows along the fastest axis) encoded as a ggml tensor of `type`. */
export function quantise(type: GgmlType, values: Float32Array, tensorName: string): Uint8Array {
  const quantiser = QUANTISERS[type.name];
  if (!quantiser) throw new Error(`tensor ${tensorName}: cannot write ${type.name}; writable types: ${QUANTISABLE_GGML_TYPES.join(', ')}`);
  if (values.length % type.blockSize !== 0) throw new Error(`tensor ${tensorName}: ${values.length} values are not whole ${type.name} blocks`);
  const bytes = new Uint8Array((values.length / type.blockSize) * type.blockBytes);
  quantiser(values, new DataView(bytes.buffer));
  return bytes;
}

/** The MatMulNBits form of each ggml block type it can hold exactly (all with 32-element blocks). */
export const NBITS_FORMS: Record<string, BlockQuantisation> = {
  Q4_0: { kind: 'blocks', bits: 4, blockSize: 32, offsets: false },
  Q4_1: { kind: 'blocks', bits: 4, blockSize: 32, offsets: true },
  Q8_0: { kind: 'blocks', bits: 8, blockSize: 32, offsets: false },
};

/**
 * Repacks ggml blocks into MatMulNBits' layout (see QuantisedWeight): ggml stores element j
 * of a 4-bit block in the low nibble of byte j and element j+16 in its high nibble, while
 * MatMulNBits packs consecutive elements low nibble first; Q8_0's signed bytes gain the
 * zero point 128. Q4_1 (x = d·q + m) becomes d·(q − 8) + (m + 8d): scale d, offset m + 8d.
 */
export function toNBits(type: GgmlType, bytes: Uint8Array, count: number): QuantisedWeight {
  const blocks = count / 32;
  const scales = new Float32Array(blocks);
  switch (type.name) {
    case 'Q8_0': {
      const data = new Uint8Array(count);
      for (let b = 0, at = 0; b < blocks; b++, at += 34) {
        scales[b] = half(bytes, at);
        for (let j = 0; j < 32; j++) data[b * 32 + j] = (bytes[at + 2 + j]! + 128) & 0xff;
      }
      return { data, scales };
    }
    case 'Q4_0':
    case 'Q4_1': {
      const withMin = type.name === 'Q4_1';
      const data = new Uint8Array(count / 2);
      const offsets = withMin ? new Float32Array(blocks) : undefined;
      const nibbles = new Uint8Array(32);
      for (let b = 0, at = 0; b < blocks; b++, at += type.blockBytes) {
        const d = half(bytes, at);
        scales[b] = d;
        if (offsets) offsets[b] = half(bytes, at + 2) + 8 * d;
        const qs = at + (withMin ? 4 : 2);
        for (let j = 0; j < 16; j++) {
          nibbles[j] = bytes[qs + j]! & 0x0f;
          nibbles[j + 16] = bytes[qs + j]! >> 4;
        }
        for (let i = 0; i < 16; i++) data[b * 16 + i] = nibbles[2 * i]! | (nibbles[2 * i + 1]! << 4);
      }
      return offsets ? { data, scales, offsets } : { data, scales };
    }
    default:
      throw new Error(`${type.name} has no MatMulNBits form`);
  }
}
