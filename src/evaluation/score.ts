// Micro precision / recall / F1, the field's convention: strict is an exact (document, type,
// start, end) match; lenient is UniversalNER's normalised string match per sentence and type;
// concept compares the (document, type, concept id) pairs each side names.
import type { Document } from '../domain/types.js';
import { splitSentences } from '../stages/split-sentences.js';

/** A mention to score, gold or predicted, with a canonical type. */
export interface ScoredMention {
  docId: string;
  start: number;
  end: number;
  text: string;
  type: string;
  /** CURIEs; absent or empty when the mention names no known concept. */
  conceptIds?: string[];
}

export interface Score {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface Report {
  match: 'strict' | 'lenient' | 'concept';
  overall: Score;
  byType: Record<string, Score>;
}

export function scoreStrict(gold: ScoredMention[], predicted: ScoredMention[]): Report {
  const key = (m: ScoredMention) => `${m.docId}\0${m.start}\0${m.end}`;
  return report('strict', gold, predicted, key);
}

/** Sentences come from splitting the gold documents, so both sides are grouped alike. */
export function scoreLenient(
  documents: Document[],
  gold: ScoredMention[],
  predicted: ScoredMention[],
): Report {
  const sentenceStarts = new Map(
    documents.map((d) => [d.id, splitSentences(d).map((s) => s.start)] as const),
  );
  const sentenceOf = (m: ScoredMention) => {
    const starts = sentenceStarts.get(m.docId) ?? [0];
    let index = 0;
    while (index + 1 < starts.length && starts[index + 1]! <= m.start) index++;
    return index;
  };
  const key = (m: ScoredMention) => `${m.docId}\0${sentenceOf(m)}\0${normaliseAnswer(m.text)}`;
  return report('lenient', gold, predicted, key);
}

/**
 * Concept level: what a knowledge graph takes from a document is the set of concepts it names,
 * so each (document, type, id) counts once however many mentions name it.
 */
export function scoreConcepts(gold: ScoredMention[], predicted: ScoredMention[]): Report {
  const perId = (mentions: ScoredMention[]) => mentions.flatMap((m) => (m.conceptIds ?? []).map((id) => ({ ...m, text: id })));
  return report('concept', perId(gold), perId(predicted), (m) => `${m.docId}\0${m.text}`);
}

/** UniversalNER's normalisation: lower case, no punctuation, no articles, single spaces. */
export function normaliseAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');
}

function report(
  match: Report['match'],
  gold: ScoredMention[],
  predicted: ScoredMention[],
  spanKey: (m: ScoredMention) => string,
): Report {
  const keys = (mentions: ScoredMention[]) => new Set(mentions.map((m) => `${m.type}\0${spanKey(m)}`));
  const goldKeys = keys(gold);
  const predictedKeys = keys(predicted);
  const types = [...new Set([...gold, ...predicted].map((m) => m.type))].sort();
  const counts = (type?: string) => {
    const ofType = (k: string) => type === undefined || k.startsWith(`${type}\0`);
    const g = [...goldKeys].filter(ofType);
    const p = [...predictedKeys].filter(ofType);
    const tp = p.filter((k) => goldKeys.has(k)).length;
    return score(tp, p.length - tp, g.length - tp);
  };
  return {
    match,
    overall: counts(),
    byType: Object.fromEntries(types.map((t) => [t, counts(t)])),
  };
}

export function score(tp: number, fp: number, fn: number): Score {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, precision, recall, f1 };
}
