// Several lexicons of one type as one: the shipped vocabulary with the names a corpus taught, or
// the default lexicons with a user's. A concept in several keeps the first's preferred name.
import type { Concept } from './lexicon.js';
import { nameKey } from './name-key.js';

/**
 * Concepts of every list, the first list's first; a concept id met again adds its names (its
 * preferred name too) as synonyms of the first. Names equal once normalised are kept once.
 */
export function mergeConcepts(lists: readonly (readonly Concept[])[]): Concept[] {
  const merged = new Map<string, { concept: Concept; keys: Set<string> }>();
  for (const list of lists) {
    for (const concept of list) {
      const names = [concept.name, ...concept.synonyms];
      let entry = merged.get(concept.id);
      if (!entry) {
        entry = { concept: { id: concept.id, name: concept.name, synonyms: [] }, keys: new Set([nameKey(concept.name)]) };
        merged.set(concept.id, entry);
      }
      for (const name of names) {
        const key = nameKey(name);
        if (entry.keys.has(key)) continue;
        entry.keys.add(key);
        entry.concept.synonyms.push(name);
      }
    }
  }
  return [...merged.values()].map((e) => e.concept);
}
