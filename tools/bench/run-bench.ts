// `bioner-stream bench` (`npm run bench [-- --quick] [-- --out FILE.json]`): the pipeline on the real workload (the
// shipped fine-tuned model on three corpora), with the engine as it was before its speed-ups,
// each speed-up alone, and all of them, and its peers on the same weights (llama.cpp,
// transformers.js), side by side in one run; see docs/performance.md. Every configuration and
// peer runs in a process of its own, all started at once, and they take turns on each
// workload's documents, in an order that rotates from one workload to the next. Efficiency is the work
// any engine must do over the machine's GEMM peak, measured with ONNX Runtime in the same run.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { choice, integer, oneOf, parseCommandLine, text, toggle, type Option } from '../../src/cli/options.js';
import { EXECUTION_PROVIDERS, MODEL_FILES, type ModelDtype } from '../../src/inference/onnx/decoder-session.js';
import { ALL_FEATURES, type EngineFeatures } from '../../src/inference/onnx/generation-scheduler.js';
import { noInference, type InferenceStats } from '../../src/observability/inference-stats.js';
import type { PipelineSettings } from '../../src/pipeline/assemble-pipeline.js';
import { defaultPipelineSettings, inferenceThreads } from '../../src/cli/common-options.js';
import { ensureDefaultModel } from '../default-model/default-model.js';
import type { DecoderConfig } from '../model-builder/config.js';
import { ensureDefaultGguf } from '../model-export/gguf-export.js';
import { flopsPerToken, measureGemm, peakGflops, type GemmRate } from './machine-limit.js';
import { percentile } from './measure.js';
import { PEERS, PeerProcess, type PeerName, type PeerResult } from './peers/peer.js';
import { PipelineRunner, type PipelineRun } from './pipeline-runner.js';
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

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream bench [options]   (npm run bench -- [options])',
  options: {
    quick: toggle('a short run: a few documents, "before (main)" against "all (fp32)", no peers'),
    out: text('FILE', 'also write the rows as JSON'),
    workloads: text('LIST', `only these workloads: ${WORKLOADS.map((w) => w.name).join(', ')} (default: all)`),
    modes: text('LIST', `only these engine configurations: ${MODES.map((m) => `"${m.name}"`).join(', ')} (default: all, two with --quick)`),
    documents: integer('documents per workload (default: the workload\'s, fewer with --quick)'),
    // Not `list`: `--peers ""` means none, where an empty list would mean the default.
    peers: { value: 'LIST', help: `peers on the same weights: ${PEERS.join(', ')}; "" for none (default: all, none with --quick)`,
      read: (raw: string | undefined) => raw?.split(',').filter(Boolean) } satisfies Option<string[] | undefined>,
    'execution-provider': choice(EXECUTION_PROVIDERS, 'where the pipeline\'s configurations run', 'cpu'),
    'inference-threads': inferenceThreads(),
    seed: integer('which documents are sampled', 42, { min: 0 }),
  },
};

export async function benchCommand(argv: string[]): Promise<void> {
  const { values: args } = parseCommandLine(argv, COMMAND_LINE);
  const { seed, 'execution-provider': executionProvider, 'inference-threads': workers } = args;
  const modelDir = await ensureDefaultModel();
  const modes = MODES.filter((m) => (args.modes ? args.modes.split(',').includes(m.name) : !args.quick || QUICK_MODES.includes(m.name)))
    .filter((m) => existsSync(join(modelDir, 'onnx', MODEL_FILES[m.dtype])) || (console.error(`bench: no ${m.dtype} weights; skipping "${m.name}"`), false));
  const workloads = WORKLOADS.filter((w) => !args.workloads || args.workloads.split(',').includes(w.name));
  const peerNames = (args.peers ?? (args.quick ? [] : [...PEERS])).map((name) => oneOf(name, PEERS, '--peers'));
  const cores = availableParallelism();
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as DecoderConfig;
  // Each workload's documents name their types; these are only the assembly's defaults.
  const defaults = defaultPipelineSettings(modelDir, [...new Set(workloads.flatMap((w) => w.types))]);
  const settings = {
    seed, inference_threads: workers, execution_provider: executionProvider, query_batch_size: defaults.queryBatches.size,
    query_batch_wait_ms: defaults.queryBatches.waitMs, max_new_tokens: defaults.engine.maxNewTokens, quick: args.quick,
  };
  const host = machine();
  console.error(`bench: ${host.cpu}, ${host.cores} cores, load ${host.load_start.toFixed(2)}; ${modelDir}; ${JSON.stringify(settings)}`);

  /** What `annotate` runs with the mode's weights and speed-ups. */
  const settingsOf = (mode: Mode): PipelineSettings => ({
    ...defaults,
    engine: { ...defaults.engine, dtype: mode.dtype, executionProvider, features: mode.features, threads: workers },
    // Step batching has a second batch per thread waiting to join as the first drains; lockstep runs one each.
    queryBatches: { ...defaults.queryBatches, inFlight: mode.features.stepBatching ? 2 * workers : workers },
  });
  const started = await Promise.allSettled(modes.map((mode) => PipelineRunner.start(settingsOf(mode))));
  const runners = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    // The started ones would keep this process alive.
    await Promise.all(runners.map((runner) => runner.stop()));
    throw failed.reason;
  }
  const peerOptions = { modelDir, gguf: await ensureDefaultGguf('Q8_0'), threads: cores, maxNewTokens: settings.max_new_tokens };
  const peers = await Promise.all(peerNames.map((name) => PeerProcess.start(name, peerOptions)));
  const gemm: GemmRate[] = [];
  const rows: BenchRow[] = [];
  try {
    for (const [turn, workload] of workloads.entries()) {
      const count = args.documents ?? workload.documents[args.quick ? 'quick' : 'full'];
      const { documents, population } = await sampleDocuments(workload, count, seed);
      const queries = queriesOf(workload, documents);
      console.error(`bench: ${workload.name}: ${documents.length} of ${population} documents, ${modes.length} modes`);
      // Warm-up, untimed: every process annotates the first document once.
      await Promise.all(runners.map((runner) => runner.run(documents.slice(0, 1), workload.types)));
      for (const peer of peers) await peer.run(queriesOf(workload, documents.slice(0, 1)));
      // All documents at once: the more in flight, the less one long answer decoding alone weighs.
      const summaries: Summary[] = new Array(modes.length + peers.length);
      for (let k = 0; k < summaries.length; k++) {
        const c = (k + turn) % summaries.length;
        summaries[c] = c < modes.length
          ? summaryOf(modes[c]!.name, await runners[c]!.run(documents, workload.types), workers)
          : peerSummaryOf(PEER_NAMES[peers[c - modes.length]!.name], await peers[c - modes.length]!.run(queries));
      }
      gemm.push(...(await measureGemm({ threads: cores, runs: 3 })));
      const before = summaries[modes.findIndex((m) => m.name === 'before (main)')] ?? summaries[0]!;
      for (const summary of summaries) rows.push(rowOf(workload.name, workload.types.length, documents.length, summary, before));
      console.error(`bench:   ${summaries.map((r) => `${r.mode} ${r.seconds.toFixed(1)} s`).join(', ')}`);
    }
  } finally {
    await Promise.all([...runners.map((runner) => runner.stop()), ...peers.map((peer) => peer.close())]);
  }
  const peak = peakGflops(gemm);
  for (const row of rows) row.efficiency = requiredFlops(row, config) / 1e9 / row.seconds / peak;

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
}

/** What one configuration or peer did on a workload. */
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

function summaryOf(mode: string, run: PipelineRun, workers: number): Summary {
  const { seconds, cpuSeconds, sentences, latenciesMs, stats, peakRssMb, entities } = run;
  return { mode, workers, seconds, cpuSeconds, sentences, latenciesMs, stats, peakRssMb, entities };
}

function peerSummaryOf(mode: string, run: PeerResult): Summary {
  const stats = noInference();
  stats.promptTokens = run.promptTokens;
  stats.generatedTokens = run.generatedTokens;
  stats.fedPositions = run.promptTokens + run.generatedTokens;
  const { seconds, cpuSeconds, peakRssMb } = run;
  return { mode, stats, seconds, cpuSeconds, peakRssMb, sentences: run.answers.length, workers: null, latenciesMs: null, entities: null };
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
function requiredFlops(row: BenchRow, config: DecoderConfig): number {
  const flops = flopsPerToken(config, row.needed_tokens / row.sentences / 2);
  return row.needed_tokens * (flops.layers + flops.attention) + row.needed_generated_tokens * flops.lmHead;
}
