// Consumes input records, hands each to the handler without waiting for it, and publishes the
// results in offset order. An offset is committed only with (exactly-once) or after
// (at-least-once) the outputs of it and of every earlier record of its partition. The parts:
// Backpressure bounds what is in flight, the OffsetLedger says what may be committed, the
// OutputFlusher publishes and commits it, the ProgressWatch times partitions that stop committing.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { backoffMs, type Backoff } from '../backoff.js';
import type { OutputMessage, SourceRecord } from '../domain/records.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import type { OutputPublisher } from '../producers/output-publisher.js';
import { Backpressure } from './backpressure.js';
import { OffsetLedger } from './offset-ledger.js';
import { OutputFlusher, type Done } from './output-flusher.js';
import { ProgressWatch } from './progress-watch.js';

/**
 * Turns one input record into the records to publish. It rejects when shutdown abandons the
 * record; any other rejection is a fault, which is logged, counted and retried.
 */
export type RecordHandler = (record: SourceRecord) => Promise<OutputMessage[]>;

/** A handler fault is retried after 1 s, doubling up to 60 s; the stall signal shows it meanwhile. */
const FAULT_BACKOFF: Backoff = { baseMs: 1000, capMs: 60_000 };

export interface DocumentConsumerOptions {
  topic: string;
  /** Records consumed but not yet committed; at the bound, partitions pause. */
  maxInFlight: number;
  /** Longest wait before finished records are published and committed. */
  flushIntervalMs: number;
  /** A partition with uncommitted records and no commit for this long counts as stalled. */
  stallTimeoutMs: number;
}

export class DocumentConsumer {
  private readonly ledger = new OffsetLedger<Done>();
  private readonly watch = new ProgressWatch();
  private readonly backpressure: Backpressure;
  private readonly flusher: OutputFlusher;
  private stopping = false;
  private hasJoined = false;

  constructor(
    private readonly consumer: Consumer,
    publisher: OutputPublisher,
    private readonly handler: RecordHandler,
    private readonly options: DocumentConsumerOptions,
    private readonly metrics: WorkerMetrics,
    private readonly log: (message: string) => void,
    /** Called when publishing cannot go on (e.g. a fenced transactional producer). */
    onFatal: (error: unknown) => void,
  ) {
    this.backpressure = new Backpressure(consumer, options.topic, options.maxInFlight, metrics);
    this.flusher = new OutputFlusher(this.ledger, publisher, {
      topic: options.topic, flushIntervalMs: options.flushIntervalMs, metrics, log, onFatal,
      onCommitted: (offsets) => offsets.forEach((next, partition) => this.watch.committed(partition, next)),
      onFlushed: (count) => this.backpressure.release(count),
    });
    metrics.watchPartitionStalls(() => this.watch.stalledMs());
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.log(`joined group generation, assigned ${JSON.stringify(payload.memberAssignment)}`);
      this.backpressure.release(this.ledger.rebalanced());
      this.watch.reset();
      this.hasJoined = true;
    });
  }

  /** True while some partition has gone `stallTimeoutMs` without a commit (readiness fails). */
  get stalled(): boolean {
    return [...this.watch.stalledMs().values()].some((ms) => ms >= this.options.stallTimeoutMs);
  }

  /** True once the consumer has joined its group (readiness). */
  get joined(): boolean {
    return this.hasJoined;
  }

  async start(): Promise<void> {
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.acceptBatch(payload),
    });
  }

  /**
   * Stops fetching but stays in the group, gives in-flight work until the deadline, and publishes
   * and commits what finished. The caller then leaves the group (disconnect); records not
   * committed by then are consumed again by the partitions' next owner.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.backpressure.halt();
    const giveUp = setTimeout(() => this.flusher.close(), timeoutMs);
    const deadline = Date.now() + timeoutMs;
    while (this.backpressure.inFlight > 0 && Date.now() < deadline) {
      await this.flusher.flush();
      await sleep(50);
    }
    await this.flusher.flush();
    clearTimeout(giveUp);
    this.flusher.close();
    const left = this.backpressure.inFlight;
    if (left > 0) this.log(`abandoning ${left} uncommitted records; they will be consumed again`);
  }

  private async acceptBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    let lastAccepted: bigint | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.stopping) break;
      // Unresolved records of this batch are fetched again after the resume.
      if (!this.backpressure.admit(partition)) break;
      const offset = BigInt(message.offset);
      this.accept({ topic, partition, offset, key: message.key, value: message.value, timestamp: Number(message.timestamp) });
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
    const receipt = this.ledger.accept(record.partition, record.offset);
    this.watch.accepted(record.partition, record.offset);
    this.handleUntilDone(record).then(
      (outputs) => {
        if (!this.ledger.finish(receipt, { record, outputs })) return this.backpressure.release(1);
        this.flusher.schedule();
      },
      // Abandoned (shutdown): the offset stays uncommitted and blocks its partition's commits.
      () => this.backpressure.release(1),
    );
  }

  private async handleUntilDone(record: SourceRecord): Promise<OutputMessage[]> {
    for (let faults = 0; ; faults++) {
      try {
        return await this.handler(record);
      } catch (error) {
        if (this.stopping) throw error;
        this.metrics.handlerFaults.inc();
        const wait = backoffMs(faults, FAULT_BACKOFF);
        this.log(`partition ${record.partition} offset ${record.offset} failed, retrying in ${wait} ms: ${(error as Error)?.message ?? error}`);
        await sleep(wait);
      }
    }
  }
}
