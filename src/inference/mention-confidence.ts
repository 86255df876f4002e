// How sure the model was of each mention it named: the geometric mean of the probabilities of
// the tokens that spell the mention's string in its answer. A geometric mean, so long names
// are not marked down for their length; a token that also carries a quote or comma counts.
import { answerLiterals } from '../stages/decode-answer.js';

/** A generated token's characters [start, end) in the decoded answer, and its probability. */
export interface TokenSpan {
  start: number;
  end: number;
  probability: number;
}

/** Confidence (0..1] by mention string as `decodeAnswer` reads it; a repeated string keeps its best. */
export function mentionConfidences(raw: string, tokens: readonly TokenSpan[]): Record<string, number> {
  const confidences = new Map<string, number>();
  for (const { value, start, end } of answerLiterals(raw)) {
    const spelling = tokens.filter((t) => t.start < end && t.end > start);
    if (value === '' || spelling.length === 0) continue;
    const confidence = Math.exp(spelling.reduce((sum, t) => sum + Math.log(t.probability), 0) / spelling.length);
    confidences.set(value, Math.max(confidence, confidences.get(value) ?? 0));
  }
  return Object.fromEntries(confidences);
}
