// Pools sentences from many documents into inference batches. Queries asking for the same types
// under the same guidelines share a batch, so their conversations can share a prompt prefix.
import type { Answer, Query } from '../domain/types.js';
import { DynamicBatcher } from './dynamic-batcher.js';
import { InferenceUnavailableError, type ModelBackend } from './model-backend.js';

export interface BatchingOptions {
  batchSize: number;
  batchWaitMs: number;
  /** Batches in flight at once; the rest wait. */
  concurrency: number;
  /** Told of every answered batch, for metrics. */
  onBatch?: (size: number, seconds: number) => void;
  /** Told of the (sentence, type) answers of every answered batch, for progress. */
  onAnswered?: (answers: number) => void;
}

export type QueryBatcher = DynamicBatcher<Query, Answer[]>;

export function queryBatcher(backend: ModelBackend, options: BatchingOptions): QueryBatcher {
  return new DynamicBatcher({
    run: async (queries) => {
      const answers = await backend.answer(queries);
      options.onAnswered?.(answers.reduce((n, a) => n + a.length, 0));
      return answers;
    },
    keyOf: queryKey,
    batchSize: options.batchSize,
    maxWaitMs: options.batchWaitMs,
    concurrency: options.concurrency,
    onBatch: options.onBatch,
    // A failure that is not the servers' being away may be one sentence's: find it before it
    // costs every document in the batch an attempt.
    isolateFailures: (error) => !(error instanceof InferenceUnavailableError),
  });
}

/** Queries with equal keys ask for the same types in the same order, under the same guidelines. */
export const queryKey = ({ types, guidelines }: Query): string => [guidelines ?? '', ...types].join('\u0000');
