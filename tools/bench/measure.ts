// What one benchmark mode did: its batches timed, their token counts, and the process's peak
// memory while they ran. Modes take turns batch by batch (see run-bench), so load from other
// work on the machine falls on all of them alike.
import type { Answer, Query } from '../../src/domain/types.js';
import type { ForwardShape } from '../../src/inference/onnx/generate.js';
import type { OnnxBackend } from '../../src/inference/onnx/onnx-backend.js';
import { addInference, noInference } from '../../src/observability/inference-stats.js';

export class Tally {
  seconds = 0;
  /** CPU time of the whole process (workers' ORT threads included): unlike wall time, other work on the machine barely moves it. */
  cpuSeconds = 0;
  readonly answers: Answer[][] = [];
  readonly batchMs: number[] = [];
  readonly stats = noInference();
  peakRss = 0;

  get sentences(): number {
    return this.answers.length;
  }

  /** Runs `batches` at once (one per worker, as the query batcher would); returns each one's forward passes. */
  async run(backend: OnnxBackend, batches: Query[][]): Promise<ForwardShape[][]> {
    const sampler = setInterval(() => this.sampleRss(), 50);
    const started = performance.now();
    const cpu = process.cpuUsage();
    try {
      const results = await Promise.all(
        batches.map(async (batch) => {
          const sent = performance.now();
          const result = await backend.answerWithStats(batch);
          this.batchMs.push(performance.now() - sent);
          return result;
        }),
      );
      this.seconds += (performance.now() - started) / 1000;
      this.cpuSeconds += cpuSecondsSince(cpu);
      for (const { answers, stats } of results) {
        this.answers.push(...answers);
        addInference(this.stats, stats);
      }
      return results.map((r) => r.forwards);
    } finally {
      clearInterval(sampler);
      this.sampleRss();
    }
  }

  private sampleRss(): void {
    this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
  }
}

export function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1e6;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
}
