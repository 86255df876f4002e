// What each run costs: the tokens its rows fed, reused, drafted and generated, and its share of
// every forward pass it took part in. The generation scheduler charges; the metrics read it.
import { noInference, type InferenceStats } from '../../observability/inference-stats.js';

/** What one run cost; forward time and positions are its share of the passes it shared with other runs. */
export type RunStats = Omit<InferenceStats, 'batches' | 'answers'>;

export const noRunStats = (): RunStats => {
  const { batches: _batches, answers: _answers, ...stats } = noInference();
  return stats;
};

/** What one forward pass cost, as the model runner measured it. */
export interface PassCost {
  forwardSeconds: number;
  /** Token positions computed, padding included. */
  positions: number;
}

/** Charges a pass to the runs of its rows (one entry a row): a row's share of its time and positions each, and one pass to each run. */
export function chargePass(rows: readonly RunStats[], cost: PassCost): void {
  for (const stats of rows) {
    stats.forwardSeconds += cost.forwardSeconds / rows.length;
    stats.fedPositions += cost.positions / rows.length;
  }
  for (const stats of new Set(rows)) stats.forwardPasses++;
}

/** A prompt of `length` tokens fed on top of the `keep` a cache held; `forked`: that cache was the prefix cache, not the row's own. */
export function chargePrompt(stats: RunStats, length: number, keep: number, forked: boolean): void {
  stats.promptTokens += length - keep;
  stats.cachedPromptTokens += keep;
  if (forked) stats.prefixCacheTokens += keep;
}

/** A prefix several prompts share, fed once ahead of them. */
export function chargeSharedPrefix(stats: RunStats, fed: number): void {
  stats.promptTokens += fed;
}

/** Draft tokens fed ahead of their picks, and how many of them the picks kept. */
export function chargeDrafts(stats: RunStats, fed: number, accepted: number): void {
  stats.draftTokens += fed;
  stats.acceptedDraftTokens += accepted;
}

/** A finished turn: its tokens, and the picks where a constraint replaced the model's choice. */
export function chargeTurn(stats: RunStats, generated: number, overrides: number): void {
  stats.generatedTokens += generated;
  stats.constraintOverrides += overrides;
}
