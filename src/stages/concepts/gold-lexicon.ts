// A lexicon learnt from a corpus's gold concept ids: every name annotators linked to a concept
// becomes a synonym of it. The default lexicons are built this way from the training splits.
import type { GoldMention } from '../../domain/types.js';
import type { Concept } from './lexicon.js';
import { nameKey } from './name-key.js';

/**
 * Concepts from mentions that name exactly one concept (composite mentions name several and
 * teach no single name). A name linked to several concepts goes to the one it names most often;
 * each concept's preferred name is its most frequent name. Sorted by id, so output is stable.
 */
export function goldLexicon(mentions: readonly GoldMention[]): Concept[] {
  const byKey = new Map<string, { ids: Map<string, number>; surfaces: Map<string, number> }>();
  for (const m of mentions) {
    if (m.conceptIds?.length !== 1) continue;
    const key = nameKey(m.text);
    if (key === '') continue;
    const entry = byKey.get(key) ?? { ids: new Map(), surfaces: new Map() };
    increment(entry.ids, m.conceptIds[0]!);
    increment(entry.surfaces, m.text);
    byKey.set(key, entry);
  }
  const names = new Map<string, Map<string, number>>();
  for (const { ids, surfaces } of byKey.values()) {
    const id = mostFrequent(ids);
    const forId = names.get(id) ?? new Map<string, number>();
    forId.set(mostFrequent(surfaces), [...surfaces.values()].reduce((a, b) => a + b, 0));
    names.set(id, forId);
  }
  return [...names]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, counts]) => {
      const name = mostFrequent(counts);
      return { id, name, synonyms: [...counts.keys()].filter((n) => n !== name).sort() };
    });
}

const increment = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

/** The most frequent key; ties go to the first in sort order, so results do not depend on input order. */
function mostFrequent(counts: Map<string, number>): string {
  return [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))[0]![0];
}
