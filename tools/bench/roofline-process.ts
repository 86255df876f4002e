// A roofline process of the benchmark (tools/bench/roofline.ts forks one per inference worker):
// bare forward passes of given shapes on dummy inputs, timed, i.e. what the session alone costs
// for the work a pipeline run did, with no pipeline around it. A process of its own, so its
// session's memory and CPU stay out of the figures of the pipeline measured beside it.
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, decoderLayout, keepsLogits, modelPath, type DecoderLayout, type SessionOptions } from '../../src/inference/onnx/decoder-session.js';
import type { ForwardShape } from '../../src/inference/onnx/generate.js';
import { forwardFeeds } from './forward-feeds.js';

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
  // A pass needs the last position's logits only, where the graph can say so.
  const keep = keepsLogits(session) ? 1 : undefined;
  let ms = 0;
  for (const shape of shapes) {
    const feeds = forwardFeeds(layout, shape, keep);
    const started = performance.now();
    await session.run(feeds);
    ms += performance.now() - started;
  }
  return ms;
}
