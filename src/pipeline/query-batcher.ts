// Pools sentences from many documents into inference batches. Queries asking for the same types
// share a batch, so their conversations can advance through the types in lockstep. A batch
// closes when it is full or when its first query has waited long enough.
import PQueue from 'p-queue';
import type { Answer, Query } from '../domain/types.js';
import type { ModelBackend } from '../inference/model-backend.js';

export interface BatchingOptions {
  batchSize: number;
  batchWaitMs: number;
  /** Batches in flight at once; the rest wait in order. */
  concurrency: number;
  /** Told of every answered batch, for metrics. */
  onBatch?: (size: number, seconds: number) => void;
}

interface Pending {
  query: Query;
  resolve: (answers: Answer[]) => void;
  reject: (error: unknown) => void;
}

interface OpenBatch {
  pending: Pending[];
  timer: NodeJS.Timeout;
}

export class QueryBatcher {
  private readonly open = new Map<string, OpenBatch>();
  private readonly queue: PQueue;

  constructor(
    private readonly backend: ModelBackend,
    private readonly options: BatchingOptions,
  ) {
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  submit(query: Query): Promise<Answer[]> {
    return new Promise((resolve, reject) => {
      const key = query.types.join('\u0000');
      let batch = this.open.get(key);
      if (!batch) {
        batch = { pending: [], timer: setTimeout(() => this.close(key), this.options.batchWaitMs) };
        this.open.set(key, batch);
      }
      batch.pending.push({ query, resolve, reject });
      if (batch.pending.length >= this.options.batchSize) this.close(key);
    });
  }

  /** Batches running or waiting to run. */
  get batchesInFlight(): number {
    return this.queue.size + this.queue.pending;
  }

  /** Sends every open batch now and waits for all batches to finish. */
  async flush(): Promise<void> {
    for (const key of [...this.open.keys()]) this.close(key);
    await this.queue.onIdle();
  }

  private close(key: string): void {
    const batch = this.open.get(key);
    if (!batch) return;
    clearTimeout(batch.timer);
    this.open.delete(key);
    void this.queue.add(() => this.run(batch.pending));
  }

  private async run(pending: Pending[]): Promise<void> {
    try {
      const started = performance.now();
      const answers = await this.backend.answer(pending.map((p) => p.query));
      this.options.onBatch?.(pending.length, (performance.now() - started) / 1000);
      pending.forEach((p, i) => p.resolve(answers[i]!));
    } catch (error) {
      pending.forEach((p) => p.reject(error));
    }
  }
}
