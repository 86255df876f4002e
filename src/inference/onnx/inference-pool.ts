// A pool of inference worker threads, each with its own ONNX session, so inference never blocks
// the event loop (Kafka heartbeats, metrics) and several batches can run at once.
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { ChatMessage, Query } from '../../domain/types.js';
import type { CompletedBatch } from './chat-completion.js';
import type { AnsweredBatch, AnswerSettings } from './conversation-engine.js';
import { DEFAULT_PREFILL_CHUNK_TOKENS } from './forward.js';
import { modelIdentity } from './model-identity.js';
import type { WorkerCall, WorkerThreadConfig, WorkerReply, WorkerRequest, WorkerResult } from './worker-protocol.js';

export interface PoolOptions extends Partial<Omit<WorkerThreadConfig, 'modelDir'>> {
  modelDir: string;
  /** Inference threads (default: one per 4 cores, up to 4), each a worker thread with its own session and copy of the weights. */
  threads?: number;
}

/**
 * Sequences one worker decodes at once. Decode steps cost about the same from 1 to 16 rows
 * (they read every weight once either way); past that the rows' own compute shows.
 */
export const DEFAULT_MAX_ROWS = 16;
/** Keys and values one worker keeps of shared prompt prefixes: about 2,900 tokens of SmolLM2-135M. */
export const DEFAULT_PREFIX_CACHE_BYTES = 128 * 2 ** 20;

/**
 * One worker per 4 cores, up to 4, each with the cores shared out as intra-op threads. Decode
 * steps read every weight once whatever their rows, so one worker with all the rows beats two
 * that each read the weights for half of them: on 2 cores, the shipped model on NCBI-disease,
 * 1 worker × 2 threads annotated 4.09 sentences/s against 2.56 for 2 workers × 1 thread
 * (`npm run bench -- --quick`, docs/performance.md). Past 4 threads a worker's operators wait
 * at their barriers, and each worker holds its own copy of the weights, hence the cap.
 */
export function defaultThreadCount(cores = availableParallelism()): number {
  return Math.max(1, Math.min(Math.ceil(cores / THREADS_PER_WORKER), MAX_DEFAULT_WORKERS));
}

const THREADS_PER_WORKER = 4;
/** How long close() waits for a worker to finish its pass: a prefill chunk of the largest model takes a few seconds on CPU. */
const CLOSE_GRACE_MS = 30_000;
const MAX_DEFAULT_WORKERS = 4;

interface Call {
  resolve: (result: WorkerResult) => void;
  reject: (error: Error) => void;
}

/** The pool's handle on one worker thread (worker-thread.ts) and its calls in flight. */
class PooledWorker {
  readonly calls = new Map<number, Call>();
  constrainable = false;

  private constructor(readonly thread: Worker) {}

  static spawn(config: WorkerThreadConfig, onExit: (worker: PooledWorker, error: Error) => void): Promise<PooledWorker> {
    const thread = new Worker(new URL('./worker-thread.js', import.meta.url), { workerData: config });
    const worker = new PooledWorker(thread);
    let crash: Error | undefined;
    return new Promise((resolve, reject) => {
      thread.on('message', (reply: WorkerReply) => {
        if (reply.kind === 'ready') {
          worker.constrainable = reply.constrainable;
          return resolve(worker);
        }
        const call = worker.calls.get(reply.id);
        worker.calls.delete(reply.id);
        if (reply.kind === 'done') call?.resolve(reply.result);
        else call?.reject(new Error(`inference failed: ${reply.message}`));
      });
      // A thread that throws emits 'error' and then 'exit': only the exit ends the worker, so one crash is one replacement.
      thread.on('error', (error) => {
        crash = error;
        reject(new Error(`inference worker failed to start: ${error.message}`));
      });
      thread.on('exit', (code) => onExit(worker, crash ?? new Error(`inference worker exited with code ${code}`)));
    });
  }
}

export class InferencePool {
  private nextId = 0;
  private replaced = 0;
  private closing = false;
  /** Crashed workers still in their slot, each with its replacement starting. */
  private readonly restarts = new Map<PooledWorker, Promise<unknown>>();

  private identity = '';

  private constructor(
    readonly modelDir: string,
    private readonly config: WorkerThreadConfig,
    private readonly workers: PooledWorker[],
  ) {}

  static async start(options: PoolOptions): Promise<InferencePool> {
    const { threads: count = defaultThreadCount(), ...rest } = options;
    const config: WorkerThreadConfig = {
      intraOpNumThreads: Math.max(1, Math.floor(availableParallelism() / count)),
      prefillChunkTokens: DEFAULT_PREFILL_CHUNK_TOKENS,
      maxRows: DEFAULT_MAX_ROWS,
      prefixCacheBytes: DEFAULT_PREFIX_CACHE_BYTES,
      ...rest,
    };
    const pool = new InferencePool(options.modelDir, config, []);
    try {
      // Hashed while the workers load the same weights; awaited after them, so a failed start ends here.
      const identity = modelIdentity(options.modelDir, config.dtype);
      identity.catch(() => {});
      for (let i = 0; i < count; i++) pool.workers.push(await pool.spawn());
      pool.identity = await identity;
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** `NAME@VERSION` (model-identity.ts): what records, the server and logs call the model. */
  get modelId(): string {
    return this.identity;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Workers started in place of crashed ones. */
  get replacements(): number {
    return this.replaced;
  }

  /** Whether the model's vocabulary supports constrained decoding. */
  get constrainable(): boolean {
    return this.workers.every((w) => w.constrainable);
  }

  async answer(queries: Query[], settings: AnswerSettings): Promise<AnsweredBatch> {
    const result = await this.call({ kind: 'answer', queries, settings });
    if (result.kind !== 'answered') throw new Error(`unexpected reply ${result.kind}`);
    return result.batch;
  }

  /** Greedy completions of whole chats. */
  async complete(conversations: ChatMessage[][], maxNewTokens: number): Promise<CompletedBatch> {
    const result = await this.call({ kind: 'complete', conversations, maxNewTokens });
    if (result.kind !== 'completed') throw new Error(`unexpected reply ${result.kind}`);
    return result.batch;
  }

  /**
   * Fails the calls in flight and ends the workers. Each first finishes the pass it is running:
   * a thread ended under ONNX Runtime's run aborts the whole process. One that takes longer than
   * CLOSE_GRACE_MS is ended anyway.
   */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.workers.map(async (w) => {
        // A crashed worker in its slot has exited already.
        const exited = this.restarts.has(w) ? Promise.resolve() : once(w.thread, 'exit').catch(() => {});
        w.thread.postMessage({ kind: 'close' } satisfies WorkerRequest);
        await Promise.race([exited, delay(CLOSE_GRACE_MS, undefined, { ref: false })]);
        await w.thread.terminate();
      }),
    );
  }

  /**
   * To the live worker with the fewest calls in flight; a worker runs its calls at once, batched
   * step by step. With every worker crashed, the call waits for a replacement, never for a dead thread.
   */
  private async call(call: WorkerCall): Promise<WorkerResult> {
    if (this.closing) throw new Error('the inference pool is closed');
    const live = this.workers.filter((w) => !this.restarts.has(w));
    if (live.length === 0) {
      if (this.restarts.size === 0) throw new Error('no inference worker is running');
      await Promise.race(this.restarts.values());
      return this.call(call);
    }
    const worker = live.reduce((a, b) => (b.calls.size < a.calls.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      worker.calls.set(id, { resolve, reject });
      worker.thread.postMessage({ ...call, id } satisfies WorkerRequest);
    });
  }

  private spawn(): Promise<PooledWorker> {
    return PooledWorker.spawn(this.config, (worker, error) => this.onWorkerExit(worker, error));
  }

  /** A crashed worker fails its calls (their documents are retried upstream) and is replaced. */
  private onWorkerExit(worker: PooledWorker, error: Error): void {
    for (const call of worker.calls.values()) call.reject(error);
    worker.calls.clear();
    if (this.closing || !this.workers.includes(worker)) return;
    this.replaced++;
    const restart = this.spawn().then(
      async (replacement) => {
        // Started after close(): nobody else will end it.
        if (this.closing) return replacement.thread.terminate();
        this.workers[this.workers.indexOf(worker)] = replacement;
      },
      () => this.workers.splice(this.workers.indexOf(worker), 1),
    ).finally(() => this.restarts.delete(worker));
    this.restarts.set(worker, restart);
  }
}
