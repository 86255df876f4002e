// Turns a sentence and its entity types into chat conversations, from a template file, so a
// model is prompted exactly the way it was fine-tuned (conv_term, UniversalNER, or your own).
import { readdirSync } from 'node:fs';
import { parsePromptTemplate, type PromptTemplate } from '../domain/prompt-template.js';
import type { ChatMessage } from '../domain/types.js';
import { projectPath, readJson } from '../project.js';

/** The shipped templates' names (config/prompts), which loadPromptTemplate takes as they are. */
export const promptTemplateNames = (): string[] =>
  readdirSync(projectPath('config', 'prompts')).filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -'.json'.length)).sort();

export function loadPromptTemplate(nameOrPath: string): PromptTemplate {
  const path = /[/\\]|\.json$/.test(nameOrPath)
    ? nameOrPath
    : projectPath('config', 'prompts', `${nameOrPath}.json`);
  return parsePromptTemplate(readJson<unknown>(path), `prompt template ${path}`);
}

/** The template asking for `guidelines` ("Follow {dataset} guidelines"), or as it is when none are given. */
export function withGuidelines(template: PromptTemplate, guidelines: string | undefined): PromptTemplate {
  return guidelines === undefined ? template : { ...template, dataset: guidelines };
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
