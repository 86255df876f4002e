// Small models are poor at character offsets, so the system finds each answer string in its
// sentence itself and turns every occurrence into document offsets.
import type { Sentence } from '../domain/types.js';

/** A mention string placed in the document; `text` is the document's own slice. */
export interface GroundedMention {
  mention: string;
  start: number;
  end: number;
  text: string;
}

export interface Grounding {
  grounded: GroundedMention[];
  /** Strings that occur nowhere in the sentence: counted, never published. */
  ungrounded: string[];
}

export function groundMentions(sentence: Sentence, mentions: string[]): Grounding {
  const located = mentions.map((mention) => ({ mention, spans: locate(sentence.text, mention) }));
  const ungrounded = located.filter((l) => l.spans.length === 0).map((l) => l.mention);
  const spans = located.flatMap((l) => l.spans);
  const grounded = located.flatMap(({ mention, spans: own }) =>
    preferStandalone(own, spans).map(([start, end]) => ({
      mention,
      start: sentence.start + start,
      end: sentence.start + end,
      text: sentence.text.slice(start, end),
    })),
  );
  return { grounded, ungrounded };
}

type Span = readonly [start: number, end: number];

/**
 * Every occurrence of `mention` in `text`, trying the strictest reading first: exact and on word
 * boundaries, then ignoring case and whitespace ("IL - 2" for "IL-2"), then inside words.
 */
export function locate(text: string, mention: string): Span[] {
  const folded = fold(text);
  const foldedMention = fold(mention).text;
  if (foldedMention === '') return [];
  const exact = occurrences(text, mention).map((i): Span => [i, i + mention.length]);
  const loose = occurrences(folded.text, foldedMention).map(
    (i): Span => [folded.offsets[i]!, folded.offsets[i + foldedMention.length - 1]! + 1],
  );
  const onBoundaries = (spans: Span[]) => spans.filter((s) => isWordBounded(text, s));
  for (const spans of [onBoundaries(exact), onBoundaries(loose), exact, loose]) {
    if (spans.length > 0) return spans;
  }
  return [];
}

/**
 * A short mention that also lies inside a longer one ("cancer" in "breast cancer") keeps only its
 * standalone occurrences; when it has none it is a genuinely nested entity and keeps them all.
 */
function preferStandalone(own: Span[], all: Span[]): Span[] {
  const standalone = own.filter(
    (s) => !all.some((o) => o[0] <= s[0] && s[1] <= o[1] && o[1] - o[0] > s[1] - s[0]),
  );
  return standalone.length > 0 ? standalone : own;
}

/** Lower-cased text without whitespace, with each character's offset in the original. */
function fold(text: string): { text: string; offsets: number[] } {
  let folded = '';
  const offsets: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (/\s/.test(ch)) continue;
    const lower = ch.toLowerCase();
    folded += lower.length === 1 ? lower : ch; // keep offsets one-to-one
    offsets.push(i);
  }
  return { text: folded, offsets };
}

function occurrences(haystack: string, needle: string): number[] {
  const found: number[] = [];
  if (needle === '') return found;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) {
    found.push(i);
  }
  return found;
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

function isWordBounded(text: string, [start, end]: Span): boolean {
  const joins = (a: string | undefined, b: string | undefined) =>
    a !== undefined && b !== undefined && WORD_CHAR.test(a) && WORD_CHAR.test(b);
  return !joins(text[start - 1], text[start]) && !joins(text[end - 1], text[end]);
}
