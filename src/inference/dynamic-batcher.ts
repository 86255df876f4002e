// Dynamic batching: items from many callers wait in queues by key (items of one key can share a
// forward pass) and are bound into a batch only when a runner is free, so batches grow while the
// model is busy. A key's batch goes when it is full or its oldest item has waited `maxWaitMs`;
// among ready keys the oldest goes first. Within a batch, clients take turns, so one client's
// flood cannot starve another's trickle. The queue is bounded overall and per client, and in
// time: a submission may wait only so long for its items to start, but once they have all
// started it runs to the end, since its answer is then paid for and close. A failed batch can
// be split in halves and run again, down to the item that fails, so one bad item does not fail
// the submissions it happened to share a batch with.

export interface DynamicBatcherOptions<I, R> {
  /** Runs one batch (all items share a key): one result per item, in order. */
  run(items: I[]): Promise<R[]>;
  keyOf(item: I): string;
  batchSize: number;
  maxWaitMs: number;
  /** Batches running at once. */
  concurrency: number;
  /** Items waiting for a batch, all clients together (default unbounded). */
  maxQueued?: number;
  /** Items one client may have waiting (default unbounded). */
  maxQueuedPerClient?: number;
  /** Told of every batch that ran, for metrics. */
  onBatch?: (size: number, seconds: number) => void;
  /**
   * Whether `error` may be one item's fault: then a failed batch of several items is halved
   * and each half run again (in the same runner), until the failing item fails alone. Default:
   * never, and every item of a failed batch fails with it.
   */
  isolateFailures?: (error: unknown) => boolean;
}

export interface SubmitOptions {
  /** Whose items these are, for the per-client bound and the turns within a batch. */
  client?: string;
  /** Withdraws the items still waiting; the submission rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Rejects with QueueTimeoutError, withdrawing what still waits, if not every item has started by then. */
  queueTimeoutMs?: number;
}

/** The queue cannot take the items now: `server` when it is full, `client` when the caller is over its share, `draining` when it is shutting down. */
export class QueueFullError extends Error {
  constructor(readonly scope: 'server' | 'client' | 'draining', message: string) {
    super(message);
  }
}

/** Some of a submission's items were still waiting when its queue timeout ran out. */
export class QueueTimeoutError extends Error {}

interface Submission<R> {
  results: R[];
  /** Items without a result yet. */
  waiting: number;
  /** Items not yet bound into a batch. */
  unstarted: number;
  expiry?: NodeJS.Timeout;
  settled: boolean;
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

interface Entry<I, R> {
  item: I;
  index: number;
  client: string;
  enqueuedAt: number;
  submission: Submission<R>;
}

/** One key's waiting items, by client in turn order. */
class KeyQueue<I, R> {
  readonly byClient = new Map<string, Entry<I, R>[]>();
  size = 0;

  oldest(): number {
    let oldest = Infinity;
    for (const entries of this.byClient.values()) oldest = Math.min(oldest, entries[0]!.enqueuedAt);
    return oldest;
  }

  /** Up to `n` items, one per client in turn; the client that went first goes last next time. */
  take(n: number): Entry<I, R>[] {
    const taken: Entry<I, R>[] = [];
    const first = this.byClient.keys().next().value;
    while (taken.length < n && this.byClient.size > 0) {
      for (const [client, entries] of this.byClient) {
        if (taken.length === n) break;
        taken.push(entries.shift()!);
        if (entries.length === 0) this.byClient.delete(client);
      }
    }
    const rest = first !== undefined && this.byClient.get(first);
    if (rest) {
      this.byClient.delete(first!);
      this.byClient.set(first!, rest);
    }
    this.size -= taken.length;
    return taken;
  }
}

export class DynamicBatcher<I, R> {
  private readonly queues = new Map<string, KeyQueue<I, R>>();
  private readonly queuedByClient = new Map<string, number>();
  private queuedItems = 0;
  private runningBatches = 0;
  private draining = false;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: DynamicBatcherOptions<I, R>) {}

  /** Items waiting for a batch. */
  get queued(): number {
    return this.queuedItems;
  }

  /** Batches running now. */
  get running(): number {
    return this.runningBatches;
  }

  /** Queues all of `items` or none of them. */
  submit(items: I[], { client = '', signal, queueTimeoutMs }: SubmitOptions = {}): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    this.admit(items.length, client);
    signal?.throwIfAborted();
    return new Promise<R[]>((resolve, reject) => {
      const submission: Submission<R> = {
        results: new Array(items.length), waiting: items.length, unstarted: items.length, settled: false, resolve, reject,
      };
      const now = performance.now();
      items.forEach((item, index) => this.enqueue({ item, index, client, enqueuedAt: now, submission }));
      signal?.addEventListener('abort', () => this.fail(submission, signal.reason), { once: true });
      if (queueTimeoutMs !== undefined) {
        const expire = () => this.fail(submission, new QueueTimeoutError(`not started within ${queueTimeoutMs} ms`));
        submission.expiry = setTimeout(expire, queueTimeoutMs);
      }
      this.pump();
    });
  }

  /** Refuses new items, sends every waiting one without waiting for batches to fill, and resolves when all have run. */
  async drain(): Promise<void> {
    this.draining = true;
    this.pump();
    if (this.queuedItems === 0 && this.runningBatches === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private admit(count: number, client: string): void {
    const { maxQueued = Infinity, maxQueuedPerClient = Infinity } = this.options;
    if (this.draining) throw new QueueFullError('draining', 'shutting down: not taking new work');
    if (count > maxQueuedPerClient) {
      throw new QueueFullError('client', `${count} items in one submission; at most ${maxQueuedPerClient} may wait per client`);
    }
    if (this.queuedItems + count > maxQueued) {
      throw new QueueFullError('server', `queue full: ${this.queuedItems} of ${maxQueued} items waiting`);
    }
    const mine = this.queuedByClient.get(client) ?? 0;
    if (mine + count > maxQueuedPerClient) {
      throw new QueueFullError('client', `client "${client}" has ${mine} items waiting; its bound is ${maxQueuedPerClient}`);
    }
  }

  private enqueue(entry: Entry<I, R>): void {
    const key = this.options.keyOf(entry.item);
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = new KeyQueue()));
    let entries = queue.byClient.get(entry.client);
    if (!entries) queue.byClient.set(entry.client, (entries = []));
    entries.push(entry);
    queue.size++;
    this.count(entry.client, 1);
  }

  private count(client: string, delta: number): void {
    this.queuedItems += delta;
    const mine = (this.queuedByClient.get(client) ?? 0) + delta;
    if (mine === 0) this.queuedByClient.delete(client);
    else this.queuedByClient.set(client, mine);
  }

  /** Starts every batch that is due while runners are free, then waits for the next deadline. */
  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const { batchSize, maxWaitMs, concurrency } = this.options;
    while (this.runningBatches < concurrency) {
      const now = performance.now();
      let next: string | undefined;
      let nextOldest = Infinity;
      for (const [key, queue] of this.queues) {
        const oldest = queue.oldest();
        const due = this.draining || queue.size >= batchSize || now - oldest >= maxWaitMs;
        if (due && oldest < nextOldest) [next, nextOldest] = [key, oldest];
      }
      if (next === undefined) break;
      this.start(next);
    }
    if (this.runningBatches < concurrency && this.queues.size > 0) {
      const oldest = Math.min(...[...this.queues.values()].map((q) => q.oldest()));
      this.timer = setTimeout(() => this.pump(), Math.max(0, oldest + maxWaitMs - performance.now()));
    }
    if (this.queuedItems === 0 && this.runningBatches === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private start(key: string): void {
    const queue = this.queues.get(key)!;
    const batch = queue.take(this.options.batchSize);
    if (queue.size === 0) this.queues.delete(key);
    for (const entry of batch) {
      this.count(entry.client, -1);
      if (--entry.submission.unstarted === 0) clearTimeout(entry.submission.expiry);
    }
    this.runningBatches++;
    void this.run(batch).finally(() => {
      this.runningBatches--;
      this.pump();
    });
  }

  private async run(batch: Entry<I, R>[]): Promise<void> {
    const started = performance.now();
    let results: R[];
    try {
      results = await this.options.run(batch.map((e) => e.item));
    } catch (error) {
      if (batch.length > 1 && this.options.isolateFailures?.(error)) {
        const half = Math.ceil(batch.length / 2);
        for (const part of [batch.slice(0, half), batch.slice(half)]) {
          // Items of submissions that failed meanwhile need no answer any more.
          const open = part.filter((e) => !e.submission.settled);
          if (open.length > 0) await this.run(open);
        }
      } else {
        for (const entry of batch) this.fail(entry.submission, error);
      }
      return;
    }
    this.options.onBatch?.(batch.length, (performance.now() - started) / 1000);
    batch.forEach((entry, i) => {
      const { submission } = entry;
      if (submission.settled) return;
      submission.results[entry.index] = results[i]!;
      if (--submission.waiting === 0) {
        submission.settled = true;
        submission.resolve(submission.results);
      }
    });
  }

  /** Rejects the submission once and withdraws its items that still wait. */
  private fail(submission: Submission<R>, error: unknown): void {
    if (submission.settled) return;
    submission.settled = true;
    clearTimeout(submission.expiry);
    submission.reject(error);
    for (const [key, queue] of this.queues) {
      for (const [client, waiting] of queue.byClient) {
        const kept = waiting.filter((e) => e.submission !== submission);
        if (kept.length === waiting.length) continue;
        queue.size -= waiting.length - kept.length;
        this.count(client, kept.length - waiting.length);
        if (kept.length > 0) queue.byClient.set(client, kept);
        else queue.byClient.delete(client);
      }
      if (queue.size === 0) this.queues.delete(key);
    }
    this.pump();
  }
}
