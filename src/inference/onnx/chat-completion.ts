// Greedy completion of whole chats, for the server's OpenAI-compatible endpoint: each
// conversation is rendered with the model's chat template and run by the worker's generation
// loop as a single turn.
import type { ChatMessage } from '../../domain/types.js';
import type { InferenceStats } from '../../observability/inference-stats.js';
import type { ChatModel } from './chat-model.js';
import { inferenceStats } from './conversation-engine.js';
import type { GenerationLoop } from './generation-loop.js';
import { ALL_FEATURES } from './generation-scheduler.js';
import type { FinishReason, GeneratedTurn, Sequence } from './sequence.js';
import { greedyPicker } from './token-picker.js';

export interface Completion {
  text: string;
  promptTokens: number;
  generatedTokens: number;
  finishReason: FinishReason;
}

export interface CompletedBatch {
  completions: Completion[];
  stats: InferenceStats;
}

export async function completeChats(
  model: ChatModel,
  loop: GenerationLoop,
  conversations: readonly ChatMessage[][],
  maxNewTokens: number,
): Promise<CompletedBatch> {
  const chats = conversations.map((conversation) => new Chat(model.encode(conversation), maxNewTokens));
  const run = await loop.run(chats, ALL_FEATURES);
  const completions = chats.map(({ prompt, turn }) => ({
    text: model.decode(turn!.tokens),
    promptTokens: prompt.length,
    generatedTokens: turn!.tokens.length,
    finishReason: turn!.finishReason,
  }));
  return { completions, stats: inferenceStats(run, completions.length) };
}

class Chat implements Sequence {
  turn: GeneratedTurn | null = null;

  constructor(
    readonly prompt: number[],
    private readonly maxNewTokens: number,
  ) {}

  nextTurn(previous: GeneratedTurn | null) {
    this.turn = previous;
    return previous ? null : { prompt: this.prompt, picker: greedyPicker, maxNewTokens: this.maxNewTokens };
  }
}
