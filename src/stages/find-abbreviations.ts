// Abbreviation definitions such as "Wilson disease (WD)", found the Schwartz–Hearst way
// (Schwartz & Hearst 2003): a parenthesised short form whose characters appear, in order, in
// the words before it, its first character starting a word. Documents define an abbreviation
// once and use it many times, so each definition tells later stages what the short form means.
import type { Sentence } from '../domain/types.js';

/** A stretch of document text. */
export interface TextSpan {
  start: number;
  end: number;
  text: string;
}

export interface AbbreviationDefinition {
  shortForm: TextSpan;
  longForm: TextSpan;
}

/** Statistics and measurements in parentheses, "(n = 5)", "(p < 0.05)", "(±2%)", are not short forms. */
const NOT_A_SHORT_FORM = /[=<>±%]/;
const WORD_CHAR = /[\p{L}\p{N}]/u;
const MAX_SHORT_FORM_CHARS = 10;

/** Every definition in the document's sentences, in text order; a long form never crosses a sentence. */
export function findAbbreviations(sentences: readonly Sentence[]): AbbreviationDefinition[] {
  return sentences.flatMap((sentence) =>
    definitionsIn(sentence.text).map(({ shortForm, longForm }) => ({
      shortForm: shift(shortForm, sentence.start),
      longForm: shift(longForm, sentence.start),
    })),
  );
}

/** Definitions in one piece of text, with offsets into it. */
export function definitionsIn(text: string): AbbreviationDefinition[] {
  const found: AbbreviationDefinition[] = [];
  for (const group of parenthesisedGroups(text)) {
    const definition = longFormFirst(text, group) ?? shortFormFirst(text, group);
    if (definition) found.push(definition);
  }
  return found;
}

interface Group {
  /** Offsets of "(" and of its matching ")". */
  open: number;
  close: number;
  /** Where the text before "(" may begin: the sentence start, or just inside an enclosing "(". */
  contextStart: number;
}

/** Every balanced "( … )", nested ones too: "uniparental disomy (UPD (14))" holds two. */
function parenthesisedGroups(text: string): Group[] {
  const groups: Group[] = [];
  const open: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') open.push(i);
    else if (text[i] === ')' && open.length > 0) {
      const start = open.pop()!;
      groups.push({ open: start, close: i, contextStart: open.length > 0 ? open.at(-1)! + 1 : 0 });
    }
  }
  return groups.sort((a, b) => a.open - b.open);
}

/** "long form (SF)", the usual order. "(AKU; McKusick no. 203500)" keeps what comes before the ";". */
function longFormFirst(text: string, group: Group): AbbreviationDefinition | undefined {
  const inner = withoutNestedGroups(text, group.open + 1, group.close);
  const cut = inner.text.search(/;|, /);
  const candidate = trimSpan(inner.text.slice(0, cut < 0 ? undefined : cut), inner.offsets);
  if (!candidate || !isShortForm(candidate.text)) return undefined;
  const longForm = bestLongForm(candidate.text, text.slice(group.contextStart, group.open));
  return longForm && { shortForm: candidate, longForm: shift(longForm, group.contextStart) };
}

/**
 * "SF (long form)": the word before "(" is the short form, the parenthesised words its long form.
 * The rarer order, so stricter: no nested parentheses, and a short form with a capital or a digit
 * (not "alpha (3-aminopropyl...)").
 */
function shortFormFirst(text: string, group: Group): AbbreviationDefinition | undefined {
  const inner = trimSpan(text.slice(group.open + 1, group.close), offsetsFrom(group.open + 1, group.close));
  if (!inner || words(inner.text).length < 2 || /[()]/.test(inner.text)) return undefined;
  const word = /(\S+)\s*$/.exec(text.slice(group.contextStart, group.open));
  if (!word || !isShortForm(word[1]!) || !/[\p{Lu}\p{N}]/u.test(word[1]!)) return undefined;
  if (bestLongForm(word[1]!, inner.text)?.start !== 0) return undefined;
  const start = group.contextStart + word.index;
  return { shortForm: { start, end: start + word[1]!.length, text: word[1]! }, longForm: inner };
}

function isShortForm(candidate: string): boolean {
  return (
    candidate.length >= 2 &&
    candidate.length <= MAX_SHORT_FORM_CHARS &&
    words(candidate).length <= 2 &&
    WORD_CHAR.test(candidate[0]!) &&
    /\p{L}/u.test(candidate) &&
    !NOT_A_SHORT_FORM.test(candidate)
  );
}

/**
 * Schwartz–Hearst's match: walk the short form's letters and digits from the last, finding each
 * further left in the text before it; the first must start a word. The long form runs from that
 * word to the end of `before`, within min(|SF| + 5, 2|SF|) words. Undefined when they do not fit.
 */
function bestLongForm(shortForm: string, before: string): TextSpan | undefined {
  const maxWords = Math.min(shortForm.length + 5, shortForm.length * 2);
  const end = before.replace(/[\s,;:]+$/, '').length; // "puromycin aminonucleoside, (PAN)"
  const wordStarts = [...before.slice(0, end).matchAll(/\S+/g)].map((m) => m.index);
  const from = wordStarts.at(-maxWords) ?? wordStarts[0] ?? end;
  const sf = shortForm.toLowerCase();
  const lf = before.slice(0, end).toLowerCase();
  let l = end - 1;
  for (let s = sf.length - 1; s >= 0; s--) {
    const c = sf[s]!;
    if (!WORD_CHAR.test(c)) continue;
    while (l >= from && (lf[l] !== c || (s === 0 && l > from && WORD_CHAR.test(lf[l - 1]!)))) l--;
    if (l < from) return undefined;
    l--;
  }
  let start = l + 1;
  while (start > from && !/\s/.test(before[start - 1]!)) start--;
  const text = before.slice(start, end);
  // A long form starts with a word: "(sgk1(-/-)) and their littermates" is no long form of "sgk1".
  if (text.length <= shortForm.length || !WORD_CHAR.test(text[0]!) || words(text).includes(shortForm)) return undefined;
  return { start, end, text };
}

/** Text between `from` and `to` with nested "( … )" removed, and each kept character's offset. */
function withoutNestedGroups(text: string, from: number, to: number): { text: string; offsets: number[] } {
  let kept = '';
  const offsets: number[] = [];
  let depth = 0;
  for (let i = from; i < to; i++) {
    const ch = text[i]!;
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) {
      kept += ch;
      offsets.push(i);
    }
  }
  return { text: kept, offsets };
}

function trimSpan(value: string, offsets: number[]): TextSpan | undefined {
  const lead = value.length - value.trimStart().length;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  const start = offsets[lead]!;
  const end = offsets[lead + trimmed.length - 1]! + 1;
  // A nested group inside the short form ("V (max)") would leave a gap: not a plain short form.
  return end - start === trimmed.length ? { start, end, text: trimmed } : undefined;
}

const offsetsFrom = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);
const shift = (span: TextSpan, by: number): TextSpan => ({ ...span, start: span.start + by, end: span.end + by });
