// Bounds the records consumed but not yet committed: at the bound a partition is paused (its
// unresolved records are fetched again after the resume); once half the bound is free, every
// paused partition resumes. At shutdown `halt` pauses the whole topic for good.
import type { Consumer } from 'kafkajs';
import type { WorkerMetrics } from '../observability/metrics.js';

export class Backpressure {
  private count = 0;
  private readonly paused = new Set<number>();
  private halted = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly topic: string,
    private readonly maxInFlight: number,
    private readonly metrics: WorkerMetrics,
  ) {}

  get inFlight(): number {
    return this.count;
  }

  /** Takes one more record if there is room; otherwise pauses its partition and says no. */
  admit(partition: number): boolean {
    if (this.count >= this.maxInFlight) {
      this.pause(partition);
      return false;
    }
    this.set(this.count + 1);
    return true;
  }

  /** Records committed or given up: room for more. */
  release(count: number): void {
    this.set(this.count - count);
    if (!this.halted && this.paused.size > 0 && this.count <= this.maxInFlight / 2) this.resumeAll();
  }

  /** Stops fetching every partition of the topic, without leaving the group: commits still work. */
  halt(): void {
    this.halted = true;
    this.consumer.pause([{ topic: this.topic }]);
  }

  private pause(partition: number): void {
    if (this.paused.has(partition)) return;
    this.consumer.pause([{ topic: this.topic, partitions: [partition] }]);
    this.paused.add(partition);
    this.metrics.pausedPartitions.set(this.paused.size);
  }

  private resumeAll(): void {
    this.consumer.resume([{ topic: this.topic, partitions: [...this.paused] }]);
    this.paused.clear();
    this.metrics.pausedPartitions.set(0);
  }

  private set(value: number): void {
    this.count = value;
    this.metrics.documentsInFlight.set(value);
  }
}
