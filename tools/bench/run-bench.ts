// `npm run bench [-- --quick] [-- --out FILE.json]`: the pipeline on the real workload (the
// shipped fine-tuned model on three corpora), with the engine as it was before its speed-ups,
// each speed-up alone, and all of them, side by side in one run; see docs/performance.md.
// Every configuration runs in a process of its own (pipeline-process.ts), all started at once,
// and they take turns slice by slice in rotating order, so other work on the machine slows
// them alike.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Document } from '../../src/domain/types.js';
import { MODEL_FILES, type ModelDtype } from '../../src/inference/onnx/decoder-session.js';
import { ALL_FEATURES, type EngineFeatures } from '../../src/inference/onnx/generation-scheduler.js';
import { defaultWorkerCount } from '../../src/inference/onnx/inference-pool.js';
import { DEFAULT_ENGINE_OPTIONS } from '../../src/inference/onnx/onnx-backend.js';
import { addInference, noInference } from '../../src/observability/inference-stats.js';
import { ensureDefaultModel } from '../default-model/default-model.js';
import { percentile } from './measure.js';
import { PipelineRunner, type PipelineConfig, type PipelineRun } from './pipeline-runner.js';
import { machine, table, type BenchRow } from './report.js';
import { sampleDocuments, WORKLOADS } from './workloads.js';

interface Mode {
  name: string;
  features: EngineFeatures;
  dtype: ModelDtype;
}

/** The engine on main before the speed-ups: each conversation's own cache reused, batches in lockstep, logits at every position. */
const BEFORE: EngineFeatures = {
  reuse: true, prefixCache: false, jumpForward: false, promptLookup: false, stepBatching: false, lastLogitsOnly: false,
};
const alone = (feature: keyof EngineFeatures): EngineFeatures => ({ ...BEFORE, [feature]: true });

const MODES: Mode[] = [
  { name: 'before (main)', features: BEFORE, dtype: 'fp32' },
  { name: '+ prefix cache', features: alone('prefixCache'), dtype: 'fp32' },
  { name: '+ jump-forward', features: alone('jumpForward'), dtype: 'fp32' },
  { name: '+ prompt lookup', features: alone('promptLookup'), dtype: 'fp32' },
  { name: '+ step batching', features: alone('stepBatching'), dtype: 'fp32' },
  { name: '+ last logits only', features: alone('lastLogitsOnly'), dtype: 'fp32' },
  { name: 'all (fp32)', features: ALL_FEATURES, dtype: 'fp32' },
  { name: 'all (int8)', features: ALL_FEATURES, dtype: 'q8' },
];
const QUICK_MODES = ['before (main)', 'all (fp32)'];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    workloads: { type: 'string' },
    modes: { type: 'string' },
    documents: { type: 'string' },
    'inference-workers': { type: 'string' },
    seed: { type: 'string', default: '42' },
  },
});
const seed = Number(args.seed);
const workers = args['inference-workers'] ? Number(args['inference-workers']) : defaultWorkerCount();
const slices = args.quick ? 1 : 2;

const modelDir = await ensureDefaultModel();
const modes = MODES.filter((m) => (args.modes ? args.modes.split(',').includes(m.name) : !args.quick || QUICK_MODES.includes(m.name)))
  .filter((m) => existsSync(join(modelDir, 'onnx', MODEL_FILES[m.dtype])) || (console.error(`bench: no ${m.dtype} weights; skipping "${m.name}"`), false));
const workloads = WORKLOADS.filter((w) => !args.workloads || args.workloads.split(',').includes(w.name));
const settings = { seed, workers, slices, batch_size: 8, batch_wait_ms: 50, max_new_tokens: DEFAULT_ENGINE_OPTIONS.maxNewTokens, quick: args.quick };
const host = machine();
console.error(`bench: ${host.cpu}, ${host.cores} cores, load ${host.load_start.toFixed(2)}; ${modelDir}; ${JSON.stringify(settings)}`);

const configOf = (mode: Mode): PipelineConfig => ({
  modelDir, dtype: mode.dtype, features: mode.features, workers,
  batchSize: settings.batch_size, batchWaitMs: settings.batch_wait_ms, maxNewTokens: settings.max_new_tokens,
  // Step batching has a second batch per worker waiting to join as the first drains; lockstep runs one each.
  concurrency: mode.features.stepBatching ? 2 * workers : workers,
});
const runners = await Promise.all(modes.map((mode) => PipelineRunner.start(configOf(mode))));
const rows: BenchRow[] = [];
try {
  for (const workload of workloads) {
    const count = args.documents ? Number(args.documents) : workload.documents[args.quick ? 'quick' : 'full'];
    const { documents, population } = await sampleDocuments(workload, count, seed);
    console.error(`bench: ${workload.name}: ${documents.length} of ${population} documents, ${modes.length} modes`);
    // Warm-up, untimed: every process annotates the first document once.
    await Promise.all(runners.map((runner) => runner.run(documents.slice(0, 1), workload.types)));
    const runs = modes.map((): PipelineRun[] => []);
    const parts = chunk(documents, Math.ceil(documents.length / slices));
    for (const [turn, part] of parts.entries()) {
      for (let k = 0; k < modes.length; k++) {
        const m = (k + turn) % modes.length;
        runs[m]!.push(await runners[m]!.run(part, workload.types));
      }
    }
    const before = runs[modes.findIndex((m) => m.name === 'before (main)')] ?? runs[0]!;
    modes.forEach((mode, m) => rows.push(rowOf(workload.name, workload.types.length, mode.name, runs[m]!, before, documents)));
    console.error(`bench:   ${modes.map((mode, m) => `${mode.name} ${total(runs[m]!, (r) => r.seconds).toFixed(1)} s`).join(', ')}`);
  }
} finally {
  await Promise.all(runners.map((runner) => runner.stop()));
}

host.load_end = loadavg()[0]!;
console.log(`machine: ${host.cpu}, ${host.cores} cores, ${host.memory_gb} GB, ${host.os}, node ${host.node}, onnxruntime-node ${host.onnxruntime}`);
console.log(`load average (1 min): ${host.load_start.toFixed(2)} at start, ${host.load_end.toFixed(2)} at end`);
console.log(`model: ${modelDir}; settings: ${JSON.stringify(settings)}\n`);
console.log(table(rows));
if (args.out) {
  await writeFile(args.out, `${JSON.stringify(rows.map((row) => ({ ...row, machine: host, settings })), null, 2)}\n`);
  console.error(`bench: wrote ${rows.length} rows to ${args.out}`);
}

function rowOf(workload: string, types: number, mode: string, runs: PipelineRun[], before: PipelineRun[], documents: Document[]): BenchRow {
  const stats = noInference();
  for (const run of runs) addInference(stats, run.stats);
  const beforeStats = noInference();
  for (const run of before) addInference(beforeStats, run.stats);
  const seconds = total(runs, (r) => r.seconds);
  const sentences = total(runs, (r) => r.sentences);
  const entities = runs.flatMap((r) => r.entities);
  const beforeEntities = before.flatMap((r) => r.entities);
  return {
    workload, mode, documents: documents.length, sentences, queries: sentences * types, seconds,
    sentences_per_s: sentences / seconds,
    queries_per_s: (sentences * types) / seconds,
    p50_document_ms: percentile(runs.flatMap((r) => r.latenciesMs), 0.5),
    p95_document_ms: percentile(runs.flatMap((r) => r.latenciesMs), 0.95),
    prompt_tokens_fed: stats.promptTokens,
    cached_prompt_tokens: stats.cachedPromptTokens,
    prefix_cache_tokens: stats.prefixCacheTokens,
    generated_tokens: stats.generatedTokens,
    draft_tokens: stats.draftTokens,
    accepted_draft_tokens: stats.acceptedDraftTokens,
    fed_positions: stats.fedPositions,
    // What an exact engine that shares nothing across sentences must feed: each conversation's prompts and answers once.
    needed_tokens: beforeStats.promptTokens + beforeStats.generatedTokens,
    forward_passes: stats.forwardPasses,
    peak_rss_mb: Math.max(...runs.map((r) => r.peakRssMb)),
    workers,
    cpu_seconds: total(runs, (r) => r.cpuSeconds),
    ratio_vs_before: total(before, (r) => r.seconds) / seconds,
    ratio_vs_before_cpu: total(before, (r) => r.cpuSeconds) / total(runs, (r) => r.cpuSeconds),
    same_entities: entities.filter((e, i) => e.join() === beforeEntities[i]!.join()).length / entities.length,
  };
}

function total(runs: readonly PipelineRun[], of: (run: PipelineRun) => number): number {
  return runs.reduce((n, run) => n + of(run), 0);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}
