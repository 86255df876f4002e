// POST /v1/chat/completions, OpenAI-compatible and greedy only: enough for any OpenAI client,
// including the `openai:` backend, to use a bioner-stream pod. Parameters that would change the
// decoding (sampling, several choices, streaming) are refused rather than silently ignored.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { validate } from '../domain/validate.js';
import type { Completion } from '../inference/onnx/chat-completion.js';
import { badRequest, HttpError } from './http-exchange.js';
import type { Job } from './model-jobs.js';

export interface ChatCall {
  job: Extract<Job, { kind: 'chat' }>;
  stop: string[];
}

const GREEDY = 'this server decodes greedily:';
const textPart = z.object({ type: z.literal('text'), text: z.string() });

const CHAT_REQUEST = z.object({
  /** Checked against the served model apart: a wrong one is a 404, not a 400. */
  model: z.unknown().optional(),
  messages: z.array(z.object({
    role: z.enum(['system', 'user', 'assistant'], { error: 'must be one of system, user, assistant' }),
    content: z.union([z.string(), z.array(textPart)], { error: 'must be a string or a list of text parts' }),
  }), { error: 'must be a non-empty list' }).min(1, 'must be a non-empty list'),
  max_tokens: z.int({ error: 'must be a positive integer' }).min(1, 'must be a positive integer').optional(),
  max_completion_tokens: z.int({ error: 'must be a positive integer' }).min(1, 'must be a positive integer').optional(),
  temperature: z.literal(0, { error: `${GREEDY} it must be 0 or absent` }).optional(),
  top_p: z.literal(1, { error: `${GREEDY} it must be 1 or absent` }).optional(),
  n: z.literal(1, { error: 'must be 1: one choice per request' }).optional(),
  stream: z.literal(false, { error: 'must be false or absent: streaming is not supported' }).optional(),
  stop: z.union([z.string().min(1).transform((s) => [s]), z.array(z.string().min(1)).max(4)], {
    error: 'must be a string or a list of up to 4 strings',
  }).nullish(),
}, { error: 'must be an object' });

/** `modelNames`: the served model's id, then the other names it answers to. */
export function chatCall(body: unknown, modelNames: string[], maxTokensBound: number): ChatCall {
  const request = validate(CHAT_REQUEST, body, 'the body', badRequest);
  if (request.model !== undefined && !modelNames.includes(request.model as string)) {
    const names = modelNames.map((name) => `"${name}"`).join(', ');
    throw new HttpError(404, 'model_not_found', `model "${String(request.model)}" is not served here; this server serves ${names}`);
  }
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? maxTokensBound;
  if (maxTokens > maxTokensBound) throw badRequest(`"max_tokens" must be at most ${maxTokensBound} here`);
  const conversation = request.messages.map(({ role, content }) => ({
    role,
    content: typeof content === 'string' ? content : content.map((part) => part.text).join(''),
  }));
  return { job: { kind: 'chat', conversation, maxTokens }, stop: request.stop ?? [] };
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
