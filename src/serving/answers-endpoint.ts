// POST /v1/answers, the native batch endpoint: checks the request, turns it into one job per
// sentence, and the results into an AnswerResponse.
import { z } from 'zod';
import { parsePromptTemplate, type PromptTemplate } from '../domain/prompt-template.js';
import type { Answer } from '../domain/types.js';
import { validate } from '../domain/validate.js';
import type { AnswerResponse } from '../inference/remote/answer-protocol.js';
import { loadPromptTemplate, promptTemplateNames } from '../stages/build-prompt.js';
import type { EntityTypes } from '../stages/entity-types.js';
import { knownTypes } from './entity-type-check.js';
import { badRequest } from './http-exchange.js';
import { templateKey, type Job } from './model-jobs.js';

/** Types one sentence may be asked about: a conversation grows with every type. */
export const MAX_TYPES = 32;

export const TYPE_LIST = z.array(z.string().min(1), { error: `must be a list of 1 to ${MAX_TYPES} type names` })
  .min(1, `must be a list of 1 to ${MAX_TYPES} type names`).max(MAX_TYPES, `must be a list of 1 to ${MAX_TYPES} type names`);

export const NON_BLANK = z.string({ error: 'must be a string' }).refine((text) => text.trim() !== '', 'must not be blank');

const ANSWER_REQUEST = z.object({
  /** A template, a shipped template's name, or absent: the server's. */
  template: z.unknown().optional(),
  queries: z.array(z.object({
    text: NON_BLANK,
    types: TYPE_LIST,
    guidelines: z.string().min(1).optional(),
  }), { error: 'must be a non-empty list' }).min(1, 'must be a non-empty list'),
}, { error: 'must be an object {template, queries}' });

/** What the server answers with when a request does not say. */
export interface ServedDefaults {
  template: PromptTemplate;
  entityTypes: EntityTypes;
}

export function answerJobs(body: unknown, served: ServedDefaults): Job[] {
  const request = validate(ANSWER_REQUEST, body, 'the body', badRequest);
  const template = requestTemplate(request.template, served.template);
  const key = templateKey(template);
  return request.queries.map(({ text, types, guidelines }, index) => {
    // Checked, not renamed: the types are asked as the client named them.
    knownTypes(served.entityTypes, types);
    const sentence = { docId: '', index, start: 0, end: text.length, text };
    return { kind: 'answer', query: { sentence, types, ...(guidelines === undefined ? {} : { guidelines }) }, template, templateKey: key };
  });
}

export const answerResponse = (model: string, answers: Answer[][]): AnswerResponse => ({ model, answers });

const shipped = new Map<string, PromptTemplate>();

/** The request's template: given whole, by a shipped name (never a path: clients do not read the server's files), or the server's. */
function requestTemplate(value: unknown, fallback: PromptTemplate): PromptTemplate {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') return parsePromptTemplate(value, '"template"', badRequest);
  const names = promptTemplateNames();
  if (!names.includes(value)) throw badRequest(`"template" must be a template or the name of one of: ${names.join(', ')}`);
  if (!shipped.has(value)) shipped.set(value, loadPromptTemplate(value));
  return shipped.get(value)!;
}
