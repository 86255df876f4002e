// Messages between the inference pool (main thread) and its worker threads.
import type { ChatMessage, Query } from '../../domain/types.js';
import type { CompletedBatch } from './chat-completion.js';
import type { ChatModelOptions } from './chat-model.js';
import type { AnsweredBatch, AnswerSettings, EngineOptions } from './conversation-engine.js';

/** What each worker loads, fixed for its lifetime. */
export interface WorkerThreadConfig extends ChatModelOptions, EngineOptions {}

/** Work a worker does: answer queries, or complete whole chats (the OpenAI-compatible endpoint). */
export type WorkerCall =
  | { kind: 'answer'; queries: Query[]; settings: AnswerSettings }
  | { kind: 'complete'; conversations: ChatMessage[][]; maxNewTokens: number };

export type WorkerResult =
  | { kind: 'answered'; batch: AnsweredBatch }
  | { kind: 'completed'; batch: CompletedBatch };

export type WorkerRequest = (WorkerCall & { id: number }) | { kind: 'close' };

export type WorkerReply =
  /** `constrainable`: the model's vocabulary supports constrained decoding. */
  | { kind: 'ready'; constrainable: boolean }
  | { kind: 'done'; id: number; result: WorkerResult }
  | { kind: 'failed'; id: number; message: string };
