// A pool of inference worker threads, each with its own ONNX session, so inference never blocks
// the event loop (Kafka heartbeats, metrics) and several batches can run at once.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChatMessage } from '../../domain/types.js';
import type { ChatEngine } from '../model-backend.js';
import type { ChatModelOptions } from './chat-model.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

export interface OnnxEngineOptions extends ChatModelOptions {
  /** Worker threads; their intra-op threads share the cores so the two do not oversubscribe. */
  workers: number;
}

interface Call {
  resolve: (completions: string[]) => void;
  reject: (error: Error) => void;
}

class InferenceWorker {
  readonly calls = new Map<number, Call>();

  private constructor(readonly thread: Worker) {}

  static spawn(options: ChatModelOptions, onExit: (worker: InferenceWorker, error: Error) => void): Promise<InferenceWorker> {
    const thread = new Worker(new URL('./inference-worker.js', import.meta.url), { workerData: options });
    const worker = new InferenceWorker(thread);
    return new Promise((resolve, reject) => {
      thread.on('message', (reply: WorkerReply) => {
        if (reply.kind === 'ready') return resolve(worker);
        const call = worker.calls.get(reply.id);
        worker.calls.delete(reply.id);
        if (reply.kind === 'completed') call?.resolve(reply.completions);
        else call?.reject(new Error(`inference failed: ${reply.message}`));
      });
      thread.on('error', (error) => {
        reject(new Error(`inference worker failed to start: ${error.message}`));
        onExit(worker, error);
      });
      thread.on('exit', (code) => onExit(worker, new Error(`inference worker exited with code ${code}`)));
    });
  }
}

export class OnnxChatEngine implements ChatEngine {
  private nextId = 0;
  private closing = false;

  private constructor(
    readonly modelId: string,
    private readonly options: ChatModelOptions,
    private readonly workers: InferenceWorker[],
  ) {}

  static async start(options: Partial<OnnxEngineOptions> & { modelDir: string }): Promise<OnnxChatEngine> {
    const workerCount = options.workers ?? 1;
    const modelOptions: ChatModelOptions = {
      maxNewTokens: 64,
      intraOpNumThreads: Math.max(1, Math.floor(availableParallelism() / workerCount)),
      ...options,
    };
    const engine = new OnnxChatEngine(options.modelDir, modelOptions, []);
    try {
      for (let i = 0; i < workerCount; i++) engine.workers.push(await engine.spawn());
    } catch (error) {
      await engine.close();
      throw error;
    }
    return engine;
  }

  complete(conversations: ChatMessage[][]): Promise<string[]> {
    if (this.workers.length === 0) return Promise.reject(new Error('no inference worker is running'));
    const worker = this.workers.reduce((a, b) => (b.calls.size < a.calls.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      worker.calls.set(id, { resolve, reject });
      worker.thread.postMessage({ kind: 'complete', id, conversations } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.workers.map(async (w) => {
        w.thread.postMessage({ kind: 'close' } satisfies WorkerRequest);
        await w.thread.terminate();
      }),
    );
  }

  private spawn(): Promise<InferenceWorker> {
    return InferenceWorker.spawn(this.options, (worker, error) => this.onWorkerExit(worker, error));
  }

  /** A crashed worker fails its calls (their documents are retried upstream) and is replaced. */
  private onWorkerExit(worker: InferenceWorker, error: Error): void {
    for (const call of worker.calls.values()) call.reject(error);
    worker.calls.clear();
    const index = this.workers.indexOf(worker);
    if (this.closing || index < 0) return;
    this.spawn().then(
      (replacement) => (this.workers[index] = replacement),
      () => this.workers.splice(this.workers.indexOf(worker), 1),
    );
  }
}
