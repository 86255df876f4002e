// How a model is prompted: the template a conversation is built from (config/prompts/*.json, or
// sent with a request), and checking one read from outside.
import { z } from 'zod';
import type { ChatMessage } from './types.js';
import { validate } from './validate.js';

export interface PromptTemplate {
  /** Recorded as the prompt format in each entity's provenance. */
  name: string;
  /** Guideline name substituted for {dataset}. */
  dataset: string;
  system?: string;
  instruction: string;
  format: string;
  /** Turns before the first question; UniversalNER reads the text here. */
  preamble: ChatMessage[];
  first_turn: string;
  next_turn: string;
  /** true: every earlier type and answer stays in the chat (conv_term); false: each type is asked right after the preamble. */
  multi_turn: boolean;
  /** Canonical type → the name the model was trained on. */
  type_labels: Record<string, string>;
  /** What an answer starts with before its JSON list (`Answer: ` for conv_term, none for UniversalNER). */
  answer_prefix: string;
}

const text = z.string({ error: 'must be a string' });
const message = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() });

const PROMPT_TEMPLATE: z.ZodType<PromptTemplate> = z.object({
  name: text,
  dataset: text.default(''),
  system: text.optional(),
  instruction: text.default(''),
  format: text.default(''),
  preamble: z.array(message, { error: 'must be a list of {role, content} messages' }).default([]),
  first_turn: text,
  next_turn: text,
  multi_turn: z.boolean({ error: 'must be true or false' }),
  type_labels: z.record(z.string(), z.string(), { error: 'must map types to strings' }).default({}),
  answer_prefix: text.default(''),
}, { error: 'is not an object' });

/** A template from a file or a request, checked field by field; `source` names it in errors, `fail` makes them. */
export function parsePromptTemplate(value: unknown, source: string, fail?: (message: string) => Error): PromptTemplate {
  return validate(PROMPT_TEMPLATE, value, source, fail);
}
