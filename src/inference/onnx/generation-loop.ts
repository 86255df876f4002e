// The one generation loop of an inference worker: every call's sequences join it, and each step
// the scheduler plans passes (generation-scheduler.ts), the model runner runs them
// (model-runner.ts) and the scheduler takes in what they gave. Between steps the loop lets new
// calls arrive, so they join at the next pass.
import type { DecoderLayout } from './decoder-session.js';
import type { Forward } from './forward.js';
import { GenerationScheduler, type EngineFeatures, type GenerationSchedulerOptions } from './generation-scheduler.js';
import { ModelRunner } from './model-runner.js';
import type { PrefixCache } from './prefix-cache.js';
import type { RunStats } from './run-cost.js';
import type { Sequence } from './sequence.js';

export class GenerationLoop {
  private readonly scheduler: GenerationScheduler;
  private readonly runner: ModelRunner;
  private running = false;
  /** Set by stop(): resolves once the loop has left off. */
  private stopped: Promise<void> | null = null;
  private leftOff = () => {};

  constructor(forward: Forward, layout: DecoderLayout, stopTokenIds: readonly number[], options: GenerationSchedulerOptions) {
    this.scheduler = new GenerationScheduler(layout, stopTokenIds, options);
    this.runner = new ModelRunner(forward, layout);
  }

  /** The worker's cache of prompt prefixes. */
  get prefixes(): PrefixCache {
    return this.scheduler.prefixes;
  }

  /** Runs the sequences to the end; resolves with what they cost. */
  run(sequences: readonly Sequence[], features: EngineFeatures): Promise<RunStats> {
    if (this.stopped) return Promise.reject(STOPPED);
    return new Promise((resolve, reject) => {
      this.scheduler.add(sequences, features, { resolve, reject });
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (!this.scheduler.idle) {
      let failure: Error | undefined;
      try {
        for (let pass = this.scheduler.schedule(); pass && !this.stopped; pass = this.scheduler.schedule()) {
          this.scheduler.update(pass, await this.runner.run(pass.feed));
        }
      } catch (error) {
        failure = error as Error;
      }
      if (!this.scheduler.endStep(failure)) this.runner.dropDecodeBatch();
      if (this.stopped) this.scheduler.abandon(STOPPED);
      // Lets new calls arrive: they join at the next pass.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.running = false;
    this.leftOff();
  }

  /**
   * Ends the loop after the pass under way and fails every run left. A session must not be
   * released, nor its thread ended, while a pass runs: ONNX Runtime would abort the process.
   */
  stop(): Promise<void> {
    this.stopped ??= this.running ? new Promise((resolve) => (this.leftOff = resolve)) : Promise.resolve();
    return this.stopped;
  }
}

const STOPPED = new Error('the generation loop has stopped');
