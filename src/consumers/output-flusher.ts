// Publishes what the offset ledger released, with the offsets to commit: at most every
// `flushIntervalMs`, one flush at a time, each retried until it succeeds or a rebalance makes it
// moot (the partitions' new owner processes those records again).
import { backoffMs, type Backoff } from '../backoff.js';
import type { OutputMessage, SourceRecord } from '../domain/records.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import type { OutputPublisher } from '../producers/output-publisher.js';
import type { Finished, OffsetLedger } from './offset-ledger.js';

/** A finished record and the records it became. */
export interface Done {
  record: SourceRecord;
  outputs: OutputMessage[];
}

export interface FlusherOptions {
  topic: string;
  /** Longest wait before finished records are published and committed. */
  flushIntervalMs: number;
  metrics: WorkerMetrics;
  log: (message: string) => void;
  /** Called when publishing cannot go on (e.g. a fenced transactional producer). */
  onFatal: (error: unknown) => void;
  /** Told how many records a flush is done with, published or dropped. */
  onFlushed: (count: number) => void;
}

/** A failed publish is retried until it succeeds (or the partitions move): 200 ms, doubling up to 30 s. */
const PUBLISH_BACKOFF: Backoff = { baseMs: 200, capMs: 30_000 };

export class OutputFlusher {
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ledger: OffsetLedger<Done>,
    private readonly publisher: OutputPublisher,
    private readonly options: FlusherOptions,
  ) {}

  /** A flush within `flushIntervalMs`, unless one is already due. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(this.options.onFatal);
    }, this.options.flushIntervalMs);
  }

  /** Publishes every released record with its offsets, after any flush still running. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.ledger.hasReady) return;
    const { entries, generation } = this.ledger.takeReady();
    this.flushing = this.publish(entries, generation).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private async publish(entries: Finished<Done>[], generation: number): Promise<void> {
    const { topic, metrics, log } = this.options;
    const next = new Map<number, bigint>();
    for (const { offset, result } of entries) next.set(result.record.partition, offset + 1n);
    const offsets = [...next].map(([partition, offset]) => ({ topic, partition, offset: String(offset) }));
    const outputs = entries.flatMap((e) => e.result.outputs);
    for (let attempt = 1; ; attempt++) {
      if (!this.ledger.isCurrent(generation)) break; // rebalanced: the new owner re-processes these
      try {
        await this.publisher.publish(outputs, offsets);
        const ackedAt = Date.now();
        for (const { result } of entries) metrics.endToEndSeconds.observe((ackedAt - result.record.timestamp) / 1000);
        break;
      } catch (error) {
        if (this.publisher.isFatal(error)) throw error;
        const delay = backoffMs(attempt - 1, PUBLISH_BACKOFF);
        log(`publish failed (attempt ${attempt}), retrying in ${delay} ms: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.options.onFlushed(entries.length);
  }
}
