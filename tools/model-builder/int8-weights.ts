// The int8 variant of a float32 model: every projection and the LM head as symmetric int8 with
// one scale per output, which ONNX Runtime's DynamicQuantizeMatMul multiplies on its int8 path
// (AVX-512 VNNI here). Norms and the embedding lookup stay float32.
import type { DecoderConfig } from './config.js';
import { decoderParameters, type OutputInt8Quantisation, type QuantisedWeight, type WeightSource, type WeightTensor } from './weights.js';

const INT8: OutputInt8Quantisation = { kind: 'int8-per-output' };

/** `source` with its linear weights served as int8 per output row (see QuantisedWeight). */
export function int8WeightSource(source: WeightSource, config: DecoderConfig): WeightSource {
  const head = config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const quantised = new Set([head, ...decoderParameters(config).filter((p) => p.kind === 'linear').map((p) => p.name)]);
  return {
    read: (name) => source.read(name),
    quantisation: (name) => (quantised.has(name) ? INT8 : undefined),
    readQuantised: async (name) => quantiseInt8PerOutput(await source.read(name)),
  };
}

/** [out, in] float32 → q [in, out] int8 and scale[out] = max|w[out, ·]| / 127, so w ≈ scale · q. */
export function quantiseInt8PerOutput({ data, shape }: WeightTensor): QuantisedWeight {
  const [outputs, inputs] = shape as [number, number];
  const q = new Int8Array(outputs * inputs);
  const scales = new Float32Array(outputs);
  for (let o = 0; o < outputs; o++) {
    const row = data.subarray(o * inputs, (o + 1) * inputs);
    let max = 0;
    for (let i = 0; i < inputs; i++) max = Math.max(max, Math.abs(row[i]!));
    const scale = max / 127 || 1;
    scales[o] = scale;
    for (let i = 0; i < inputs; i++) q[i * outputs + o] = Math.round(row[i]! / scale);
  }
  return { data: new Uint8Array(q.buffer), scales };
}
