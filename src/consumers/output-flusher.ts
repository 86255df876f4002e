// Publishes what the offset ledger released, with the offsets to commit: at most every
// `flushIntervalMs`, one flush at a time. Each delivery step (send, commit; or one transaction) is
// retried alone until it succeeds, a rebalance makes it moot (the partitions' new owner
// processes those records again) or `close` gives up at shutdown.
import { backOff, backoffMs, type Backoff } from '../backoff.js';
import type { OutputMessage, SourceRecord } from '../domain/records.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import type { DeliveryStep, OutputPublisher } from '../producers/output-publisher.js';
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
  /** Told the offsets a flush committed (partition → next offset). */
  onCommitted: (offsets: Map<number, bigint>) => void;
  /** Told how many records a flush is done with, committed or dropped. */
  onFlushed: (count: number) => void;
}

/** A failed step is retried until it succeeds (or the partitions move): 200 ms, doubling up to 30 s. */
const PUBLISH_BACKOFF: Backoff = { baseMs: 200, capMs: 30_000 };

export class OutputFlusher {
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Aborted by `close`: ends a backoff wait at once. */
  private readonly closing = new AbortController();

  constructor(
    private readonly ledger: OffsetLedger<Done>,
    private readonly publisher: OutputPublisher,
    private readonly options: FlusherOptions,
  ) {}

  /** A flush within `flushIntervalMs`, unless one is already due. */
  schedule(): void {
    if (this.timer || this.closing.signal.aborted) return;
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

  /** No more flushes; a step still being retried gives up, leaving its records uncommitted. */
  close(): void {
    this.closing.abort();
    clearTimeout(this.timer);
  }

  private async publish(entries: Finished<Done>[], generation: number): Promise<void> {
    const next = new Map<number, bigint>();
    for (const { offset, result } of entries) next.set(result.record.partition, offset + 1n);
    const offsets = [...next].map(([partition, offset]) => ({ topic: this.options.topic, partition, offset: String(offset) }));
    const outputs = entries.flatMap((e) => e.result.outputs);
    let delivered = true;
    for (const step of this.publisher.deliverySteps(outputs, offsets)) {
      delivered = await this.retry(step, generation);
      if (!delivered) break;
      if (step.name !== 'commit') {
        const ackedAt = Date.now();
        for (const { result } of entries) this.options.metrics.endToEndSeconds.observe((ackedAt - result.record.timestamp) / 1000);
      }
    }
    if (delivered) this.options.onCommitted(next);
    this.options.onFlushed(entries.length);
  }

  /** Runs the step until it succeeds (true) or becomes moot (false); fatal errors propagate. */
  private async retry(step: DeliveryStep, generation: number): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (!this.ledger.isCurrent(generation) || this.closing.signal.aborted) return false;
      try {
        await step.run();
        return true;
      } catch (error) {
        if (this.publisher.isFatal(error)) throw error;
        const delay = backoffMs(attempt - 1, PUBLISH_BACKOFF);
        this.options.log(`${step.name} failed (attempt ${attempt}), retrying that step in ${delay} ms: ${(error as Error).message}`);
        await backOff(attempt - 1, PUBLISH_BACKOFF, this.closing.signal).catch(() => undefined);
      }
    }
  }
}
