// Bare forward passes of given shapes on dummy inputs, timed: the benchmark's roofline, what
// the session alone costs for the work a pipeline run did, with no pipeline around it.
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import type { DecoderLayout } from './decoder-session.js';
import type { ForwardShape } from './generate.js';

/** Milliseconds inside session.run for all `shapes`. */
export async function timeForwards(session: InferenceSession, layout: DecoderLayout, shapes: readonly ForwardShape[]): Promise<number> {
  const { numLayers, numKeyValueHeads: heads, headDim } = layout;
  const largest = Math.max(0, ...shapes.map((s) => s.rows * s.past));
  const zeros = new Float32Array(largest * heads * headDim);
  let ms = 0;
  for (const { rows, tokens, past } of shapes) {
    const int64 = (width: number, value: (col: number) => number) =>
      new Tensor('int64', BigInt64Array.from({ length: rows * width }, (_, i) => BigInt(value(i % width))), [rows, width]);
    const cache = new Tensor('float32', zeros.subarray(0, rows * heads * past * headDim), [rows, heads, past, headDim]);
    const feeds: Record<string, Tensor> = {
      input_ids: int64(tokens, () => 0),
      attention_mask: int64(past + tokens, () => 1),
      position_ids: int64(tokens, (col) => past + col),
    };
    for (let layer = 0; layer < numLayers; layer++) {
      feeds[`past_key_values.${layer}.key`] = cache;
      feeds[`past_key_values.${layer}.value`] = cache;
    }
    const started = performance.now();
    await session.run(feeds);
    ms += performance.now() - started;
  }
  return ms;
}
