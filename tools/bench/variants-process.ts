// One job of the variants bench (variants-bench.ts) in a process of its own, so its peak RSS is
// its own: loads the weights, times the prefill and decode steps, and sends the timing back.
import { createSession, decoderLayout, keepsLogits, modelPath } from '../../src/inference/onnx/decoder-session.js';
import { forwardFeeds, type ForwardShape } from './forward-feeds.js';
import { percentile } from './measure.js';
import { DECODE, PREFILL, type Job, type Timing } from './variants-bench.js';

const PREFILL_REPS = 3;
const DECODE_REPS = 10;

async function measure(job: Job): Promise<Timing> {
  const session = await createSession(modelPath(job.modelDir, job.dtype), { intraOpNumThreads: job.threads });
  if (!keepsLogits(session)) throw new Error(`${job.modelDir} (${job.dtype}) has no num_logits_to_keep input; re-import it`);
  const layout = decoderLayout(session);
  const loadedRssMb = process.memoryUsage.rss() / 2 ** 20;
  const median = async (shape: ForwardShape, keep: number, reps: number): Promise<number> => {
    const feeds = forwardFeeds(layout, shape, keep);
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const started = performance.now();
      await session.run(feeds);
      times.push(performance.now() - started);
    }
    return percentile(times, 0.5);
  };
  const prefillMs = await median(PREFILL, job.keep, PREFILL_REPS);
  const decodeMs = job.keep === 1 ? await Promise.all(DECODE.map((shape) => median(shape, 1, DECODE_REPS))) : undefined;
  // The decode steps run after the prefill is measured, and their peak is the prefill's or less.
  return { prefillMs, decodeMs, loadedRssMb, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

try {
  process.send!(await measure(JSON.parse(process.argv[2]!) as Job));
} catch (error) {
  process.send!({ error: (error as Error).message });
}
