// A roofline process of the benchmark (tools/bench/roofline.ts forks one per inference worker):
// bare forward passes of given shapes on dummy inputs, timed, i.e. what the session alone costs
// for the work a pipeline run did, with no pipeline around it. A process of its own, so its
// session's memory and CPU stay out of the figures of the pipeline measured beside it.
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { createSession, decoderLayout, keepsLogits, modelPath, type DecoderLayout, type SessionOptions } from '../../src/inference/onnx/decoder-session.js';
import type { ForwardShape } from '../../src/inference/onnx/generate.js';

export interface RooflineConfig extends SessionOptions {
  modelDir: string;
}

/** Asked of a roofline process: load the model, time forward passes, or stop. */
export type RooflineRequest = { kind: 'load'; config: RooflineConfig } | { kind: 'time'; shapes: ForwardShape[] } | { kind: 'stop' };
/** Its answers: loaded, or the milliseconds inside session.run and the CPU seconds they took. */
export type RooflineReply = { kind: 'loaded' } | { kind: 'timed'; ms: number; cpuSeconds: number };

let session: InferenceSession | undefined;
let layout: DecoderLayout | undefined;
process.on('message', async (request: RooflineRequest) => {
  if (request.kind === 'load') {
    session = await createSession(modelPath(request.config.modelDir), request.config);
    layout = decoderLayout(session);
    process.send!({ kind: 'loaded' } satisfies RooflineReply);
  } else if (request.kind === 'time') {
    const cpu = process.cpuUsage();
    const ms = await timeForwards(session!, layout!, request.shapes);
    const { user, system } = process.cpuUsage(cpu);
    process.send!({ kind: 'timed', ms, cpuSeconds: (user + system) / 1e6 } satisfies RooflineReply);
  } else {
    await session?.release();
    process.disconnect();
  }
});

/** Milliseconds inside session.run for all `shapes`. */
async function timeForwards(session: InferenceSession, layout: DecoderLayout, shapes: readonly ForwardShape[]): Promise<number> {
  const { numLayers, numKeyValueHeads: heads, headDim } = layout;
  const largest = Math.max(0, ...shapes.map((s) => s.rows * s.past));
  const zeros = new Float32Array(largest * heads * headDim);
  // A pass needs the last position's logits only, where the graph can say so.
  const lastOnly: Record<string, Tensor> = keepsLogits(session) ? { num_logits_to_keep: new Tensor('int64', BigInt64Array.of(1n), []) } : {};
  let ms = 0;
  for (const { rows, tokens, past } of shapes) {
    const int64 = (width: number, value: (col: number) => number) =>
      new Tensor('int64', BigInt64Array.from({ length: rows * width }, (_, i) => BigInt(value(i % width))), [rows, width]);
    const cache = new Tensor('float32', zeros.subarray(0, rows * heads * past * headDim), [rows, heads, past, headDim]);
    const feeds: Record<string, Tensor> = {
      input_ids: int64(tokens, () => 0),
      attention_mask: int64(past + tokens, () => 1),
      position_ids: int64(tokens, (col) => past + col),
      ...lastOnly,
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
