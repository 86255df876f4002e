// What the pipeline asks of a model: answers to batches of queries. Backends differ in how they
// get them (an ONNX model in worker threads, gold annotations, later a remote server).
import type { Answer, Query } from '../domain/types.js';

export interface ModelBackend {
  /** Recorded in each entity's provenance. */
  readonly modelId: string;
  /** One Answer per type of each query, in the query's type order. */
  answer(queries: Query[]): Promise<Answer[][]>;
  /** Totals since the backend started, for metrics; absent where there is no model to count. */
  counters?(): InferenceCounters;
  close(): Promise<void>;
}

/** Monotonic totals of a backend's work: each maps onto a Prometheus counter. */
export interface InferenceCounters {
  /** answer() calls completed. */
  batches: number;
  /** (sentence, type) answers returned. */
  answers: number;
  /** Prompt tokens fed to the model. */
  promptTokens: number;
  /** Prompt tokens served from the KV cache instead of being fed. */
  cachedPromptTokens: number;
  /** Tokens generated (end-of-turn tokens excluded). */
  generatedTokens: number;
  /** Generated tokens where constrained decoding replaced the model's first choice. */
  constraintOverrides: number;
  /** Time the model spent in forward passes. */
  forwardSeconds: number;
}

/**
 * Inference cannot be reached for now (every server down, overloaded or timing out). Not the
 * document's fault: the caller waits and tries again instead of dead-lettering it.
 */
export class InferenceUnavailableError extends Error {}
