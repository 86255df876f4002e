// What the benchmark measures with: CPU time, a process's peak memory, percentiles.

export function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1e6;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
}

/** The process's peak resident memory while it runs, sampled every 50 ms. */
export class MemoryPeak {
  private peak = process.memoryUsage.rss();
  private readonly sampler = setInterval(() => this.sample(), 50);

  /** Stops sampling; the peak in bytes. */
  stop(): number {
    clearInterval(this.sampler);
    this.sample();
    return this.peak;
  }

  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
}
