// Weight variants and num_logits_to_keep on the pipeline's shapes: a prefill of 8 rows × 110
// tokens, and decode steps of 8 and 16 rows on 150 cached positions. Each (dtype, threads, keep)
// runs in a child process of its own, so its peak RSS is its own, and the children take turns
// round by round, so other work on the machine falls on all of them alike.
//
//   node dist/tools/bench/variants-bench.js [--model DIR] [--dtypes fp32,q8] [--threads 1,2] [--rounds 3]
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createSession, decoderLayout, keepsLogits, modelPath, type ModelDtype } from '../../src/inference/onnx/decoder-session.js';
import { ensureDefaultModel } from '../default-model/default-model.js';
import { forwardFeeds, type ForwardShape } from './forward-feeds.js';
import { percentile } from './measure.js';

const PREFILL: ForwardShape = { rows: 8, tokens: 110, past: 0 };
const DECODE: readonly ForwardShape[] = [{ rows: 8, tokens: 1, past: 150 }, { rows: 16, tokens: 1, past: 150 }];
const PREFILL_REPS = 3;
const DECODE_REPS = 10;

interface Job {
  modelDir: string;
  dtype: ModelDtype;
  threads: number;
  /** Logits kept a row in the prefill: 1, or every position. */
  keep: number;
}

interface Timing {
  prefillMs: number;
  /** Milliseconds a decode step, per DECODE shape; only measured with keep 1 (a step feeds one position anyway). */
  decodeMs?: number[];
  loadedRssMb: number;
  peakRssMb: number;
}

async function child(job: Job): Promise<Timing> {
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

function runChild(job: Job): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const worker = fork(new URL(import.meta.url), ['--child', JSON.stringify(job)]);
    worker.once('message', (result: Timing | { error: string }) => ('error' in result ? reject(new Error(result.error)) : resolve(result)));
    worker.once('exit', (code) => code !== 0 && reject(new Error(`benchmark child exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      model: { type: 'string' },
      dtypes: { type: 'string', default: 'fp32,q8' },
      threads: { type: 'string', default: '1,2' },
      rounds: { type: 'string', default: '3' },
    },
  });
  if (values.child) {
    try {
      process.send!(await child(JSON.parse(values.child) as Job));
    } catch (error) {
      process.send!({ error: (error as Error).message });
    }
    return;
  }
  const modelDir = values.model ?? (await ensureDefaultModel());
  const jobs: Job[] = [];
  for (const threads of values.threads.split(',').map(Number)) {
    for (const dtype of values.dtypes.split(',') as ModelDtype[]) {
      for (const keep of [1, PREFILL.tokens]) jobs.push({ modelDir, dtype, threads, keep });
    }
  }
  const load = loadavg()[0]!.toFixed(2);
  const results = new Map<Job, Timing[]>(jobs.map((job) => [job, []]));
  const rounds = Number(values.rounds);
  for (let round = 0; round < rounds; round++) {
    // Rotating order, so no job always runs first after the previous round.
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[(i + round) % jobs.length]!;
      results.get(job)!.push(await runChild(job));
    }
  }
  console.log(`model ${modelDir}; ${rounds} rounds; load average (1 min) ${load} at start, ${loadavg()[0]!.toFixed(2)} at end`);
  console.log(`prefill ${PREFILL.rows} × ${PREFILL.tokens} tokens; decode steps of ${DECODE.map((s) => s.rows).join(' and ')} rows on ${DECODE[0]!.past} cached positions; medians`);
  console.log('| dtype | threads | keep | prefill ms | prefill tok/s | decode ms/step b8 | decode ms/step b16 | RSS loaded MB | peak RSS MB |');
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  const median = (values: number[]) => percentile(values, 0.5);
  for (const job of jobs) {
    const timings = results.get(job)!;
    const prefill = median(timings.map((t) => t.prefillMs));
    const decode = DECODE.map((_, i) => (job.keep === 1 ? median(timings.map((t) => t.decodeMs![i]!)).toFixed(1) : ''));
    console.log(`| ${job.dtype} | ${job.threads} | ${job.keep} | ${prefill.toFixed(0)} | ${((PREFILL.rows * PREFILL.tokens * 1000) / prefill).toFixed(0)} | ` +
      `${decode.join(' | ')} | ${median(timings.map((t) => t.loadedRssMb)).toFixed(0)} | ${median(timings.map((t) => t.peakRssMb)).toFixed(0)} |`);
  }
}

await main();
