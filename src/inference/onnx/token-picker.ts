// How a turn chooses its next token from the logits at one position. A picker belongs to one
// turn of one conversation and may keep state (the constrained picker tracks its grammar).
import { argmax, probability, softmaxDenominator } from './logits.js';

export interface PickedToken {
  token: number;
  /** Softmax probability of the token under the model's full distribution. */
  probability: number;
}

export interface TokenPicker {
  /** The next token, from the logits `logits[offset .. offset + vocab)`; advances the picker. */
  pick(logits: Float32Array, offset: number, vocab: number): PickedToken;
  /**
   * Tokens worth feeding ahead of their picks (jump-forward): a guess at the only text that
   * may follow, checked against `pick` at each position before it is kept. Empty when free.
   */
  draft(): number[];
  /** How many of `tokens`, picked in a row from here, the picker could pick (a constraint may stop them early). */
  admissible(tokens: readonly number[]): number;
  /** Only the end of the turn may follow: the turn can end without another forward pass. */
  readonly closed: boolean;
  /** Picks where a constraint replaced the model's argmax. */
  readonly overrides: number;
}

/** Greedy decoding: always the argmax. */
export const greedyPicker: TokenPicker = {
  pick(logits, offset, vocab) {
    const token = argmax(logits, offset, vocab);
    return { token, probability: 1 / softmaxDenominator(logits, offset, vocab, logits[offset + token]!) };
  },
  draft: () => [],
  admissible: (tokens) => tokens.length,
  closed: false,
  overrides: 0,
};

/** The probability of `token` in a row whose argmax is `best`. */
export function probabilityOf(logits: Float32Array, offset: number, vocab: number, token: number, best: number): number {
  const max = logits[offset + best]!;
  return probability(logits[offset + token]!, max, softmaxDenominator(logits, offset, vocab, max));
}
