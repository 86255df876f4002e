// What a constrained answer may look like: the template's answer prefix, then a JSON list of
// strings that each occur in the sentence, e.g. `Answer: ["BCL6", "Jurkat cells"]`, and then
// the end-of-turn token. The automaton reads bytes, because tokens split characters and span
// parts (`["`, `"],`, `cells"]`); a string value is tracked by where it can end in the sentence.

export type GrammarState =
  /** `at` bytes of the prefix and its `[` matched. */
  | { kind: 'prefix'; at: number }
  /** After `[`, after a closed string, or after a comma; one space is allowed in each. */
  | { kind: 'open' | 'closed' | 'comma'; spaced: boolean }
  /** Inside a string: `ends` are the sentence offsets where the value so far can end (null: empty value). */
  | { kind: 'string'; ends: readonly number[] | null; escape: boolean }
  /** After `]`: only the end-of-turn token may follow. */
  | { kind: 'done' };

const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const CLOSE = 0x5d;
/** JSON escapes a sentence's characters may need: the letter after `\` → the byte it stands for. */
const ESCAPES = new Map([
  [QUOTE, QUOTE],
  [BACKSLASH, BACKSLASH],
  [0x2f, 0x2f],
  [0x6e, 0x0a],
  [0x74, 0x09],
  [0x72, 0x0d],
]);
const ESCAPED_BYTES = new Set(ESCAPES.values());

const utf8 = new TextEncoder();
const isContinuation = (byte: number) => (byte & 0xc0) === 0x80;

export class AnswerGrammar {
  readonly start: GrammarState = { kind: 'prefix', at: 0 };
  private readonly literal: Uint8Array;
  private readonly sentence: Uint8Array;
  /** Sentence offsets by byte value: where a value starting with that byte can start. */
  private readonly offsets = new Map<number, number[]>();

  constructor(
    private readonly answerPrefix: string,
    sentence: string,
  ) {
    this.literal = utf8.encode(`${answerPrefix}[`);
    this.sentence = utf8.encode(sentence);
    this.sentence.forEach((byte, offset) => {
      if (!isContinuation(byte)) (this.offsets.get(byte) ?? this.offsets.set(byte, []).get(byte)!).push(offset);
    });
  }

  step(state: GrammarState, byte: number): GrammarState | null {
    switch (state.kind) {
      case 'prefix':
        if (byte !== this.literal[state.at]) return null;
        return state.at + 1 === this.literal.length ? { kind: 'open', spaced: false } : { kind: 'prefix', at: state.at + 1 };
      case 'open':
        if (byte === QUOTE && this.sentence.length > 0) return { kind: 'string', ends: null, escape: false };
        if (byte === CLOSE) return { kind: 'done' };
        return this.space(state, byte);
      case 'closed':
        if (byte === COMMA) return { kind: 'comma', spaced: false };
        if (byte === CLOSE) return { kind: 'done' };
        return this.space(state, byte);
      case 'comma':
        if (byte === QUOTE) return { kind: 'string', ends: null, escape: false };
        return this.space(state, byte);
      case 'string':
        if (state.escape) {
          const escaped = ESCAPES.get(byte);
          return escaped === undefined ? null : this.extend(state.ends, escaped);
        }
        if (byte === BACKSLASH) return { ...state, escape: true };
        if (byte === QUOTE) return state.ends !== null && this.atCharBoundary(state.ends[0]!) ? { kind: 'closed', spaced: false } : null;
        return byte < SPACE ? null : this.extend(state.ends, byte);
      case 'done':
        return null;
    }
  }

  /** The state after all of `bytes`, or null as soon as one is not allowed. */
  run(state: GrammarState, bytes: Uint8Array): GrammarState | null {
    let current: GrammarState | null = state;
    for (let i = 0; i < bytes.length && current; i++) current = this.step(current, bytes[i]!);
    return current;
  }

  /** The bytes that must follow `state` whatever comes after them (the rest of the answer prefix). */
  forcedBytes(state: GrammarState): Uint8Array {
    return state.kind === 'prefix' ? this.literal.subarray(state.at) : new Uint8Array(0);
  }

  /** Bytes worth trying after `state` (a superset of the allowed ones; `step` decides). */
  nextBytes(state: GrammarState): number[] {
    switch (state.kind) {
      case 'prefix':
        return [this.literal[state.at]!];
      case 'open':
        return [SPACE, QUOTE, CLOSE];
      case 'closed':
        return [SPACE, COMMA, CLOSE];
      case 'comma':
        return [SPACE, QUOTE];
      case 'string': {
        if (state.escape) return [...ESCAPES.keys()];
        const following = state.ends === null ? [...this.offsets.keys()] : state.ends.map((end) => this.sentence[end] ?? -1);
        const bytes = new Set(following.map((b) => (ESCAPED_BYTES.has(b) ? BACKSLASH : b)).filter((b) => b >= SPACE));
        return [...bytes, QUOTE];
      }
      case 'done':
        return [];
    }
  }

  /**
   * A constrained answer cut off by the token limit, made whole: the strings closed so far
   * are kept, the unfinished one dropped, and the list closed. Unchanged when complete.
   */
  repair(text: string): string {
    const bytes = utf8.encode(text);
    let state: GrammarState | null = this.start;
    let safe = -1;
    for (let i = 0; i < bytes.length && state; i++) {
      state = this.step(state, bytes[i]!);
      if (state?.kind === 'open' || state?.kind === 'closed') safe = i + 1;
    }
    if (state?.kind === 'done') return text;
    if (safe < 0) return `${this.answerPrefix}[]`;
    return `${new TextDecoder().decode(bytes.subarray(0, safe))}]`;
  }

  private space(state: { kind: 'open' | 'closed' | 'comma'; spaced: boolean }, byte: number): GrammarState | null {
    return byte === SPACE && !state.spaced ? { kind: state.kind, spaced: true } : null;
  }

  /** The value extended by one sentence byte, if it still occurs in the sentence. */
  private extend(ends: readonly number[] | null, byte: number): GrammarState | null {
    const next =
      ends === null
        ? (this.offsets.get(byte) ?? []).map((offset) => offset + 1)
        : ends.filter((end) => this.sentence[end] === byte).map((end) => end + 1);
    return next.length > 0 ? { kind: 'string', ends: next, escape: false } : null;
  }

  /** A value may close only on a whole UTF-8 character (every occurrence ends alike). */
  private atCharBoundary(end: number): boolean {
    return end === this.sentence.length || !isContinuation(this.sentence[end]!);
  }
}
