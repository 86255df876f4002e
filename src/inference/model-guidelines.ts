// Which annotation guidelines to ask a fine-tuned model for ("Follow {dataset} guidelines."). A
// model trained by `bioner-stream train` saw each corpus under its own name and learned that
// corpus's conventions (BC5CDR's chemicals, JNLPBA's five GENIA types); its directory lists
// them in guidelines.json, corpus name → the types it annotates. A model never asked about genes
// under BC5CDR answers them worse there, so requested types that span several corpora are asked
// in one conversation per corpus.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from '../project.js';

export const GUIDELINES_FILE = 'guidelines.json';

/** Types asked together in one conversation, under one guideline. */
export interface GuidelineGroup {
  /** "Follow {guidelines} guidelines."; absent: the template's own dataset. */
  guidelines?: string;
  types: string[];
}

/** Why `name` cannot be asked for, in one line, when the model lists its guidelines (`known`) and not this one. */
export function guidelinesProblem(name: string, known: readonly string[] | undefined): string | undefined {
  if (known === undefined || known.includes(name)) return undefined;
  return `unknown guidelines "${name}"; this model knows: ${known.join(', ')}`;
}

export class GuidelinePlan {
  private readonly cache = new Map<string, GuidelineGroup[]>();

  /**
   * @param corpora corpus name → the types it annotates, in guidelines.json's order (first wins a tie)
   * @param forced one guideline for every type (`--guidelines NAME`)
   */
  constructor(private readonly corpora: readonly [string, readonly string[]][], private readonly forced?: string) {}

  /**
   * The plan of a model directory's guidelines.json; a spec with none (oracle, remote, a base
   * model) asks under the template's own. A forced name the model does not list is refused.
   */
  static forModel(modelSpec: string, forced?: string): GuidelinePlan {
    const file = join(modelSpec, GUIDELINES_FILE);
    const corpora = existsSync(file) ? Object.entries(readJson<Record<string, string[]>>(file)) : undefined;
    const problem = forced === undefined ? undefined : guidelinesProblem(forced, corpora?.map(([name]) => name));
    if (problem !== undefined) throw new Error(problem);
    return new GuidelinePlan(corpora ?? [], forced);
  }

  /**
   * `types` split by guideline: repeatedly the corpus that annotates the most of the types left
   * with the fewest others takes those it annotates. Types no corpus annotates join the first
   * group. Each group keeps the requested order.
   */
  groups(types: readonly string[]): GuidelineGroup[] {
    if (this.forced !== undefined) return [{ guidelines: this.forced, types: [...types] }];
    const key = types.join('\u0000');
    const known = this.cache.get(key);
    if (known) return known;
    const groups: GuidelineGroup[] = [];
    let left = [...types];
    for (let corpus = this.bestFit(left); corpus; corpus = this.bestFit(left)) {
      const covered = new Set(corpus[1]);
      groups.push({ guidelines: corpus[0], types: left.filter((t) => covered.has(t)) });
      left = left.filter((t) => !covered.has(t));
    }
    if (left.length > 0) {
      if (groups[0]) groups[0].types.push(...left);
      else groups.push({ types: left });
    }
    this.cache.set(key, groups);
    return groups;
  }

  /** The corpus sharing the most of `types`, then with the fewest others; undefined when none shares any. */
  private bestFit(types: readonly string[]): readonly [string, readonly string[]] | undefined {
    const wanted = new Set(types);
    const fit = ([, covered]: readonly [string, readonly string[]]) => {
      const shared = covered.filter((t) => wanted.has(t)).length;
      return [shared, -(covered.length - shared)] as const;
    };
    let best: readonly [string, readonly string[]] | undefined;
    for (const corpus of this.corpora) {
      const [shared, extra] = fit(corpus);
      if (shared === 0) continue;
      const current = best && fit(best);
      if (!current || shared > current[0] || (shared === current[0] && extra > current[1])) best = corpus;
    }
    return best;
  }
}
