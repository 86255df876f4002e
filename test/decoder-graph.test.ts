import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { createSession, decoderLayout, keepsLogits } from '../src/inference/onnx/decoder-session.js';
import { maxDifference } from './support/onnx-logits.js';
import { testModelDir } from './support/paths.js';

/** Two rows of 6 positions; the first is left-padded by 2, as the engine pads batches. */
const ROWS = [[0, 0, 9707, 11, 1879, 13], [785, 6722, 315, 9625, 374, 12095]];
const PADDING = 2;
const WIDTH = ROWS[0]!.length;

/** The logits [rows, kept, vocab] of ROWS fed from an empty cache, keeping `keep` positions a row. */
async function logits(session: InferenceSession, keep: number): Promise<Tensor> {
  const { numLayers, numKeyValueHeads, headDim } = decoderLayout(session);
  const int64 = (values: number[][]) => new Tensor('int64', BigInt64Array.from(values.flat(), BigInt), [values.length, WIDTH]);
  const feeds: Record<string, Tensor> = {
    input_ids: int64(ROWS),
    attention_mask: int64(ROWS.map((_, r) => ROWS[r]!.map((_, c) => (r === 0 && c < PADDING ? 0 : 1)))),
    position_ids: int64(ROWS.map((_, r) => ROWS[r]!.map((_, c) => Math.max(0, r === 0 ? c - PADDING : c)))),
    num_logits_to_keep: new Tensor('int64', BigInt64Array.of(BigInt(keep)), []),
  };
  const empty = new Tensor('float32', new Float32Array(0), [ROWS.length, numKeyValueHeads, 0, headDim]);
  for (let layer = 0; layer < numLayers; layer++) {
    feeds[`past_key_values.${layer}.key`] = empty;
    feeds[`past_key_values.${layer}.value`] = empty;
  }
  return (await session.run(feeds)).logits!;
}

/** Each row's last `keep` positions out of full-width logits [rows, WIDTH, vocab]. */
function lastPositions(full: Tensor, keep: number): Float32Array {
  const vocab = full.dims[2]!;
  const data = full.data as Float32Array;
  const rows = ROWS.map((_, r) => data.subarray((r * WIDTH + WIDTH - keep) * vocab, (r + 1) * WIDTH * vocab));
  return Float32Array.from(rows.flatMap((row) => [...row]));
}

test('num_logits_to_keep returns the logits of each row\'s last positions, as the full width has them', async () => {
  const session = await createSession(join(await testModelDir(), 'onnx', 'model.onnx'));
  try {
    assert.ok(keepsLogits(session));
    const full = await logits(session, WIDTH);
    const vocab = full.dims[2]!;
    assert.deepEqual(full.dims, [ROWS.length, WIDTH, vocab]);
    assert.deepEqual((await logits(session, 0)).data, full.data, '0 keeps every position');
    for (const keep of [1, 3]) {
      const kept = await logits(session, keep);
      assert.deepEqual(kept.dims, [ROWS.length, keep, vocab]);
      const difference = maxDifference(kept.data as Float32Array, lastPositions(full, keep));
      assert.ok(difference < 1e-5, `keep ${keep}: the kept logits differ from the full width by ${difference}`);
    }
  } finally {
    await session.release();
  }
});
