// Which annotation guidelines to ask a fine-tuned model for ("Follow {dataset} guidelines."). A
// model trained by `bioner-stream train` saw each corpus under its own name and learned that
// corpus's conventions (BC5CDR's chemicals, JNLPBA's five GENIA types); its directory lists
// them in guidelines.json, corpus name → the types it annotates.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from '../project.js';

export const GUIDELINES_FILE = 'guidelines.json';

/**
 * The corpus whose types fit `types` best: the same set, else the most of them with the fewest
 * others, the first listed on a tie. Undefined when the model lists none (a model spec that is
 * not a directory, a base model), so the template's own `dataset` stays.
 */
export function modelGuidelines(modelSpec: string, types: readonly string[]): string | undefined {
  const file = join(modelSpec, GUIDELINES_FILE);
  if (!existsSync(file)) return undefined;
  const corpora = Object.entries(readJson<Record<string, string[]>>(file));
  const wanted = new Set(types);
  const fit = ([, covered]: [string, string[]]) => {
    const shared = covered.filter((t) => wanted.has(t)).length;
    return [shared, -(covered.length - shared)] as const;
  };
  let best: [string, string[]] | undefined;
  for (const corpus of corpora) {
    const [shared, extra] = fit(corpus);
    if (shared === 0) continue;
    const current = best && fit(best);
    if (!current || shared > current[0] || (shared === current[0] && extra > current[1])) best = corpus;
  }
  return best?.[0];
}
