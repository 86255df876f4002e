// The benchmark's output: one record per (workload, mode), printed as a table and
// written as JSON, with the machine it ran on.
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { createRequire } from 'node:module';

export interface BenchRow {
  workload: string;
  mode: string;
  documents: number;
  sentences: number;
  /** (sentence, type) questions. */
  queries: number;
  seconds: number;
  sentences_per_s: number;
  queries_per_s: number;
  /** Per document, from the moment the workload's documents were submitted; null for peers, which take sentences. */
  p50_document_ms: number | null;
  p95_document_ms: number | null;
  prompt_tokens_fed: number;
  cached_prompt_tokens: number;
  prefix_cache_tokens: number;
  generated_tokens: number;
  draft_tokens: number;
  accepted_draft_tokens: number;
  /** Token positions the forward passes computed, padding included. */
  fed_positions: number;
  /** Each conversation's prompt and answer tokens once: what an engine sharing nothing across sentences must feed. */
  needed_tokens: number;
  /** Of those, generated (each needs the LM head). */
  needed_generated_tokens: number;
  forward_passes: number;
  /** Of the configuration's process: the pipeline and all its inference workers (null for peers). */
  peak_rss_mb: number;
  workers: number | null;
  cpu_seconds: number;
  /** Sentences/s over the engine before the speed-ups, in the same run; and the same by CPU time. */
  ratio_vs_before: number;
  ratio_vs_before_cpu: number;
  /** Share of documents whose entities are identical to the engine-before's; null for peers. */
  same_entities: number | null;
  /** The work any engine must do (FLOPs) per second, over the machine's GEMM peak. */
  efficiency: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memory_gb: number;
  os: string;
  node: string;
  onnxruntime: string;
  /** 1-minute load average at the start and the end: above 0 means other work shared the cores. */
  load_start: number;
  load_end?: number;
}

export function machine(): Machine {
  const ort = createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string };
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memory_gb: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    onnxruntime: ort.version,
    load_start: loadavg()[0]!,
  };
}

const COLUMNS: [string, (r: BenchRow) => string][] = [
  ['workload', (r) => r.workload],
  ['mode', (r) => r.mode],
  ['sent/s', (r) => r.sentences_per_s.toFixed(2)],
  ['queries/s', (r) => r.queries_per_s.toFixed(2)],
  ['p50 doc ms', (r) => fixed(r.p50_document_ms, 0)],
  ['p95 doc ms', (r) => fixed(r.p95_document_ms, 0)],
  ['fed / needed tok', (r) => `${Math.round(r.fed_positions)} / ${r.needed_tokens}`],
  ['prefix-cached', (r) => String(r.prefix_cache_tokens)],
  ['drafts kept', (r) => `${r.accepted_draft_tokens}/${r.draft_tokens}`],
  ['passes', (r) => String(r.forward_passes)],
  ['peak RSS MB', (r) => (r.workers === null ? r.peak_rss_mb.toFixed(0) : `${r.peak_rss_mb.toFixed(0)} (${r.workers}w)`)],
  ['x before', (r) => r.ratio_vs_before.toFixed(2)],
  ['x before (cpu)', (r) => r.ratio_vs_before_cpu.toFixed(2)],
  ['same', (r) => fixed(r.same_entities, 2)],
  ['of GEMM peak', (r) => r.efficiency.toFixed(3)],
];

const fixed = (value: number | null, digits: number) => (value === null ? '' : value.toFixed(digits));

/** A Markdown table, so it can go into docs/performance.md as printed. */
export function table(rows: readonly BenchRow[]): string {
  return markdownTable(COLUMNS, rows, 2);
}

/** Rows as a Markdown table of `columns`: the first `textColumns` left-aligned, the rest right-aligned. */
export function markdownTable<R>(columns: readonly [string, (row: R) => string][], rows: readonly R[], textColumns: number): string {
  const cells = rows.map((r) => columns.map(([, cell]) => cell(r)));
  const widths = columns.map(([title], i) => Math.max(title.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]) => `| ${values.map((v, i) => (i < textColumns ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < textColumns ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`;
  return [line(columns.map(([title]) => title)), rule, ...cells.map(line)].join('\n');
}
