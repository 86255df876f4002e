// How a model is prompted: the template a conversation is built from (config/prompts/*.json, or
// sent with a request), and checking one read from outside.
import type { ChatMessage } from './types.js';

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

/** A template from a file or a request, checked field by field; `source` names it in errors. */
export function parsePromptTemplate(value: unknown, source: string): PromptTemplate {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${source} is not an object`);
  const file = value as Record<string, unknown>;
  for (const key of ['name', 'first_turn', 'next_turn', 'multi_turn'] as const) {
    if (file[key] === undefined) throw new Error(`${source} lacks "${key}"`);
  }
  for (const key of ['name', 'dataset', 'system', 'instruction', 'format', 'first_turn', 'next_turn', 'answer_prefix'] as const) {
    if (file[key] !== undefined && typeof file[key] !== 'string') throw new Error(`${source}: "${key}" must be a string`);
  }
  if (typeof file.multi_turn !== 'boolean') throw new Error(`${source}: "multi_turn" must be true or false`);
  const isMessage = (m: unknown) => typeof (m as ChatMessage)?.content === 'string' &&
    ['system', 'user', 'assistant'].includes((m as ChatMessage).role);
  if (file.preamble !== undefined && !(Array.isArray(file.preamble) && file.preamble.every(isMessage))) {
    throw new Error(`${source}: "preamble" must be a list of {role, content} messages`);
  }
  const labels = file.type_labels;
  if (labels !== undefined && (typeof labels !== 'object' || labels === null ||
      !Object.values(labels).every((l) => typeof l === 'string'))) {
    throw new Error(`${source}: "type_labels" must map types to strings`);
  }
  const defaults = { preamble: [], instruction: '', format: '', dataset: '', type_labels: {}, answer_prefix: '' };
  return { ...defaults, ...(file as Partial<PromptTemplate>) } as PromptTemplate;
}
