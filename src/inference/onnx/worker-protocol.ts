// Messages between the engine (main thread) and its inference workers.
import type { ChatMessage } from '../../domain/types.js';

export type WorkerRequest =
  | { kind: 'complete'; id: number; conversations: ChatMessage[][] }
  | { kind: 'close' };

export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'completed'; id: number; completions: string[] }
  | { kind: 'failed'; id: number; message: string };
