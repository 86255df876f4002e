// POST /v1/chat/completions, OpenAI-compatible and greedy only: enough for any OpenAI client,
// including the `openai:` backend, to use a bioner-stream pod. Parameters that would change the
// decoding (sampling, several choices, streaming) are refused rather than silently ignored.
import { randomUUID } from 'node:crypto';
import type { ChatMessage } from '../domain/types.js';
import type { Completion } from '../inference/onnx/chat-completion.js';
import { badRequest, HttpError } from './http-exchange.js';
import type { Job } from './model-jobs.js';

interface ChatRequest {
  model?: unknown;
  messages?: unknown;
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  temperature?: unknown;
  top_p?: unknown;
  n?: unknown;
  stream?: unknown;
  stop?: unknown;
}

export interface ChatCall {
  job: Extract<Job, { kind: 'chat' }>;
  stop: string[];
}

const ROLES = ['system', 'user', 'assistant'];

export function chatCall(body: unknown, servedModel: string, maxTokensBound: number): ChatCall {
  const request = body as ChatRequest;
  if (typeof request !== 'object' || request === null) throw badRequest('the body must be an object');
  if (request.model !== undefined && request.model !== servedModel) {
    throw new HttpError(404, 'model_not_found', `model "${String(request.model)}" is not served here; this server serves "${servedModel}"`);
  }
  if (request.stream === true) throw badRequest('streaming is not supported; send "stream": false');
  if (request.n !== undefined && request.n !== 1) throw badRequest('only one choice per request ("n": 1)');
  if (request.temperature !== undefined && request.temperature !== 0) {
    throw badRequest('this server decodes greedily: "temperature" must be 0 or absent');
  }
  if (request.top_p !== undefined && request.top_p !== 1) throw badRequest('this server decodes greedily: "top_p" must be 1 or absent');
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? maxTokensBound;
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1 || (maxTokens as number) > maxTokensBound) {
    throw badRequest(`"max_tokens" must be an integer from 1 to ${maxTokensBound}`);
  }
  return { job: { kind: 'chat', conversation: messages(request.messages), maxTokens: maxTokens as number }, stop: stops(request.stop) };
}

function messages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw badRequest('"messages" must be a non-empty list');
  return value.map((message: { role?: unknown; content?: unknown }, i) => {
    if (!ROLES.includes(message?.role as string)) throw badRequest(`messages[${i}].role must be one of ${ROLES.join(', ')}`);
    return { role: message.role as ChatMessage['role'], content: textOf(message.content, i) };
  });
}

/** Content is a string or a list of text parts. */
function textOf(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content) && content.every((p) => p?.type === 'text' && typeof p.text === 'string')) {
    return content.map((p) => p.text).join('');
  }
  throw badRequest(`messages[${i}].content must be a string or a list of text parts`);
}

function stops(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string' && s !== '')) {
    throw badRequest('"stop" must be a string or a list of up to 4 strings');
  }
  return list;
}

export function chatCompletionResponse(model: string, completion: Completion, stop: string[]) {
  // Stop strings cut the text after generation: the model still ran to its end-of-turn or bound.
  const cut = Math.min(...stop.map((s) => completion.text.indexOf(s)).filter((i) => i >= 0));
  const stopped = Number.isFinite(cut);
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: stopped ? completion.text.slice(0, cut) : completion.text },
      logprobs: null,
      finish_reason: stopped || completion.finishReason === 'stop' ? 'stop' : 'length',
    }],
    usage: {
      prompt_tokens: completion.promptTokens,
      completion_tokens: completion.generatedTokens,
      total_tokens: completion.promptTokens + completion.generatedTokens,
    },
  };
}
