// The benchmark's output: one record per (workload, model, mode), printed as a table and
// written as JSON, with the machine it ran on.
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { createRequire } from 'node:module';

export interface BenchRow {
  workload: string;
  model: string;
  mode: string;
  sentences: number;
  answers: number;
  seconds: number;
  sentences_per_s: number;
  answers_per_s: number;
  prompt_tokens_fed: number;
  cached_prompt_tokens: number;
  generated_tokens: number;
  constraint_overrides: number;
  /** Batch latencies and peak RSS: null on the roofline, which has no batches. */
  p50_batch_ms: number | null;
  p95_batch_ms: number | null;
  peak_rss_mb: number | null;
  /** answers/s over the naive mode's with the same prompts, in the same run. */
  ratio_vs_naive: number | null;
  /** CPU seconds of the whole process; the naive mode's over this mode's, per answer. */
  cpu_seconds: number;
  ratio_vs_naive_cpu: number | null;
  /** Share of answers identical to the naive mode's (unconstrained modes). */
  same_answers_as_naive: number | null;
  /** Time inside session.run over wall time, per worker. */
  forward_share: number | null;
  /** answers/s over the roofline's for the same forward passes; and the same by CPU time. */
  efficiency: number | null;
  efficiency_cpu: number | null;
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
  ['model', (r) => r.model],
  ['mode', (r) => r.mode],
  ['sent/s', (r) => r.sentences_per_s.toFixed(2)],
  ['answers/s', (r) => r.answers_per_s.toFixed(2)],
  ['prompt tok fed', (r) => String(r.prompt_tokens_fed)],
  ['gen tok', (r) => String(r.generated_tokens)],
  ['p50 ms', (r) => fixed(r.p50_batch_ms, 0)],
  ['p95 ms', (r) => fixed(r.p95_batch_ms, 0)],
  ['peak RSS MB', (r) => fixed(r.peak_rss_mb, 0)],
  ['x naive', (r) => fixed(r.ratio_vs_naive, 2)],
  ['x naive (cpu)', (r) => fixed(r.ratio_vs_naive_cpu, 2)],
  ['same', (r) => fixed(r.same_answers_as_naive, 2)],
  ['efficiency', (r) => fixed(r.efficiency, 2)],
  ['eff. (cpu)', (r) => fixed(r.efficiency_cpu, 2)],
];

const fixed = (value: number | null, digits: number) => (value === null ? '' : value.toFixed(digits));

/** A Markdown table, so it can go into docs/performance.md as printed. */
export function table(rows: readonly BenchRow[]): string {
  return markdownTable(COLUMNS, rows, 3);
}

/** Rows as a Markdown table of `columns`: the first `textColumns` left-aligned, the rest right-aligned. */
export function markdownTable<R>(columns: readonly [string, (row: R) => string][], rows: readonly R[], textColumns: number): string {
  const cells = rows.map((r) => columns.map(([, cell]) => cell(r)));
  const widths = columns.map(([title], i) => Math.max(title.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]) => `| ${values.map((v, i) => (i < textColumns ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < textColumns ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`;
  return [line(columns.map(([title]) => title)), rule, ...cells.map(line)].join('\n');
}
