// How the generation loop chooses each row's next token from its logits.
import { argmax, probability, softmaxDenominator } from './logits.js';

export interface PickedToken {
  token: number;
  /** Softmax probability of the token under the model's full distribution. */
  probability: number;
}

export interface TokenPicker {
  /** The next token of row `row`, from its logits `logits[offset .. offset + vocab)`. */
  pick(row: number, logits: Float32Array, offset: number, vocab: number): PickedToken;
}

/** Greedy decoding: always the argmax. */
export const greedyPicker: TokenPicker = {
  pick(_row, logits, offset, vocab) {
    const token = argmax(logits, offset, vocab);
    return { token, probability: 1 / softmaxDenominator(logits, offset, vocab, logits[offset + token]!) };
  },
};

/** The probability of `token` in a row whose argmax is `best`. */
export function probabilityOf(logits: Float32Array, offset: number, vocab: number, token: number, best: number): number {
  const max = logits[offset + best]!;
  return probability(logits[offset + token]!, max, softmaxDenominator(logits, offset, vocab, max));
}
