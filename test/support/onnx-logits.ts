// One full-prompt forward pass of an ONNX decoder, for comparing weights imported two ways.
import assert from 'node:assert/strict';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { decoderLayout } from '../../src/inference/onnx/decoder-session.js';

/** The logits [1, keep, vocab] of the last `keep` of `tokens` (all by default) fed from an empty cache. */
export async function onnxLogits(modelPath: string, tokens: readonly number[], keep = tokens.length): Promise<Float32Array> {
  const session = await InferenceSession.create(modelPath);
  const { numLayers, numKeyValueHeads, headDim } = decoderLayout(session);
  const ids = (values: readonly number[]) => new Tensor('int64', BigInt64Array.from(values, BigInt), [1, values.length]);
  const feeds: Record<string, Tensor> = {
    input_ids: ids(tokens),
    attention_mask: ids(tokens.map(() => 1)),
    position_ids: ids(tokens.map((_, i) => i)),
    num_logits_to_keep: new Tensor('int64', BigInt64Array.of(BigInt(keep)), []),
  };
  for (let layer = 0; layer < numLayers; layer++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${layer}.${kind}`] = new Tensor('float32', new Float32Array(0), [1, numKeyValueHeads, 0, headDim]);
    }
  }
  const result = (await session.run(feeds)).logits!.data as Float32Array;
  await session.release();
  return result;
}

export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
