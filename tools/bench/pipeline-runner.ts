// The parent's handle on a pipeline-process.ts child: start it with pipeline settings, run
// documents through it, stop it.
import { fork, type ChildProcess } from 'node:child_process';
import { ask, stop, type FailedReply } from './child-requests.js';
import type { Document } from '../../src/domain/types.js';
import type { InferenceStats } from '../../src/observability/inference-stats.js';
import type { PipelineSettings } from '../../src/pipeline/assemble-pipeline.js';

export type PipelineRequest =
  | { kind: 'start'; settings: PipelineSettings }
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

  static async start(settings: PipelineSettings): Promise<PipelineRunner> {
    const runner = new PipelineRunner(fork(new URL('./pipeline-process.js', import.meta.url)));
    try {
      await runner.ask({ kind: 'start', settings });
    } catch (error) {
      await runner.stop();
      throw error;
    }
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
