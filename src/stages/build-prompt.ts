// Turns a sentence and its entity types into chat conversations, from a template file, so a
// model is prompted exactly the way it was fine-tuned (conv_term, UniversalNER, or your own).
import type { ChatMessage } from '../domain/types.js';
import { projectPath, readJson } from '../project.js';

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

export function loadPromptTemplate(nameOrPath: string): PromptTemplate {
  const path = /[/\\]|\.json$/.test(nameOrPath)
    ? nameOrPath
    : projectPath('config', 'prompts', `${nameOrPath}.json`);
  return parsePromptTemplate(readJson<unknown>(path), `prompt template ${path}`);
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

/**
 * The conversation that asks for `types[answers.length]`, ending on that user turn.
 * `answers` are the assistant turns already given for the earlier types.
 */
export function conversationFor(
  template: PromptTemplate,
  text: string,
  types: readonly string[],
  answers: readonly string[],
): ChatMessage[] {
  const step = answers.length;
  if (step >= types.length) throw new Error(`no type left to ask: ${step} of ${types.length}`);
  const fill = (pattern: string, type?: string) =>
    substitute(pattern, {
      instruction: substitute(template.instruction, { dataset: template.dataset }),
      format: template.format,
      dataset: template.dataset,
      text,
      type: type === undefined ? '' : typeLabel(template, type),
    });

  const messages: ChatMessage[] = template.system ? [{ role: 'system', content: template.system }] : [];
  messages.push(...template.preamble.map((m) => ({ role: m.role, content: fill(m.content) })));
  if (!template.multi_turn) {
    messages.push({ role: 'user', content: fill(template.first_turn, types[step]) });
    return messages;
  }
  types.slice(0, step + 1).forEach((type, i) => {
    messages.push({ role: 'user', content: fill(i === 0 ? template.first_turn : template.next_turn, type) });
    if (i < step) messages.push({ role: 'assistant', content: answers[i]! });
  });
  return messages;
}

/** The assistant turn that names `mentions`, as a model trained on the template answers: `Answer: ["BCL6", "IL-2"]`. */
export function answerTurn(template: PromptTemplate, mentions: readonly string[]): string {
  return `${template.answer_prefix}[${mentions.map((m) => JSON.stringify(m)).join(', ')}]`;
}

function typeLabel(template: PromptTemplate, type: string): string {
  return template.type_labels[type] ?? type;
}

function substitute(pattern: string, values: Record<string, string>): string {
  return pattern.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}
