// Greedy completion of whole chats, for the server's OpenAI-compatible endpoint: each
// conversation is rendered with the model's chat template and generated as one batch.
import type { ChatMessage } from '../../domain/types.js';
import { noInference, type InferenceStats } from '../../observability/inference-stats.js';
import type { ChatModel } from './chat-model.js';
import type { FinishReason } from './generate.js';
import { Forward, generateFrom } from './generate.js';
import { KvCache } from './kv-cache.js';

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
  prefillChunkTokens: number,
  conversations: readonly ChatMessage[][],
  maxNewTokens: number,
): Promise<CompletedBatch> {
  const forward = new Forward(model.session, model.padTokenId, prefillChunkTokens);
  const prompts = conversations.map((conversation) => model.encode(conversation));
  const rows = await generateFrom(forward, KvCache.empty(model.layout, prompts.length), prompts, {
    maxNewTokens,
    stopTokenIds: model.stopTokenIds,
    padTokenId: model.padTokenId,
  });
  const completions = rows.map((row, i) => ({
    text: model.decode(row.tokens),
    promptTokens: prompts[i]!.length,
    generatedTokens: row.tokens.length,
    finishReason: row.finishReason,
  }));
  const stats: InferenceStats = {
    ...noInference(),
    batches: 1,
    answers: completions.length,
    promptTokens: completions.reduce((n, c) => n + c.promptTokens, 0),
    generatedTokens: completions.reduce((n, c) => n + c.generatedTokens, 0),
    forwardSeconds: forward.forwardMs / 1000,
  };
  return { completions, stats };
}
