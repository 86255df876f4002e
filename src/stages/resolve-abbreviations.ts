// What a document's abbreviation definitions tell about its mentions: a short form means its long
// form, so it takes the long form's type and is linked through it, and, when the model named only
// the long form, the short form's other occurrences in the document are mentions too.
import type { Sentence } from '../domain/types.js';
import type { AbbreviationDefinition } from './find-abbreviations.js';
import { locate } from './ground-mentions.js';
import type { TypedMention } from './normalise-entities.js';

export interface AbbreviationOptions {
  /** Ground a short form wherever it occurs once its long form is an entity (default on). */
  groundShortForms: boolean;
}

export const DEFAULT_ABBREVIATION_OPTIONS: AbbreviationOptions = { groundShortForms: true };

export function resolveAbbreviations(
  sentences: readonly Sentence[],
  definitions: readonly AbbreviationDefinition[],
  mentions: readonly TypedMention[],
  options: AbbreviationOptions = DEFAULT_ABBREVIATION_OPTIONS,
): TypedMention[] {
  const resolved = mentions.map((m) => ({ ...m }));
  for (const { shortForm, longForm } of definitions) {
    const longFormEntities = resolved.filter((m) => m.text.toLowerCase() === longForm.text.toLowerCase());
    const types = [...new Set(longFormEntities.map((m) => m.type))];
    for (const m of resolved) {
      if (m.text !== shortForm.text) continue;
      m.longForm = longForm.text;
      if (types.length > 0 && !types.includes(m.type)) m.type = types[0]!;
    }
    if (!options.groundShortForms) continue;
    for (const type of types) {
      const confidence = longFormEntities.find((m) => m.type === type)?.confidence;
      for (const occurrence of occurrencesIn(sentences, shortForm.text)) {
        // Inside a longer mention ("SJS type 2") the short form is part of another name.
        const covered = resolved.some((m) => m.start < occurrence.end && occurrence.start < m.end && m.type === type);
        if (covered) continue;
        resolved.push({ ...occurrence, mention: shortForm.text, type, longForm: longForm.text, ...(confidence === undefined ? {} : { confidence }) });
      }
    }
  }
  return resolved;
}

/** Case-exact, whole-word occurrences: "WD" but not "wd", "WDR5" or the "FAP" of "non-FAP". */
function occurrencesIn(sentences: readonly Sentence[], shortForm: string) {
  return sentences.flatMap((sentence) =>
    locate(sentence.text, shortForm)
      .filter(([start, end]) => sentence.text.slice(start, end) === shortForm && isWholeWord(sentence.text, start, end))
      .map(([start, end]) => ({ start: sentence.start + start, end: sentence.start + end, text: shortForm, sentenceIndex: sentence.index })),
  );
}

const WORD_CHAR = /[\p{L}\p{N}-]/u;
const isWholeWord = (text: string, start: number, end: number): boolean =>
  !WORD_CHAR.test(text[start - 1] ?? '') && !WORD_CHAR.test(text[end] ?? '');
