// `node dist/tools/bench/peers-bench.js [--sentences 32] [--seed 42] [--slice 8] [--sequences 8]
// [--batch-size N] [--threads N] [--gguf-type Q8_0] [--peers llama-cpp,transformers-js]`: the default model
// through its peers on NCBI-disease test sentences, and the machine's GEMM peak, measured in
// one run: the peers take turns slice by slice, in rotating order, with a GEMM measurement in
// every round, so load from other work falls on all of them alike.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DecoderConfig } from '../model-builder/config.js';
import { ensureDefaultModel } from '../default-model/default-model.js';
import { EXPORT_TYPES, ensureDefaultGguf, type ExportType } from '../model-export/gguf-export.js';
import { flopsPerToken, measureGemm, peakGflops, type GemmRate } from './machine-limit.js';
import { PEERS, PeerProcess, type PeerName, type PeerResult } from './peers/peer.js';
import { machine, markdownTable } from './report.js';
import { sampleQueries, WORKLOADS } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    sentences: { type: 'string', default: '32' },
    seed: { type: 'string', default: '42' },
    slice: { type: 'string', default: '8' },
    sequences: { type: 'string' },
    'batch-size': { type: 'string' },
    threads: { type: 'string' },
    'gguf-type': { type: 'string', default: 'Q8_0' },
    'max-new-tokens': { type: 'string', default: '64' },
    peers: { type: 'string', default: PEERS.join(',') },
  },
});
const ggufType = args['gguf-type'] as ExportType;
if (!EXPORT_TYPES.includes(ggufType)) throw new Error(`--gguf-type must be one of ${EXPORT_TYPES.join(', ')}`);
const peerNames = args.peers.split(',') as PeerName[];
for (const name of peerNames) if (!PEERS.includes(name)) throw new Error(`unknown peer ${name}; peers: ${PEERS.join(', ')}`);
/** The GEMM peak is always measured on every core; the peers get --threads (default: every core). */
const cores = availableParallelism();
const threads = args.threads ? Number(args.threads) : cores;
const sliceSize = Number(args.slice);

const modelDir = await ensureDefaultModel();
const gguf = await ensureDefaultGguf(ggufType);
const workload = WORKLOADS.find((w) => w.name === 'ncbi-test')!;
const { queries } = await sampleQueries(workload, Number(args.sentences), Number(args.seed));
const host = machine();
console.error(`peers: ${host.cpu}, ${cores} cores, peers on ${threads} threads, load ${host.load_start.toFixed(2)}; ${queries.length} ${workload.name} sentences`);

const options = {
  modelDir,
  gguf,
  threads,
  maxNewTokens: Number(args['max-new-tokens']),
  ...(args.sequences ? { sequences: Number(args.sequences) } : {}),
  ...(args['batch-size'] ? { batchSize: Number(args['batch-size']) } : {}),
};
const peers: PeerProcess[] = [];
for (const name of peerNames) peers.push(await PeerProcess.start(name, options));
const totals = new Map<PeerName, PeerResult>();
const gemm: GemmRate[] = [];
try {
  // A warm-up query each (not counted): first-run allocations and thread start-up.
  for (const peer of peers) await peer.run(queries.slice(0, 1));
  for (let start = 0, round = 0; start < queries.length; start += sliceSize, round++) {
    const slice = queries.slice(start, start + sliceSize);
    const order = peers.map((_, i) => peers[(i + round) % peers.length]!);
    for (const peer of order) add(peer.name, await peer.run(slice));
    gemm.push(...await measureGemm({ threads: cores, runs: 3 }));
    console.error(`peers: ${Math.min(start + sliceSize, queries.length)}/${queries.length} sentences`);
  }
} finally {
  await Promise.all(peers.map((peer) => peer.close()));
}

function add(name: PeerName, result: PeerResult): void {
  const total = totals.get(name);
  totals.set(name, !total ? result : {
    answers: [...total.answers, ...result.answers],
    seconds: total.seconds + result.seconds,
    cpuSeconds: total.cpuSeconds + result.cpuSeconds,
    promptTokens: total.promptTokens + result.promptTokens,
    generatedTokens: total.generatedTokens + result.generatedTokens,
    peakRssMb: Math.max(total.peakRssMb, result.peakRssMb),
  });
}

const peak = peakGflops(gemm);
const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as DecoderConfig;
/**
 * The work any engine must do for a peer's answers: every prompt token once (earlier turns
 * reused) and every generated token but the last, through the layers; the LM head once per
 * generated token; attention at the mean position of a conversation, half its length.
 */
function requiredGflop(result: PeerResult): number {
  const fed = result.promptTokens + result.generatedTokens;
  const flops = flopsPerToken(config, fed / queries.length / 2);
  return (fed * (flops.layers + flops.attention) + result.generatedTokens * flops.lmHead) / 1e9;
}

const rows = peerNames.map((name) => ({ name, result: totals.get(name)! }));
console.log(`machine: ${host.cpu}, ${cores} cores, load ${host.load_start.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end; peers on ${threads} threads; GGUF ${ggufType}; ${queries.length} ${workload.name} sentences (seed ${args.seed})`);
console.log(markdownTable<(typeof rows)[number]>([
  ['peer', (r) => r.name],
  ['sent/s', (r) => (queries.length / r.result.seconds).toFixed(2)],
  ['seconds', (r) => r.result.seconds.toFixed(1)],
  ['cpu s', (r) => r.result.cpuSeconds.toFixed(1)],
  ['prompt tok', (r) => String(r.result.promptTokens)],
  ['gen tok', (r) => String(r.result.generatedTokens)],
  ['peak RSS MB', (r) => r.result.peakRssMb.toFixed(0)],
  ['GFLOP/s', (r) => (requiredGflop(r.result) / r.result.seconds).toFixed(1)],
  ['efficiency', (r) => (requiredGflop(r.result) / r.result.seconds / peak).toFixed(3)],
  // By CPU time against one core's share of the peak: other work on the machine barely moves it.
  ['eff. (cpu)', (r) => (requiredGflop(r.result) / r.result.cpuSeconds / (peak / cores)).toFixed(3)],
], rows, 1));
console.log('\nGEMM (ONNX Runtime, best of the rounds):');
const best = new Map<string, GemmRate>();
for (const rate of gemm) {
  const key = `${rate.precision} ${rate.m}x${rate.k}x${rate.n}`;
  if ((best.get(key)?.gflops ?? 0) < rate.gflops) best.set(key, rate);
}
console.log(markdownTable<[string, GemmRate]>([['product', ([key]) => key], ['G(FL)OP/s', ([, r]) => r.gflops.toFixed(1)]], [...best], 1));
if (rows.length === 2) {
  const [a, b] = rows.map((r) => r.result.answers.flat());
  const same = a!.filter((answer, i) => answer === b![i]).length;
  console.log(`\nidentical answers, ${rows[0]!.name} vs ${rows[1]!.name}: ${same}/${a!.length}`);
}
