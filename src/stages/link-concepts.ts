// The concept normalisation stage: every typed mention gets the lexicon concept it names, if any.
import type { ConceptLinker } from './concepts/concept-linker.js';
import type { TypedMention } from './normalise-entities.js';

export function linkConcepts(mentions: readonly TypedMention[], linker: ConceptLinker): TypedMention[] {
  // A document repeats its names: link each (type, text, long form) once.
  const seen = new Map<string, TypedMention['concept']>();
  return mentions.map((m) => {
    const key = `${m.type}\0${m.text}\0${m.longForm ?? ''}`;
    if (!seen.has(key)) seen.set(key, linker.link(m.type, m.text, m.longForm));
    const concept = seen.get(key);
    return concept ? { ...m, concept } : m;
  });
}
