// Consumes input records, hands each to the handler without waiting for it, and publishes the
// results in offset order. An offset is committed only with (exactly-once) or after
// (at-least-once) the outputs of it and of every earlier record of its partition.
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { backoffMs, type Backoff } from '../backoff.js';
import type { OutputMessage, SourceRecord } from '../domain/records.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import type { OutputPublisher } from '../producers/output-publisher.js';
import { PartitionProgress, type Finished } from './partition-progress.js';

/** Turns one input record into the records to publish; rejects only when abandoned. */
export type RecordHandler = (record: SourceRecord) => Promise<OutputMessage[]>;

export interface DocumentConsumerOptions {
  topic: string;
  /** Records consumed but not yet committed; at the bound, partitions pause. */
  maxInFlight: number;
  /** Longest wait before finished records are published and committed. */
  flushIntervalMs: number;
}

/** A failed publish is retried until it succeeds (or the partitions move): 200 ms, doubling up to 30 s. */
const PUBLISH_BACKOFF: Backoff = { baseMs: 200, capMs: 30_000 };

interface Done {
  record: SourceRecord;
  outputs: OutputMessage[];
}

export class DocumentConsumer {
  /** Bumped on every rebalance: work of an older generation is never committed. */
  private generation = 0;
  private progress = new Map<number, PartitionProgress<Done>>();
  private ready: Finished<Done>[] = [];
  private inFlight = 0;
  private readonly paused = new Set<number>();
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  joined = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly publisher: OutputPublisher,
    private readonly handler: RecordHandler,
    private readonly options: DocumentConsumerOptions,
    private readonly metrics: WorkerMetrics,
    private readonly log: (message: string) => void,
    /** Called when publishing cannot go on (e.g. a fenced transactional producer). */
    private readonly onFatal: (error: unknown) => void,
  ) {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.log(`joined group generation, assigned ${JSON.stringify(payload.memberAssignment)}`);
      this.rebalanced();
    });
  }

  async start(): Promise<void> {
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.acceptBatch(payload),
    });
  }

  /** Stops fetching, gives in-flight work until the deadline, publishes what finished. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await this.consumer.stop();
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) {
      await this.flush();
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.flush();
    clearTimeout(this.flushTimer);
    if (this.inFlight > 0) this.log(`abandoning ${this.inFlight} uncommitted records; they will be consumed again`);
  }

  private async acceptBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    let lastAccepted: bigint | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.stopping) break;
      if (this.inFlight >= this.options.maxInFlight) {
        // Unresolved records of this batch are fetched again after the resume.
        this.pause(partition);
        break;
      }
      const offset = BigInt(message.offset);
      this.accept({
        topic, partition, offset, key: message.key, value: message.value, timestamp: Number(message.timestamp),
      });
      resolveOffset(message.offset); // moves the fetch position only; commits are ours
      lastAccepted = offset;
    }
    if (lastAccepted !== undefined) {
      const lag = BigInt(batch.highWatermark) - lastAccepted - 1n;
      this.metrics.consumerLag.set({ topic, partition: String(partition) }, Number(lag));
    }
    await heartbeat();
  }

  private accept(record: SourceRecord): void {
    const generation = this.generation;
    let progress = this.progress.get(record.partition);
    if (!progress) this.progress.set(record.partition, (progress = new PartitionProgress()));
    progress.accept(record.offset);
    this.setInFlight(this.inFlight + 1);
    this.handler(record).then(
      (outputs) => {
        if (generation !== this.generation) return this.release(1);
        this.ready.push(...progress.finish(record.offset, { record, outputs }));
        this.scheduleFlush();
      },
      // Abandoned (shutdown): the offset stays uncommitted and blocks its partition's commits.
      () => this.release(1),
    );
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch(this.onFatal);
    }, this.options.flushIntervalMs);
  }

  /** Publishes every released record with its offsets; one flush at a time, retried until done. */
  private async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.ready.length === 0) return;
    const entries = this.ready;
    const generation = this.generation;
    this.ready = [];
    this.flushing = this.publish(entries, generation).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async publish(entries: Finished<Done>[], generation: number): Promise<void> {
    const next = new Map<number, bigint>();
    for (const { offset, result } of entries) next.set(result.record.partition, offset + 1n);
    const offsets = [...next].map(([partition, offset]) => ({
      topic: this.options.topic, partition, offset: String(offset),
    }));
    const outputs = entries.flatMap((e) => e.result.outputs);
    for (let attempt = 1; ; attempt++) {
      if (generation !== this.generation) break; // rebalanced: the new owner re-processes these
      try {
        await this.publisher.publish(outputs, offsets);
        const ackedAt = Date.now();
        for (const { result } of entries) this.metrics.endToEndSeconds.observe((ackedAt - result.record.timestamp) / 1000);
        break;
      } catch (error) {
        if (this.publisher.isFatal(error)) throw error;
        const delay = backoffMs(attempt - 1, PUBLISH_BACKOFF);
        this.log(`publish failed (attempt ${attempt}), retrying in ${delay} ms: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.release(entries.length);
  }

  private release(count: number): void {
    this.setInFlight(this.inFlight - count);
    if (this.paused.size > 0 && this.inFlight <= this.options.maxInFlight / 2) this.resumeAll();
  }

  private rebalanced(): void {
    this.generation++;
    this.progress = new Map();
    const stale = this.ready.length;
    this.ready = [];
    this.release(stale);
    this.joined = true;
  }

  private pause(partition: number): void {
    if (this.paused.has(partition)) return;
    this.consumer.pause([{ topic: this.options.topic, partitions: [partition] }]);
    this.paused.add(partition);
    this.metrics.pausedPartitions.set(this.paused.size);
  }

  private resumeAll(): void {
    this.consumer.resume([{ topic: this.options.topic, partitions: [...this.paused] }]);
    this.paused.clear();
    this.metrics.pausedPartitions.set(0);
  }

  private setInFlight(value: number): void {
    this.inFlight = value;
    this.metrics.documentsInFlight.set(value);
  }
}
