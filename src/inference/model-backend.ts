// What the pipeline asks of a model: answers to batches of queries. Backends differ in how they
// get them (an ONNX model in worker threads, gold annotations, later a remote server).
import type { Answer, ChatMessage, Query } from '../domain/types.js';

export interface ModelBackend {
  /** Recorded in each entity's provenance. */
  readonly modelId: string;
  /** One Answer per type of each query, in the query's type order. */
  answer(queries: Query[]): Promise<Answer[][]>;
  close(): Promise<void>;
}

/** A chat model that continues conversations greedily. */
export interface ChatEngine {
  readonly modelId: string;
  /** The assistant reply to each conversation. */
  complete(conversations: ChatMessage[][]): Promise<string[]>;
  close(): Promise<void>;
}
