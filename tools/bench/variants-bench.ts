// Weight variants and num_logits_to_keep on the pipeline's shapes: a prefill of 8 rows × 110
// tokens, and decode steps of 8 and 16 rows on 150 cached positions. Each (dtype, threads, keep)
// runs in a child process of its own, so its peak RSS is its own, and the children take turns
// round by round, so other work on the machine falls on all of them alike.
// `bioner-stream bench-variants`; each child is variants-process.ts.
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { integer, list, oneOf, parseCommandLine, text } from '../../src/cli/options.js';
import { MODEL_DTYPES, type ModelDtype } from '../../src/inference/onnx/decoder-session.js';
import { ensureDefaultModel } from '../default-model/default-model.js';
import type { ForwardShape } from './forward-feeds.js';
import { percentile } from './measure.js';

export const PREFILL: ForwardShape = { rows: 8, tokens: 110, past: 0 };
export const DECODE: readonly ForwardShape[] = [{ rows: 8, tokens: 1, past: 150 }, { rows: 16, tokens: 1, past: 150 }];

export interface Job {
  modelDir: string;
  dtype: ModelDtype;
  threads: number;
  /** Logits kept a row in the prefill: 1, or every position. */
  keep: number;
}

export interface Timing {
  prefillMs: number;
  /** Milliseconds a decode step, per DECODE shape; only measured with keep 1 (a step feeds one position anyway). */
  decodeMs?: number[];
  loadedRssMb: number;
  peakRssMb: number;
}

function runChild(job: Job): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const worker = fork(new URL('./variants-process.js', import.meta.url), [JSON.stringify(job)]);
    worker.once('message', (result: Timing | { error: string }) => ('error' in result ? reject(new Error(result.error)) : resolve(result)));
    worker.once('exit', (code) => code !== 0 && reject(new Error(`benchmark child exited with ${code}`)));
  });
}

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream bench-variants [options]',
  options: {
    model: text('DIR', 'the model directory (default: the shipped default model)'),
    dtypes: list('LIST', `weight variants: ${MODEL_DTYPES.join(', ')}`, ['fp32', 'q8']),
    threads: list('LIST', 'the intra-op thread counts to time', ['1', '2']),
    rounds: integer('rounds, each job once a round', 3),
  },
};

export async function variantsBenchCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandLine(argv, COMMAND_LINE);
  const modelDir = values.model ?? (await ensureDefaultModel());
  const jobs: Job[] = [];
  for (const threads of values.threads.map(Number)) {
    for (const dtype of values.dtypes.map((d) => oneOf(d, MODEL_DTYPES, '--dtypes'))) {
      for (const keep of [1, PREFILL.tokens]) jobs.push({ modelDir, dtype, threads, keep });
    }
  }
  const load = loadavg()[0]!.toFixed(2);
  const results = new Map<Job, Timing[]>(jobs.map((job) => [job, []]));
  const { rounds } = values;
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
