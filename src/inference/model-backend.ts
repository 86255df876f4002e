// What the pipeline asks of a model: answers to batches of queries. Backends differ in how they
// get them (an ONNX model in worker threads, gold annotations, later a remote server).
import type { Answer, Query } from '../domain/types.js';
import type { InferenceStats } from '../observability/inference-stats.js';

export interface ModelBackend {
  /** Recorded in each entity's provenance. */
  readonly modelId: string;
  /** One Answer per type of each query, in the query's type order. */
  answer(queries: Query[]): Promise<Answer[][]>;
  /** Totals since the backend started, for metrics; absent where there is no model to count. */
  stats?(): InferenceStats;
  close(): Promise<void>;
}

/**
 * Inference cannot be reached for now (every server down, overloaded or timing out). Not the
 * document's fault: the caller waits and tries again instead of dead-lettering it.
 */
export class InferenceUnavailableError extends Error {}
