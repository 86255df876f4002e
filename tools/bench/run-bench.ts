// `npm run bench [-- --quick] [-- --out FILE.json]`: answers/s of the inference modes on two
// shared corpora with two generated model sizes, each against the naive way measured in the
// same run and the default mode against its roofline (the bare session doing the same forward
// passes). One process; fixed seeds; see docs/performance.md for how to read it.
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Query } from '../../src/domain/types.js';
import { type InferenceMode } from '../../src/inference/onnx/conversation-engine.js';
import type { ForwardShape } from '../../src/inference/onnx/generate.js';
import { InferencePool } from '../../src/inference/onnx/inference-pool.js';
import { OnnxBackend } from '../../src/inference/onnx/onnx-backend.js';
import { projectPath } from '../../src/project.js';
import { loadPromptTemplate } from '../../src/stages/build-prompt.js';
import { percentile, Tally } from './measure.js';
import { machine, table, type BenchRow } from './report.js';
import { Roofline } from './roofline.js';
import { sampleQueries, WORKLOADS } from './workloads.js';

interface Mode {
  name: string;
  template: 'conv_term' | 'universalner';
  inferenceMode: InferenceMode;
  constrained: boolean;
  /** The naive mode with the same prompts. */
  naive: string;
}

const MODES: Mode[] = [
  { name: 'naive-multi-turn', template: 'conv_term', inferenceMode: 'naive', constrained: false, naive: 'naive-multi-turn' },
  { name: 'multi-turn-reuse', template: 'conv_term', inferenceMode: 'reuse', constrained: false, naive: 'naive-multi-turn' },
  { name: 'multi-turn-reuse+constrained', template: 'conv_term', inferenceMode: 'reuse', constrained: true, naive: 'naive-multi-turn' },
  { name: 'naive-independent', template: 'universalner', inferenceMode: 'naive', constrained: false, naive: 'naive-independent' },
  { name: 'shared-prefix', template: 'universalner', inferenceMode: 'reuse', constrained: false, naive: 'naive-independent' },
  { name: 'shared-prefix+constrained', template: 'universalner', inferenceMode: 'reuse', constrained: true, naive: 'naive-independent' },
];
/** The default configuration, whose forward passes the roofline replays. */
const DEFAULT_MODE = 'multi-turn-reuse+constrained';

/** Sentences per workload by model: what fits a full run in 15 minutes on 2 cores (--quick: 2). */
const PLANS = {
  full: { 'tiny-qwen2': 32, 'qwen2.5-0.5b-shape': 16 },
  quick: { 'tiny-qwen2': 16 },
} as const;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    sentences: { type: 'string' },
    models: { type: 'string' },
    'batch-size': { type: 'string', default: '8' },
    'max-new-tokens': { type: 'string', default: '8' },
    'inference-workers': { type: 'string' },
    seed: { type: 'string', default: '42' },
  },
});
const plan: Record<string, number> = { ...(args.quick ? PLANS.quick : PLANS.full) };
if (args.models) for (const model of Object.keys(plan)) if (!args.models.split(',').includes(model)) delete plan[model];
if (args.sentences) for (const model of Object.keys(plan)) plan[model] = Number(args.sentences);
const batchSize = Number(args['batch-size']);
const maxNewTokens = Number(args['max-new-tokens']);
const seed = Number(args.seed);
const settings = { batch_size: batchSize, max_new_tokens: maxNewTokens, seed, quick: args.quick, sentences: plan };

const { buildTestModel } = await import(projectPath('scripts', 'build-test-model.mjs'));
const host = machine();
const rows: BenchRow[] = [];
console.error(`bench: ${host.cpu}, ${host.cores} cores, load ${host.load_start.toFixed(2)}; ${JSON.stringify(settings)}`);

for (const [preset, count] of Object.entries(plan)) {
  const { dir } = await buildTestModel({ preset });
  const pool = await InferencePool.start({ modelDir: dir, ...(args['inference-workers'] ? { workers: Number(args['inference-workers']) } : {}) });
  const bare = await Roofline.start(dir, pool.size);
  try {
    for (const workload of WORKLOADS) {
      const { queries, population } = await sampleQueries(workload, count, seed);
      const batches = chunk(queries, batchSize);
      console.error(`bench: ${preset} × ${workload.name}: ${queries.length} of ${population} sentences, ${pool.size} worker(s)`);
      const backendFor = (mode: Mode) =>
        new OnnxBackend(pool, {
          template: loadPromptTemplate(mode.template),
          inferenceMode: mode.inferenceMode,
          constrained: mode.constrained,
          maxNewTokens,
        });
      // Warm-up, untimed: a batch per worker.
      const warmUp = backendFor(MODES.find((m) => m.name === DEFAULT_MODE)!);
      const warmUpBatches = await Promise.all(batches.slice(0, pool.size).map((batch) => warmUp.answerWithStats(batch)));
      await bare.replay(warmUpBatches.map((b) => b.forwards));
      // Modes take turns slice by slice, in rotating order, and the roofline replays the default
      // mode's forward passes right after them: other work on the machine then slows all alike.
      const tallies = new Map(MODES.map((mode) => [mode.name, new Tally()]));
      const roofline = { seconds: 0, cpuSeconds: 0 };
      for (let first = 0, turn = 0; first < batches.length; first += pool.size, turn++) {
        const slice = batches.slice(first, first + pool.size);
        for (const mode of MODES.map((_, k) => MODES[(k + turn) % MODES.length]!)) {
          const forwards = await tallies.get(mode.name)!.run(backendFor(mode), slice);
          if (mode.name === DEFAULT_MODE) await replay(bare, forwards, roofline);
        }
      }
      for (const mode of MODES) rows.push(rowOf(workload.name, preset, mode, tallies, pool.size));
      rows.push(rooflineRow(workload.name, preset, roofline, tallies));
      console.error(`bench:   ${MODES.map((m) => `${m.name} ${tallies.get(m.name)!.seconds.toFixed(1)} s`).join(', ')}`);
    }
  } finally {
    await Promise.all([pool.close(), bare.close()]);
  }
}

host.load_end = loadavg()[0]!;
console.log(`machine: ${host.cpu}, ${host.cores} cores, ${host.memory_gb} GB, ${host.os}, node ${host.node}, onnxruntime-node ${host.onnxruntime}`);
console.log(`load average (1 min): ${host.load_start.toFixed(2)} at start, ${host.load_end.toFixed(2)} at end`);
console.log(`settings: ${JSON.stringify(settings)}\n`);
console.log(table(rows));
if (args.out) {
  await writeFile(args.out, `${JSON.stringify(rows.map((row) => ({ ...row, machine: host, settings })), null, 2)}\n`);
  console.error(`bench: wrote ${rows.length} rows to ${args.out}`);
}

function rowOf(workload: string, model: string, mode: Mode, tallies: Map<string, Tally>, workers: number): BenchRow {
  const tally = tallies.get(mode.name)!;
  const naive = tallies.get(mode.naive)!;
  const answers = tally.answers.reduce((n, a) => n + a.length, 0);
  const raws = (t: Tally) => t.answers.flat().map((a) => a.raw);
  const naiveRaws = raws(naive);
  return {
    workload,
    model,
    mode: mode.name,
    sentences: tally.sentences,
    answers,
    seconds: tally.seconds,
    sentences_per_s: tally.sentences / tally.seconds,
    answers_per_s: answers / tally.seconds,
    prompt_tokens_fed: tally.stats.promptTokens,
    cached_prompt_tokens: tally.stats.cachedPromptTokens,
    generated_tokens: tally.stats.generatedTokens,
    constraint_overrides: tally.stats.constraintOverrides,
    p50_batch_ms: percentile(tally.batchMs, 0.5),
    p95_batch_ms: percentile(tally.batchMs, 0.95),
    peak_rss_mb: tally.peakRss / 2 ** 20,
    ratio_vs_naive: naive.seconds / tally.seconds,
    cpu_seconds: tally.cpuSeconds,
    ratio_vs_naive_cpu: naive.cpuSeconds / tally.cpuSeconds,
    same_answers_as_naive: mode.constrained ? null : raws(tally).filter((raw, i) => raw === naiveRaws[i]).length / naiveRaws.length,
    forward_share: tally.stats.forwardSeconds / (tally.seconds * workers),
    efficiency: null,
    efficiency_cpu: null,
  };
}

/** Each batch's forward passes on a bare session, the batches at once as they ran (one per worker); adds the wall and CPU time. */
async function replay(bare: Roofline, batches: ForwardShape[][], into: { seconds: number; cpuSeconds: number }): Promise<void> {
  const { ms, cpuSeconds } = await bare.replay(batches);
  into.seconds += ms / 1000;
  into.cpuSeconds += cpuSeconds;
}

/** The roofline of the default mode: its forward passes alone. Sets that mode's efficiency. */
function rooflineRow(workload: string, model: string, roofline: { seconds: number; cpuSeconds: number }, tallies: Map<string, Tally>): BenchRow {
  const pipeline = rows.find((r) => r.workload === workload && r.model === model && r.mode === DEFAULT_MODE)!;
  pipeline.efficiency = roofline.seconds / pipeline.seconds;
  pipeline.efficiency_cpu = roofline.cpuSeconds / pipeline.cpu_seconds;
  const naive = tallies.get('naive-multi-turn')!;
  return {
    ...pipeline,
    mode: `roofline (${DEFAULT_MODE})`,
    seconds: roofline.seconds,
    sentences_per_s: pipeline.sentences / roofline.seconds,
    answers_per_s: pipeline.answers / roofline.seconds,
    p50_batch_ms: null,
    p95_batch_ms: null,
    peak_rss_mb: null,
    ratio_vs_naive: naive.seconds / roofline.seconds,
    cpu_seconds: roofline.cpuSeconds,
    ratio_vs_naive_cpu: naive.cpuSeconds / roofline.cpuSeconds,
    same_answers_as_naive: null,
    forward_share: 1,
    efficiency: 1,
    efficiency_cpu: 1,
  };
}

function chunk(queries: Query[], size: number): Query[][] {
  return Array.from({ length: Math.ceil(queries.length / size) }, (_, i) => queries.slice(i * size, (i + 1) * size));
}
