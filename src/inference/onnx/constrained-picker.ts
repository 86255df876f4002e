// Constrained decoding: an answer must stay inside its AnswerGrammar. The argmax is taken
// whenever the grammar allows it, so an answer that was valid anyway comes out unchanged;
// otherwise the best allowed token is found by walking the byte-sorted vocabulary along the
// bytes the grammar allows, which visits only tokens that fit (hundreds, not 150k). Where the
// grammar forces the next bytes (`Answer: [`), their longest-match tokens are the draft.
import type { AnswerGrammar, GrammarState } from './answer-grammar.js';
import { argmax } from './logits.js';
import { probabilityOf, type PickedToken, type TokenPicker } from './token-picker.js';
import { lengthAt, narrow, type Vocabulary } from './vocabulary.js';

interface Choice {
  token: number;
  state: GrammarState;
}

export class ConstrainedPicker implements TokenPicker {
  /** Picks where the constraint replaced the model's argmax. */
  overrides = 0;
  private state: GrammarState;

  constructor(
    private readonly vocabulary: Vocabulary,
    /** The turn's sentence and the template's answer prefix. */
    private readonly grammar: AnswerGrammar,
    private readonly stopTokenIds: readonly number[],
  ) {
    this.state = grammar.start;
  }

  get closed(): boolean {
    return this.state.kind === 'done';
  }

  pick(logits: Float32Array, offset: number, vocab: number): PickedToken {
    const { grammar, state } = this;
    const best = argmax(logits, offset, vocab);
    let choice = this.advance(grammar, state, best);
    if (choice === null) {
      this.overrides++;
      choice = this.bestAllowed(grammar, state, logits, offset);
    }
    this.state = choice.state;
    return { token: choice.token, probability: probabilityOf(logits, offset, vocab, choice.token, best) };
  }

  draft(): number[] {
    return this.vocabulary.longestMatchTokens(this.grammar.forcedBytes(this.state));
  }

  admissible(tokens: readonly number[]): number {
    let state: GrammarState | null = this.state;
    let n = 0;
    for (; n < tokens.length && state; n++) state = this.advance(this.grammar, state, tokens[n]!)?.state ?? null;
    return state ? n : n - 1;
  }

  private advance(grammar: AnswerGrammar, state: GrammarState, token: number): Choice | null {
    if (this.stopTokenIds.includes(token)) return state.kind === 'done' ? { token, state } : null;
    const bytes = this.vocabulary.bytes(token);
    const next = bytes && bytes.length > 0 ? grammar.run(state, bytes) : null;
    return next && { token, state: next };
  }

  private bestAllowed(grammar: AnswerGrammar, state: GrammarState, logits: Float32Array, offset: number): Choice {
    const top: { choice: Choice | null; logit: number } = { choice: null, logit: -Infinity };
    const consider = (token: number, next: GrammarState) => {
      const logit = logits[offset + token]!;
      if (logit > top.logit || (logit === top.logit && token < top.choice!.token)) {
        top.choice = { token, state: next };
        top.logit = logit;
      }
    };
    if (state.kind !== 'done') {
      const sorted = this.vocabulary.sorted;
      // Ranks [lo, hi) are the tokens that start with the `depth` bytes walked so far.
      const walk = (lo: number, hi: number, depth: number, at: GrammarState): void => {
        for (; lo < hi && lengthAt(sorted, lo) === depth; lo++) if (depth > 0) consider(sorted.ids[lo]!, at);
        for (const byte of grammar.nextBytes(at)) {
          const next = grammar.step(at, byte);
          if (!next) continue;
          const [from, to] = narrow(sorted, lo, hi, depth, byte);
          if (from < to) walk(from, to, depth + 1, next);
        }
      };
      walk(0, sorted.ids.length, 0, state);
    }
    // After `]` only end-of-turn may follow; and were no token to fit (one always does), the turn ends.
    if (top.choice === null) for (const token of this.stopTokenIds) consider(token, { kind: 'done' });
    return top.choice!;
  }
}
