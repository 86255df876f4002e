// Prompt-lookup drafts: an entity's answer string is copied from the sentence, which the
// prompt holds as tokens, so once an answer has begun to copy it the likeliest next tokens are
// the ones that follow in the prompt. The scheduler feeds them ahead and keeps each only if
// the model picks it there, so answers are unchanged; a copied mention then takes one pass
// instead of one per token.

/** Longest run of the answer's last tokens looked for in the prompt. */
const MATCH_TOKENS = 3;

/** The tokens that follow the latest `MATCH_TOKENS` (or fewer) generated tokens where they first occur in the prompt; at most `count`. */
export function promptLookupDraft(prompt: readonly number[], generated: readonly number[], count: number): number[] {
  for (let n = Math.min(MATCH_TOKENS, generated.length); n > 0; n--) {
    const tail = generated.slice(-n);
    for (let at = 0; at + n < prompt.length; at++) {
      let k = 0;
      while (k < n && prompt[at + k] === tail[k]) k++;
      if (k === n) return prompt.slice(at + n, at + n + count);
    }
  }
  return [];
}
