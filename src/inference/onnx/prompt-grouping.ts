// Which prompts of a prefill go into which pass: a prefix that several share and no cache holds
// is fed once, in a pass of its own, for the others to fork; the rest go in one pass, or in two
// where the widths differ enough that padding costs more than a pass.

/** Prompts of a pass get a pass of their own for what they share when at least this many share at least this many uncached tokens. */
const MIN_SHARING_ROWS = 3;
const MIN_SHARED_TOKENS = 16;
/** What one more pass costs, in prompt positions: it reads every weight (SmolLM2-135M on 2 cores: a 110 ms pass, 2.2 ms a position). */
const PASS_COST_POSITIONS = 48;

/** A prefix to feed once, charged to the prompt `index`. */
export interface SharedPrefix {
  tokens: number[];
  index: number;
}

/**
 * The prefixes that at least MIN_SHARING_ROWS of `prompts` share, each at least MIN_SHARED_TOKENS
 * longer than what a cache holds of a prompt that has it (`cached[i]` tokens of prompt i).
 */
export function sharedPrefixes(prompts: readonly (readonly number[])[], cached: readonly number[]): SharedPrefix[] {
  if (prompts.length < MIN_SHARING_ROWS) return [];
  const order = prompts.map((_, i) => i).sort((a, b) => compareTokens(prompts[a]!, prompts[b]!));
  const promptAt = (k: number) => prompts[order[k]!]!;
  const prefixes = new Map<string, SharedPrefix>();
  order.forEach((index, k) => {
    const prompt = promptAt(k);
    // Sorted, a run of prompts shares what its first and last share: the longest prefix this one shares with enough others.
    let shared = 0;
    for (let first = Math.max(0, k - MIN_SHARING_ROWS + 1); first <= k && first + MIN_SHARING_ROWS <= order.length; first++) {
      shared = Math.max(shared, commonPrefixLength(promptAt(first), promptAt(first + MIN_SHARING_ROWS - 1), prompt.length - 1));
    }
    if (shared < cached[index]! + MIN_SHARED_TOKENS) return;
    const tokens = prompt.slice(0, shared);
    prefixes.set(tokens.join(','), { tokens, index });
  });
  return [...prefixes.values()];
}

/**
 * The prompts in one pass, or in two (the shorter and the longer ones) where that pads fewer
 * positions than a pass costs. Rows of a pass are padded to its widest.
 */
export function byWidth<T>(prompts: T[], width: (prompt: T) => number): T[][] {
  const sorted = [...prompts].sort((a, b) => width(a) - width(b));
  const widths = sorted.map(width);
  const n = widths.length;
  let best = { at: n, positions: n * widths[n - 1]! };
  for (let k = 1; k < n; k++) {
    const positions = k * widths[k - 1]! + (n - k) * widths[n - 1]! + PASS_COST_POSITIONS;
    if (positions < best.positions) best = { at: k, positions };
  }
  return best.at === n ? [prompts] : [sorted.slice(0, best.at), sorted.slice(best.at)];
}

/** How many leading tokens `a` and `b` share, at most `limit`. */
export function commonPrefixLength(a: readonly number[], b: readonly number[], limit: number): number {
  let n = 0;
  while (n < limit && n < a.length && a[n] === b[n]) n++;
  return n;
}

function compareTokens(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
