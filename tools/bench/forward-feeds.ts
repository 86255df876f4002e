// Dummy inputs of one forward-pass shape, for bare timed passes (the variants benchmark): what
// a pass costs, not what it computes.
import { Tensor } from 'onnxruntime-node';
import type { DecoderLayout } from '../../src/inference/onnx/decoder-session.js';

/** One forward pass: batch rows, token columns fed, cached columns attended to. */
export interface ForwardShape {
  rows: number;
  tokens: number;
  past: number;
}

/** `rows` × `tokens` new tokens on `past` cached positions; `keep` logits a row when the graph takes num_logits_to_keep. */
export function forwardFeeds(layout: DecoderLayout, { rows, tokens, past }: ForwardShape, keep?: number): Record<string, Tensor> {
  const { numLayers, numKeyValueHeads: heads, headDim } = layout;
  const int64 = (width: number, value: (col: number) => number) =>
    new Tensor('int64', BigInt64Array.from({ length: rows * width }, (_, i) => BigInt(value(i % width))), [rows, width]);
  const cache = new Tensor('float32', new Float32Array(rows * heads * past * headDim), [rows, heads, past, headDim]);
  const feeds: Record<string, Tensor> = {
    input_ids: int64(tokens, () => 0),
    attention_mask: int64(past + tokens, () => 1),
    position_ids: int64(tokens, (col) => past + col),
    ...(keep === undefined ? {} : { num_logits_to_keep: new Tensor('int64', BigInt64Array.of(BigInt(keep)), []) }),
  };
  for (let layer = 0; layer < numLayers; layer++) {
    feeds[`past_key_values.${layer}.key`] = cache;
    feeds[`past_key_values.${layer}.value`] = cache;
  }
  return feeds;
}
