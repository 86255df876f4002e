// Grounded mentions become EntityRecords: canonical type, Biolink category, concept and long form
// when known, one record per span, ordered by offset, with an id that is the same every time the
// same span is found.
import { createHash } from 'node:crypto';
import type { EntityRecord, Provenance } from '../domain/types.js';
import type { LinkedConcept } from './concepts/concept-linker.js';
import type { EntityTypes } from './entity-types.js';
import type { GroundedMention } from './ground-mentions.js';

export interface TypedMention extends GroundedMention {
  type: string;
  sentenceIndex: number;
  confidence?: number;
  /** For a short form, the long form its document defines it with. */
  longForm?: string;
  /** The lexicon concept(s) the mention names, when linked. */
  concept?: LinkedConcept;
}

export function toEntityRecords(
  docId: string,
  mentions: readonly TypedMention[],
  types: EntityTypes,
  provenance: Provenance,
): EntityRecord[] {
  const bySpan = new Map<string, EntityRecord>();
  for (const m of mentions) {
    const type = types.canonical(m.type);
    const key = `${m.start}:${m.end}:${type}`;
    const confidence = m.confidence ?? null;
    const seen = bySpan.get(key);
    if (seen) {
      // The same span answered twice (a repeated string): keep the surer one.
      if (confidence !== null && (seen.confidence === null || confidence > seen.confidence)) {
        seen.confidence = confidence;
      }
      continue;
    }
    bySpan.set(key, {
      entity_id: entityId(docId, m.start, m.end, type),
      doc_id: docId,
      start: m.start,
      end: m.end,
      text: m.text,
      type,
      category: types.category(type),
      sentence_index: m.sentenceIndex,
      confidence,
      provenance,
      concept_id: m.concept?.ids[0] ?? null,
      concept_ids: m.concept?.ids ?? [],
      concept_name: m.concept?.name ?? null,
      concept_score: m.concept?.score ?? null,
      long_form: m.longForm ?? null,
    });
  }
  return [...bySpan.values()].sort(
    (a, b) => a.start - b.start || a.end - b.end || a.type.localeCompare(b.type),
  );
}

/** Depends on the span and type only, so re-processing a document yields the same ids. */
export function entityId(docId: string, start: number, end: number, type: string): string {
  return createHash('sha256').update(`${docId}\0${start}\0${end}\0${type}`).digest('hex').slice(0, 32);
}
