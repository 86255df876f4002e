// The parent's handle on a pipeline-process.ts child: start it with a configuration, run
// documents through it, stop it.
import { fork, type ChildProcess } from 'node:child_process';
import { ask, stop, type FailedReply } from './child-requests.js';
import type { Document } from '../../src/domain/types.js';
import type { ExecutionProvider, ModelDtype } from '../../src/inference/onnx/decoder-session.js';
import type { EngineFeatures } from '../../src/inference/onnx/generation-scheduler.js';
import type { InferenceStats } from '../../src/observability/inference-stats.js';

export interface PipelineConfig {
  modelDir: string;
  dtype: ModelDtype;
  executionProvider: ExecutionProvider;
  features: EngineFeatures;
  workers: number;
  batchSize: number;
  batchWaitMs: number;
  /** Batches in flight at once. */
  concurrency: number;
  maxNewTokens: number;
}

export type PipelineRequest =
  | { kind: 'start'; config: PipelineConfig }
  | { kind: 'run'; documents: Document[]; types: string[] }
  | { kind: 'stop' };

export interface PipelineRun {
  seconds: number;
  cpuSeconds: number;
  /** Per document, from the moment all were submitted. */
  latenciesMs: number[];
  sentences: number;
  /** Per document: its entities as `start-end:type`. */
  entities: string[][];
  stats: InferenceStats;
  peakRssMb: number;
}

export type PipelineReply = { kind: 'ready' } | ({ kind: 'ran' } & PipelineRun) | { kind: 'failed'; message: string };

export class PipelineRunner {
  private constructor(private readonly child: ChildProcess) {}

  static async start(config: PipelineConfig): Promise<PipelineRunner> {
    const runner = new PipelineRunner(fork(new URL('./pipeline-process.js', import.meta.url)));
    await runner.ask({ kind: 'start', config });
    return runner;
  }

  async run(documents: Document[], types: string[]): Promise<PipelineRun> {
    const reply = await this.ask({ kind: 'run', documents, types });
    if (reply.kind !== 'ran') throw new Error(`unexpected reply ${reply.kind}`);
    return reply;
  }

  stop(): Promise<void> {
    return stop(this.child, { kind: 'stop' } satisfies PipelineRequest);
  }

  private ask(request: PipelineRequest): Promise<Exclude<PipelineReply, FailedReply>> {
    return ask<PipelineRequest, PipelineReply>(this.child, request, 'pipeline process');
  }
}
