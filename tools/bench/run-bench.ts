// `npm run bench [-- --quick] [-- --out FILE.json]`: the pipeline on the real workload (the
// shipped fine-tuned model on three corpora), with the engine as it was before its speed-ups,
// each speed-up alone, and all of them, and its peers on the same weights (llama.cpp,
// transformers.js), side by side in one run; see docs/performance.md. Every configuration and
// peer runs in a process of its own, all started at once, and they take turns slice by slice
// in rotating order, so other work on the machine slows them alike. Efficiency is the work
// any engine must do over the machine's GEMM peak, measured with ONNX Runtime in the same run.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MODEL_FILES, type ModelDtype } from '../../src/inference/onnx/decoder-session.js';
import { ALL_FEATURES, type EngineFeatures } from '../../src/inference/onnx/generation-scheduler.js';
import { defaultWorkerCount } from '../../src/inference/onnx/inference-pool.js';
import { DEFAULT_ENGINE_OPTIONS } from '../../src/inference/onnx/onnx-backend.js';
import { addInference, noInference, type InferenceStats } from '../../src/observability/inference-stats.js';
import { ensureDefaultModel } from '../default-model/default-model.js';
import type { DecoderConfig } from '../model-builder/config.js';
import { ensureDefaultGguf } from '../model-export/gguf-export.js';
import { flopsPerToken, measureGemm, peakGflops, type GemmRate } from './machine-limit.js';
import { percentile } from './measure.js';
import { PEERS, PeerProcess, type PeerName, type PeerResult } from './peers/peer.js';
import { PipelineRunner, type PipelineConfig, type PipelineRun } from './pipeline-runner.js';
import { machine, table, type BenchRow } from './report.js';
import { queriesOf, sampleDocuments, WORKLOADS } from './workloads.js';

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
const PEER_NAMES: Record<PeerName, string> = { 'llama-cpp': 'llama.cpp (Q8_0 GGUF)', 'transformers-js': 'transformers.js generate()' };

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    workloads: { type: 'string' },
    modes: { type: 'string' },
    documents: { type: 'string' },
    peers: { type: 'string' },
    'inference-workers': { type: 'string' },
    seed: { type: 'string', default: '42' },
  },
});
const seed = Number(args.seed);
const workers = args['inference-workers'] ? Number(args['inference-workers']) : defaultWorkerCount();
// One slice a workload: the more documents in flight, the less one long answer decoding alone weighs.
const slices = 1;

const modelDir = await ensureDefaultModel();
const modes = MODES.filter((m) => (args.modes ? args.modes.split(',').includes(m.name) : !args.quick || QUICK_MODES.includes(m.name)))
  .filter((m) => existsSync(join(modelDir, 'onnx', MODEL_FILES[m.dtype])) || (console.error(`bench: no ${m.dtype} weights; skipping "${m.name}"`), false));
const workloads = WORKLOADS.filter((w) => !args.workloads || args.workloads.split(',').includes(w.name));
const peerNames = (args.peers === undefined ? (args.quick ? [] : [...PEERS]) : args.peers.split(',').filter(Boolean)) as PeerName[];
for (const name of peerNames) if (!PEERS.includes(name)) throw new Error(`unknown peer ${name}; peers: ${PEERS.join(', ')}`);
const cores = availableParallelism();
const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as DecoderConfig;
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
const peerOptions = { modelDir, gguf: await ensureDefaultGguf('Q8_0'), threads: cores, maxNewTokens: settings.max_new_tokens };
const peers = await Promise.all(peerNames.map((name) => PeerProcess.start(name, peerOptions)));
const gemm: GemmRate[] = [];
const rows: BenchRow[] = [];
try {
  for (const workload of workloads) {
    const count = args.documents ? Number(args.documents) : workload.documents[args.quick ? 'quick' : 'full'];
    const { documents, population } = await sampleDocuments(workload, count, seed);
    console.error(`bench: ${workload.name}: ${documents.length} of ${population} documents, ${modes.length} modes`);
    // Warm-up, untimed: every process annotates the first document once.
    await Promise.all(runners.map((runner) => runner.run(documents.slice(0, 1), workload.types)));
    for (const peer of peers) await peer.run(queriesOf(workload, documents.slice(0, 1)));
    const runs = modes.map((): PipelineRun[] => []);
    const peerRuns = peers.map((): PeerResult[] => []);
    const parts = chunk(documents, Math.ceil(documents.length / slices));
    for (const [turn, part] of parts.entries()) {
      const contestants = modes.length + peers.length;
      for (let k = 0; k < contestants; k++) {
        const c = (k + turn) % contestants;
        if (c < modes.length) runs[c]!.push(await runners[c]!.run(part, workload.types));
        else peerRuns[c - modes.length]!.push(await peers[c - modes.length]!.run(queriesOf(workload, part)));
      }
      gemm.push(...(await measureGemm({ threads: cores, runs: 3 })));
    }
    const before = runs[modes.findIndex((m) => m.name === 'before (main)')] ?? runs[0]!;
    const summaries = [
      ...modes.map((mode, m) => summaryOf(mode.name, runs[m]!)),
      ...peers.map((peer, p) => peerSummaryOf(PEER_NAMES[peer.name], peerRuns[p]!)),
    ];
    const baseline = summaryOf('before', before);
    for (const summary of summaries) rows.push(rowOf(workload.name, workload.types.length, documents.length, summary, baseline));
    console.error(`bench:   ${summaries.map((r) => `${r.mode} ${r.seconds.toFixed(1)} s`).join(', ')}`);
  }
} finally {
  await Promise.all([...runners.map((runner) => runner.stop()), ...peers.map((peer) => peer.close())]);
}
const peak = peakGflops(gemm);
for (const row of rows) row.efficiency = requiredFlops(row) / 1e9 / row.seconds / peak;

host.load_end = loadavg()[0]!;
console.log(`machine: ${host.cpu}, ${host.cores} cores, ${host.memory_gb} GB, ${host.os}, node ${host.node}, onnxruntime-node ${host.onnxruntime}`);
console.log(`load average (1 min): ${host.load_start.toFixed(2)} at start, ${host.load_end.toFixed(2)} at end`);
console.log(`model: ${modelDir}; settings: ${JSON.stringify(settings)}`);
console.log(`GEMM peak (ONNX Runtime, fp32, ${cores} threads, best of the run): ${peak.toFixed(0)} GFLOP/s\n`);
console.log(table(rows));
if (args.out) {
  await writeFile(args.out, `${JSON.stringify(rows.map((row) => ({ ...row, machine: host, settings })), null, 2)}\n`);
  console.error(`bench: wrote ${rows.length} rows to ${args.out}`);
}

/** What one configuration or peer did on a workload, summed over its slices. */
interface Summary {
  mode: string;
  seconds: number;
  cpuSeconds: number;
  sentences: number;
  /** Per document; none for peers, which take sentences. */
  latenciesMs: number[] | null;
  stats: InferenceStats;
  peakRssMb: number;
  workers: number | null;
  /** Per document, for the pipeline's configurations. */
  entities: string[][] | null;
}

function summaryOf(mode: string, runs: readonly PipelineRun[]): Summary {
  const stats = noInference();
  for (const run of runs) addInference(stats, run.stats);
  return {
    mode, stats, workers,
    seconds: total(runs, (r) => r.seconds),
    cpuSeconds: total(runs, (r) => r.cpuSeconds),
    sentences: total(runs, (r) => r.sentences),
    latenciesMs: runs.flatMap((r) => r.latenciesMs),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    entities: runs.flatMap((r) => r.entities),
  };
}

function peerSummaryOf(mode: string, runs: readonly PeerResult[]): Summary {
  const stats = noInference();
  stats.promptTokens = total(runs, (r) => r.promptTokens);
  stats.generatedTokens = total(runs, (r) => r.generatedTokens);
  stats.fedPositions = stats.promptTokens + stats.generatedTokens;
  return {
    mode, stats, workers: null, latenciesMs: null, entities: null,
    seconds: total(runs, (r) => r.seconds),
    cpuSeconds: total(runs, (r) => r.cpuSeconds),
    sentences: total(runs, (r) => r.answers.length),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
  };
}

function rowOf(workload: string, types: number, documents: number, run: Summary, before: Summary): BenchRow {
  const { stats, seconds, sentences } = run;
  const { entities } = run;
  const beforeEntities = before.entities!;
  return {
    workload, mode: run.mode, documents, sentences, queries: sentences * types, seconds,
    sentences_per_s: sentences / seconds,
    queries_per_s: (sentences * types) / seconds,
    p50_document_ms: run.latenciesMs && percentile(run.latenciesMs, 0.5),
    p95_document_ms: run.latenciesMs && percentile(run.latenciesMs, 0.95),
    prompt_tokens_fed: stats.promptTokens,
    cached_prompt_tokens: stats.cachedPromptTokens,
    prefix_cache_tokens: stats.prefixCacheTokens,
    generated_tokens: stats.generatedTokens,
    draft_tokens: stats.draftTokens,
    accepted_draft_tokens: stats.acceptedDraftTokens,
    fed_positions: stats.fedPositions,
    // What an exact engine that shares nothing across sentences must feed: each conversation's prompts and answers once.
    needed_tokens: before.stats.promptTokens + before.stats.generatedTokens,
    needed_generated_tokens: before.stats.generatedTokens,
    forward_passes: stats.forwardPasses,
    peak_rss_mb: run.peakRssMb,
    workers: run.workers,
    cpu_seconds: run.cpuSeconds,
    ratio_vs_before: before.seconds / seconds,
    ratio_vs_before_cpu: before.cpuSeconds / run.cpuSeconds,
    same_entities: entities && entities.filter((e, i) => e.join() === beforeEntities[i]!.join()).length / entities.length,
    efficiency: 0,
  };
}

/**
 * The work any engine must do on the workload: every needed token through the layers and
 * attention (at half the mean conversation's length), and the LM head once per generated token.
 */
function requiredFlops(row: BenchRow): number {
  const flops = flopsPerToken(config, row.needed_tokens / row.sentences / 2);
  return row.needed_tokens * (flops.layers + flops.attention) + row.needed_generated_tokens * flops.lmHead;
}

function total<R>(runs: readonly R[], of: (run: R) => number): number {
  return runs.reduce((n, run) => n + of(run), 0);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}
