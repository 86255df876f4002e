// POST /v1/answers, the native batch endpoint: checks the request, turns it into one job per
// sentence, and the results into an AnswerResponse.
import { parsePromptTemplate } from '../domain/prompt-template.js';
import type { Answer } from '../domain/types.js';
import type { AnswerResponse } from '../inference/remote/answer-protocol.js';
import { badRequest } from './http-exchange.js';
import { templateKey, type Job } from './model-jobs.js';

/** Types one sentence may be asked about: a conversation grows with every type. */
const MAX_TYPES = 32;

export function answerJobs(body: unknown): Job[] {
  const request = body as { template?: unknown; queries?: unknown };
  if (typeof request !== 'object' || request === null) throw badRequest('the body must be an object {template, queries}');
  let template;
  try {
    template = parsePromptTemplate(request.template, '"template"');
  } catch (error) {
    throw badRequest((error as Error).message);
  }
  if (!Array.isArray(request.queries) || request.queries.length === 0) throw badRequest('"queries" must be a non-empty list');
  const key = templateKey(template);
  return request.queries.map((query: { text?: unknown; types?: unknown }, index) => {
    const where = `queries[${index}]`;
    if (typeof query?.text !== 'string' || query.text.trim() === '') throw badRequest(`${where}.text must be a non-empty string`);
    const { types } = query;
    if (!Array.isArray(types) || types.length === 0 || types.length > MAX_TYPES ||
        !types.every((t) => typeof t === 'string' && t !== '')) {
      throw badRequest(`${where}.types must be a list of 1 to ${MAX_TYPES} type names`);
    }
    const sentence = { docId: '', index, start: 0, end: query.text.length, text: query.text };
    return { kind: 'answer', query: { sentence, types }, template, templateKey: key };
  });
}

export const answerResponse = (model: string, answers: Answer[][]): AnswerResponse => ({ model, answers });
