// POST /v1/answers, the native batch endpoint: checks the request, turns it into one job per
// sentence, and the results into an AnswerResponse.
import { z } from 'zod';
import { parsePromptTemplate } from '../domain/prompt-template.js';
import type { Answer } from '../domain/types.js';
import { validate } from '../domain/validate.js';
import type { AnswerResponse } from '../inference/remote/answer-protocol.js';
import { badRequest } from './http-exchange.js';
import { templateKey, type Job } from './model-jobs.js';

/** Types one sentence may be asked about: a conversation grows with every type. */
const MAX_TYPES = 32;

const ANSWER_REQUEST = z.object({
  template: z.unknown().optional(),
  queries: z.array(z.object({
    text: z.string().refine((text) => text.trim() !== '', 'must not be blank'),
    types: z.array(z.string().min(1), { error: `must be a list of 1 to ${MAX_TYPES} type names` })
      .min(1, `must be a list of 1 to ${MAX_TYPES} type names`).max(MAX_TYPES, `must be a list of 1 to ${MAX_TYPES} type names`),
    guidelines: z.string().min(1).optional(),
  }), { error: 'must be a non-empty list' }).min(1, 'must be a non-empty list'),
}, { error: 'must be an object {template, queries}' });

export function answerJobs(body: unknown): Job[] {
  const request = validate(ANSWER_REQUEST, body, 'the body', badRequest);
  const template = parsePromptTemplate(request.template, '"template"', badRequest);
  const key = templateKey(template);
  return request.queries.map(({ text, types, guidelines }, index) => {
    const sentence = { docId: '', index, start: 0, end: text.length, text };
    return { kind: 'answer', query: { sentence, types, ...(guidelines === undefined ? {} : { guidelines }) }, template, templateKey: key };
  });
}

export const answerResponse = (model: string, answers: Answer[][]): AnswerResponse => ({ model, answers });
