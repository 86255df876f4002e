// Draft verification: tokens fed ahead of their picks (the grammar's forced text, a prompt
// lookup) are kept only while the pick at the position before each one chooses it, so a turn's
// tokens are those of step-by-step decoding whatever was drafted.
import { logitsOffset, type Logits } from './forward.js';
import type { FinishReason } from './sequence.js';
import type { PickedToken, TokenPicker } from './token-picker.js';

/** Where a turn must end. */
export interface TurnLimits {
  stops: ReadonlySet<number>;
  /** Tokens the turn may still generate. */
  room: number;
  /** A picker that only allows the end of turn ends it without another pass (jump-forward). */
  endsWhenClosed: boolean;
}

export interface Verdict {
  /** The turn's new tokens: the draft tokens kept, then the pick that differs from the draft (no stop token). */
  picked: PickedToken[];
  /** Draft tokens among `picked`. */
  accepted: number;
  /** Fed draft tokens after the last one kept, whose keys and values are to be dropped. */
  discard: number;
  /** How the turn ends with these tokens; null while it goes on. */
  finish: FinishReason | null;
}

/**
 * Picks a row's tokens from the logits of its last fed positions (row `index` of `logits`):
 * each draft token is kept while the pick at the position before it chooses it; the first pick
 * that does not is the row's next token, and the draft fed after it is discarded.
 */
export function verifyDraft(picker: TokenPicker, logits: Logits, index: number, drafts: readonly number[], limits: TurnLimits): Verdict {
  const verdict: Verdict = { picked: [], accepted: 0, discard: 0, finish: null };
  for (let j = 0; ; j++) {
    const pick = picker.pick(logits.data, logitsOffset(logits, index, drafts.length - j), logits.vocab);
    const drafted = j < drafts.length && pick.token === drafts[j];
    // Draft tokens fed after this one, not (yet) part of the answer.
    const after = drafts.length - j - (drafted ? 1 : 0);
    if (!drafted) verdict.discard = after;
    if (limits.stops.has(pick.token)) return { ...verdict, finish: 'stop' };
    verdict.picked.push(pick);
    if (drafted) verdict.accepted++;
    const finish = verdict.picked.length >= limits.room ? 'length' : limits.endsWhenClosed && picker.closed ? 'stop' : null;
    if (finish) return { ...verdict, finish, discard: after };
    if (!drafted) return verdict;
  }
}
