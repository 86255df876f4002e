// Sentence splitting with document offsets, for biomedical abstracts and clinical notes.
//
// Three passes:
//  1. Layout: a title, blank lines, list items, labels and headings cut the document into blocks.
//  2. Punctuation: inside a block a sentence ends after . ! ? followed by whitespace, unless
//     an abbreviation, a decimal, a lowercase continuation or an open bracket says otherwise.
//  3. Length: a sentence over `maxTokens` is cut again at "; ", ", ", a function word or whitespace.
// General-purpose splitters (Intl.Segmenter included) break "e.g. E. coli", "Fig. 2",
// "et al. Reported" and PubMed's spaced decimals ("EC 1. 1. 1. 49"), and so cut gold
// entities in two; these rules are tuned to cut none on NCBI-disease.

import type { Document, Sentence } from '../domain/types.js';

export interface SplitOptions {
  /** Upper bound on a sentence's length, in `countTokens` units (default 256). */
  maxTokens?: number;
  /** Token counter for the bound (default `estimateTokens`); pass the model's tokenizer to be exact. */
  countTokens?: (text: string) => number;
}

export const DEFAULT_MAX_TOKENS = 256;

/**
 * Cheap stand-in for a BPE tokenizer, meant to over- rather than under-count: each digit,
 * punctuation mark or symbol is one token (Qwen-style tokenizers split digits), and a run
 * of letters one token per 4 letters, rounded up. On NCBI-disease sentences it gives about
 * 1.3x the Qwen3 tokenizer's count, and less than it for under 1% of sentences.
 */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (const [piece] of text.matchAll(/\p{L}+|\S/gu)) tokens += /^\p{L}/u.test(piece) ? Math.ceil(piece.length / 4) : 1;
  return tokens;
}

/**
 * Splits a document into sentences whose `text === doc.text.slice(start, end)`, trimmed,
 * indexed 0..n-1, together covering every non-whitespace character exactly once.
 *
 * Layout rules: a document whose text starts with its `title` has the title as a sentence
 * of its own; a blank line always ends a sentence; a line starting with a list marker
 * ("- ", "* ", "• ", "1. ", "1) ", "a) ") or with a label ("Plan: ...", a capital letter
 * and at most 40 letters, digits, spaces or &/'()- before the colon) starts one; a heading
 * line, a label alone on its line ("HISTORY OF PRESENT ILLNESS:"), is a sentence of its
 * own, so it never merges with the text under it; any other newline is wrapped prose and
 * no boundary.
 */
export function splitSentences(doc: Document, options: SplitOptions = {}): Sentence[] {
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  const countTokens = options.countTokens ?? estimateTokens;
  const { text } = doc;
  const titleEnd = doc.title && text.startsWith(doc.title) ? doc.title.length : 0;
  const sentences: Sentence[] = [];
  for (const block of [...blocks(text, 0, titleEnd), ...blocks(text, titleEnd, text.length)]) {
    let start = block.start;
    for (const cut of [...boundaries(text, block), block.end]) {
      const [s, e] = trim(text, start, cut);
      start = cut;
      if (s === e) continue;
      for (const [ps, pe] of bound(text, s, e, maxTokens, countTokens))
        sentences.push({ docId: doc.id, index: sentences.length, start: ps, end: pe, text: text.slice(ps, pe) });
    }
  }
  return sentences;
}

// ---- Pass 1: layout ------------------------------------------------------------------

interface Block {
  start: number;
  end: number;
  /** Where punctuation scanning starts: after a list marker, whose "1." ends no sentence. */
  bodyStart: number;
}

const LIST_MARKER = /^[ \t]*(?:[-*•]|\d{1,3}[.)]|[A-Za-z]\))[ \t]+(?=\S)/;
/** "Plan: ..." or, with group 1 (the blank rest of the line), a heading "PLAN:". */
const LABEL = /^[ \t]*\p{Lu}[\p{L}\p{N} &/'()-]{0,40}:(?:(\s*)$|\s)/u;

function blocks(text: string, from: number, to: number): Block[] {
  const out: Block[] = [];
  let current: Block | undefined;
  const close = (): void => {
    if (current) out.push(current);
    current = undefined;
  };
  for (let start = from; start < to; ) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 || newline > to ? to : newline;
    const line = text.slice(start, end);
    if (line.trim() === '') close();
    else {
      const marker = LIST_MARKER.exec(line);
      const label = marker ? null : LABEL.exec(line);
      const heading = label?.[1] !== undefined;
      if (marker || label) close();
      current ??= { start, end, bodyStart: start + (marker?.[0].length ?? 0) };
      current.end = end;
      if (heading) close();
    }
    start = end + 1;
  }
  close();
  return out;
}

// ---- Pass 2: punctuation ---------------------------------------------------------------

/** Never end a sentence after these (lowercased, final period dropped). */
const ABBREVIATIONS = new Set([
  'al', 'approx', 'ca', 'cf', 'cv', 'dr', 'eg', 'eq', 'eqs', 'fig', 'figs', 'ie', 'jr', 'mr', 'mrs',
  'ms', 'prof', 'ref', 'refs', 'resp', 'sp', 'spp', 'sr', 'ssp', 'st', 'subsp', 'suppl', 'tab',
  'var', 'viz', 'vs',
]);
/** Abbreviations that may also end a sentence ("... said no."): kept only before a number. */
const NUMBERED = new Set(['no', 'nos', 'p', 'pp', 'vol']);

const TERMINAL = '.!?';
const OPEN_BRACKETS = '([{';
const CLOSE_BRACKETS = ')]}';
const CLOSING = `)]}"'”’»`;
const OPENING = `([{"'“‘«`;
/** Citation right after the period, kept with the sentence it ends: ".[12]", ". [3, 4]". */
const CITATION = / ?\[[\d\s,;–-]+\]/y;
/** An opening bracket unclosed after this many characters is treated as stray. */
const MAX_BRACKET_SPAN = 250;

/** Offsets where a sentence ends inside the block (each followed by whitespace). */
function boundaries(text: string, block: Block): number[] {
  const cuts: number[] = [];
  const open: number[] = []; // positions of unclosed brackets
  for (let i = block.bodyStart; i < block.end; i++) {
    const c = text[i];
    if (OPEN_BRACKETS.includes(c)) open.push(i);
    else if (CLOSE_BRACKETS.includes(c)) open.pop();
    else if (TERMINAL.includes(c)) {
      let end = i + 1;
      while (end < block.end && TERMINAL.includes(text[end])) end++;
      const period = end === i + 1 && c === '.';
      for (; end < block.end && CLOSING.includes(text[end]); end++) {
        if (CLOSE_BRACKETS.includes(text[end])) open.pop();
      }
      CITATION.lastIndex = end;
      if (CITATION.test(text)) end = CITATION.lastIndex;
      while (open.length > 0 && end - open[0] > MAX_BRACKET_SPAN) open.shift();
      if (open.length === 0 && end < block.end && endsSentence(text, block, i, end, period)) cuts.push(end);
      i = end - 1;
    }
  }
  return cuts;
}

/** Whether the punctuation at `mark`, with its closers up to `end`, ends a sentence. */
function endsSentence(text: string, block: Block, mark: number, end: number, period: boolean): boolean {
  if (!/\s/.test(text[end])) return false; // "2.5", "1.2.3", "e.g.,"
  let next = end;
  while (next < block.end && (/\s/.test(text[next]) || OPENING.includes(text[next]))) next++;
  const first = next < block.end ? text[next] : '';
  // A lowercase word continues the sentence ("E. coli", "et al. reported"); so does
  // punctuation (". ,"); a letter or digit may start a new one.
  if (!/[\p{Lu}\p{Lt}\p{Lo}\p{N}]/u.test(first)) return false;
  if (!period) return true;
  const [previousEnd, word] = wordBefore(text, block.start, mark);
  // "0. 05", "19q13. 3": PubMed tokenisation put a space inside a decimal.
  if (/\p{N}$/u.test(word) && /\p{N}/u.test(first)) return false;
  const lower = word.toLowerCase();
  if (ABBREVIATIONS.has(lower) || (NUMBERED.has(lower) && /\p{N}/u.test(first))) return false;
  if (/^(?:\p{L}\.)+\p{L}$/u.test(word)) return false; // "e.g", "i.v", "U.S"
  // A capital initial ("Dr. W. Kniest") continues; a capital after a lowercase word is a
  // designator ending the sentence ("vitamin E. The", "type B. These"), far commoner in
  // abstracts than a name after one ("by J. Smith", split).
  if (/^\p{Lu}$/u.test(word)) return /^\p{Ll}/u.test(wordBefore(text, block.start, previousEnd)[1]);
  return true;
}

/**
 * The whitespace-delimited word ending at `pos`, without opening brackets or quotes, and
 * where the word before it ends (to look one word further back).
 */
function wordBefore(text: string, floor: number, pos: number): [number, string] {
  let start = pos;
  while (start > floor && !/\s/.test(text[start - 1])) start--;
  let word = start;
  while (word < pos && OPENING.includes(text[word])) word++;
  let previousEnd = start;
  while (previousEnd > floor && /\s/.test(text[previousEnd - 1])) previousEnd--;
  return [previousEnd, text.slice(word, pos)];
}

// ---- Pass 3: length --------------------------------------------------------------------

/** Words that seldom start or sit inside an entity mention, so a cut before one is safe. */
const FUNCTION_WORD = /(?:which|that|was|were|is|are|in|with|by|for|to|from|but|whereas|while|after|before|during)\s/y;

/** A whitespace run: a piece may end at `at` and the next one start at `resume`. */
interface Gap {
  at: number;
  resume: number;
}

/**
 * Cuts [start, end) into pieces of at most `maxTokens`, only at whitespace. Among the
 * cuts that fit, the last after "; " wins, else the last after ", ", else the last before
 * a function word ("... | which ..."), else the last whitespace. A preferred cut is taken
 * only if it keeps at least half of the longest piece that fits, so pieces do not shrink
 * to fragments. A word over the bound (a sequence, an encoded blob) is cut inside, where it
 * stops fitting, so no piece outgrows the model's context. On NCBI-disease with maxTokens 64
 * the function-word tier cuts 3 gold mentions instead of 24.
 */
function bound(
  text: string,
  start: number,
  end: number,
  maxTokens: number,
  countTokens: (text: string) => number,
): [number, number][] {
  const pieces: [number, number][] = [];
  while (countTokens(text.slice(start, end)) > maxTokens) {
    const space = text.slice(start, end).search(/\s/);
    const wordEnd = space < 0 ? end : start + space;
    if (countTokens(text.slice(start, wordEnd)) > maxTokens) {
      const cut = longestFit(text, start, wordEnd, maxTokens, countTokens);
      pieces.push([start, cut]);
      start = cut;
      continue;
    }
    const gaps: Gap[] = [...text.slice(start, end).matchAll(/\s+/g)].map((m) => ({
      at: start + m.index,
      resume: start + m.index + m[0].length,
    }));
    // Longest fitting piece by binary search (token counts grow with the text); at least one word.
    let lo = 0;
    let hi = gaps.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (countTokens(text.slice(start, gaps[mid].at)) <= maxTokens) lo = mid;
      else hi = mid - 1;
    }
    const longest = gaps[lo].at;
    const fits = gaps.slice(0, lo + 1).filter((g) => 2 * (g.at - start) >= longest - start);
    const last = (ok: (gap: Gap) => boolean): Gap | undefined => fits.filter(ok).pop();
    const gap =
      last((g) => text[g.at - 1] === ';') ??
      last((g) => text[g.at - 1] === ',') ??
      last((g) => {
        FUNCTION_WORD.lastIndex = g.resume;
        return FUNCTION_WORD.test(text);
      }) ??
      gaps[lo];
    pieces.push([start, gap.at]);
    start = gap.resume;
  }
  pieces.push([start, end]);
  return pieces;
}

/** The end of the longest prefix of [start, end) within `maxTokens`: at least one character, never inside a surrogate pair. */
function longestFit(text: string, start: number, end: number, maxTokens: number, countTokens: (text: string) => number): number {
  let lo = start + 1;
  let hi = end - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (countTokens(text.slice(start, mid)) <= maxTokens) lo = mid;
    else hi = mid - 1;
  }
  if (!/[\uD800-\uDBFF]/.test(text[lo - 1]!)) return lo;
  return lo - 1 > start ? lo - 1 : lo + 1;
}

function trim(text: string, start: number, end: number): [number, number] {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  return [start, end];
}
