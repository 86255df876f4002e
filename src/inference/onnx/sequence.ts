// What the generation loop runs: a sequence (a conversation, a chat completion) asks for one
// turn at a time, is told how it went, and asks for the next.
import type { TokenPicker } from './token-picker.js';

export type FinishReason = 'stop' | 'length';

export interface GeneratedTurn {
  tokens: number[];
  /** Softmax probability of each token at the step it was chosen. */
  probabilities: number[];
  finishReason: FinishReason;
}

export interface TurnRequest {
  /** The whole conversation so far, tokenised, ending where the answer starts. */
  prompt: number[];
  picker: TokenPicker;
  maxNewTokens: number;
}

/** Asked for its first turn, then for the next one with how the last went, until it returns null. */
export interface Sequence {
  nextTurn(previous: GeneratedTurn | null): TurnRequest | null;
}
