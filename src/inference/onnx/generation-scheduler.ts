// The one generation loop of an inference worker. Sequences (conversations, chat completions)
// ask for one turn at a time; the scheduler feeds each turn's prompt on top of the longest
// prefix it already has keys and values for, then generates one token per sequence per step.
//  - Step-level batching: a sequence joins the running batch at the next forward pass and
//    leaves it when it is done; no batch waits for its slowest member. Prompts are fed in
//    passes of their own (their widths would pad the one-token decode rows), after which the
//    new rows are gathered into the decode batch.
//  - Reuse: a conversation's next turn is fed on top of its own cached turns, and a prompt on
//    top of the longest prefix in the prefix cache (prefix-cache.ts). Prompts of one pass that
//    share more than is cached have the shared part fed once and forked.
//  - Drafts: tokens fed ahead of their picks, each kept only if the pick at the position
//    before it chooses it, so the answers are those of step-by-step decoding. Jump-forward
//    drafts the only text the grammar allows next (`Answer: [`), and a turn whose grammar
//    leaves only the end of turn ends without another pass; prompt lookup drafts the tokens
//    that follow, in the prompt, the answer's last ones (a mention copied from the sentence).
// Every prompt is tokenised in full and the cache cut back to what it shares with it, so the
// tokens a sequence has fed are by construction those of its full prompt.
import { noInference, type InferenceStats } from '../../observability/inference-stats.js';
import type { DecoderLayout } from './decoder-session.js';
import { logitsOffset, rightAligned, type Forward, type Logits } from './forward.js';
import { KvCache, type CachedRow, type RowSource } from './kv-cache.js';
import { PrefixCache } from './prefix-cache.js';
import { promptLookupDraft } from './prompt-lookup.js';
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

/** What the scheduler runs: asked for its first turn, then for the next one with how the last went, until it returns null. */
export interface Sequence {
  nextTurn(previous: GeneratedTurn | null): TurnRequest | null;
}

/** The engine's speed-ups. Each is exact (the answers stay those of naive decoding) and can be switched off to measure it. */
export interface EngineFeatures {
  /** Feed a turn on top of its conversation's cached turns; off is the naive way, every turn from scratch (and no prefix cache). */
  reuse: boolean;
  /** Fork shared prompt prefixes from the worker's prefix cache. */
  prefixCache: boolean;
  jumpForward: boolean;
  promptLookup: boolean;
  /** Let sequences join and leave at any forward pass; off: a run goes alone, its turns in lockstep. */
  stepBatching: boolean;
  /** Ask the graph for logits only at the positions that are read. */
  lastLogitsOnly: boolean;
}

export const ALL_FEATURES: EngineFeatures = {
  reuse: true, prefixCache: true, jumpForward: true, promptLookup: true, stepBatching: true, lastLogitsOnly: true,
};

/** What one run cost; forward time and positions are its share of the passes it shared with other runs. */
export type RunStats = Omit<InferenceStats, 'batches' | 'answers'>;

const noRunStats = (): RunStats => {
  const { batches: _batches, answers: _answers, ...stats } = noInference();
  return stats;
};

export interface SchedulerOptions {
  /** Most sequences decoding at once. */
  maxRows: number;
  /** Bound on the prefix cache's keys and values. */
  prefixCacheBytes: number;
}

/** Prompts of a pass get a pass of their own for what they share when at least this many share at least this many uncached tokens. */
const MIN_SHARING_ROWS = 3;
const MIN_SHARED_TOKENS = 16;
/**
 * Most prompt-lookup tokens a row feeds ahead. A decode pass reads every weight whatever its
 * width, so a few more positions per row cost little next to the passes they save.
 */
const LOOKUP_DRAFT_TOKENS = 4;
/** What one more pass costs, in prompt positions: it reads every weight (SmolLM2-135M on 2 cores: a 110 ms pass, 2.2 ms a position). */
const PASS_COST_POSITIONS = 48;
/** Below this many rows a decode batch is not worth compacting when rows finish. */
const MIN_ROWS_TO_COMPACT = 8;

/** A row's prompt as a prompt pass feeds it: on top of `source`, its uncached tokens and then its draft. */
interface PendingPrompt {
  row: Live;
  source: RowSource;
  draft: number[];
  pending: number[];
}

interface Run {
  features: EngineFeatures;
  stats: RunStats;
  unfinished: number;
  resolve: (stats: RunStats) => void;
  reject: (error: Error) => void;
}

/** A sequence the scheduler holds, and where its current turn stands. */
interface Live {
  run: Run;
  sequence: Sequence;
  turn: TurnRequest;
  generated: GeneratedTurn;
  /** Where its keys and values are; null before its first pass. */
  at: CachedRow | null;
  /** The tokens its next decode step feeds (a pick, then its draft); empty while its prompt is to be fed. */
  feed: number[];
  done: boolean;
}

const newTurn = (): GeneratedTurn => ({ tokens: [], probabilities: [], finishReason: 'length' });

export class GenerationScheduler {
  readonly prefixes: PrefixCache;
  private readonly stops: Set<number>;
  private readonly none: RowSource;
  private waiting: Live[] = [];
  private live: Live[] = [];
  /** The decode batch, whose rows the decoding sequences point into. */
  private batch: KvCache | null = null;
  private running = false;

  constructor(
    private readonly forward: Forward,
    private readonly layout: DecoderLayout,
    stopTokenIds: readonly number[],
    private readonly options: SchedulerOptions,
  ) {
    this.stops = new Set(stopTokenIds);
    this.prefixes = new PrefixCache(layout, options.prefixCacheBytes);
    this.none = { cache: KvCache.empty(layout, 1), row: 0, keep: 0 };
  }

  /** Runs the sequences to the end; resolves with what they cost. */
  run(sequences: readonly Sequence[], features: EngineFeatures): Promise<RunStats> {
    return new Promise((resolve, reject) => {
      const run: Run = { features, stats: noRunStats(), unfinished: 0, resolve, reject };
      try {
        for (const sequence of sequences) {
          const turn = sequence.nextTurn(null);
          if (!turn) continue;
          run.unfinished++;
          this.waiting.push({ run, sequence, turn, generated: newTurn(), at: null, feed: [], done: false });
        }
      } catch (error) {
        this.waiting = this.waiting.filter((l) => l.run !== run);
        return reject(error as Error);
      }
      if (run.unfinished === 0) return resolve(run.stats);
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (this.waiting.length > 0 || this.live.length > 0) {
      this.admit();
      const prompting = this.live.filter((l) => l.feed.length === 0);
      const decoding = this.live.filter((l) => l.feed.length > 0);
      const lockstep = this.live.some((l) => !l.run.features.stepBatching);
      try {
        if (prompting.length > 0 && this.prefillsNow(prompting.length, decoding.length, lockstep)) await this.prefill(prompting);
        else if (decoding.length > 0) await this.decode(decoding);
      } catch (error) {
        this.fail(this.live.map((l) => l.run), error as Error);
      }
      this.live = this.live.filter((l) => !l.done);
      if (this.live.length === 0) this.batch = null;
      // Lets new calls arrive: they join at the next pass.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.running = false;
  }

  /**
   * Whether prompts are fed before the next decode step. A decode pass costs about the same
   * for 4 rows as for 16 (it reads every weight once either way), so prompts wait until they
   * are as many as the rows decoding, and the decode batch stays full. In lockstep every row
   * finishes its turn before any is prompted for the next.
   */
  private prefillsNow(prompting: number, decoding: number, lockstep: boolean): boolean {
    return decoding === 0 || (!lockstep && prompting >= decoding);
  }

  /** Takes waiting sequences in while there is room; a lockstep run goes alone and whole, as one batch. */
  private admit(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      if (this.live.some((l) => !l.run.features.stepBatching)) return;
      if (!next.run.features.stepBatching) {
        if (this.live.length > 0) return;
        this.live = this.waiting.filter((l) => l.run === next.run);
        this.waiting = this.waiting.filter((l) => l.run !== next.run);
        return;
      }
      if (this.live.length >= this.options.maxRows) return;
      this.live.push(this.waiting.shift()!);
    }
  }

  /** Feeds the rows' prompts, each on top of the longest prefix a cache holds, with their drafts; picks their first tokens. */
  private async prefill(rows: Live[]): Promise<void> {
    let sources = rows.map((row) => this.bestSource(row));
    if (await this.shareUncachedPrefixes(rows, sources)) sources = rows.map((row) => this.bestSource(row));
    const prompts = rows.map((row, i) => {
      const draft = row.run.features.jumpForward ? row.turn.picker.draft() : [];
      return { row, source: sources[i]!, draft, pending: [...row.turn.prompt.slice(sources[i]!.keep), ...draft] };
    });
    for (const group of byWidth(prompts)) await this.feedPrompts(group);
  }

  private async feedPrompts(prompts: readonly PendingPrompt[]): Promise<void> {
    const rows = prompts.map((p) => p.row);
    const pending = prompts.map((p) => p.pending);
    const cache = KvCache.gather(this.layout, prompts.map((p) => p.source));
    const width = Math.max(...pending.map((p) => p.length));
    const read = rows.every((row) => row.run.features.lastLogitsOnly) ? Math.max(...prompts.map((p) => p.draft.length)) + 1 : width;
    const logits = await this.timed(rows, () => this.forward.prefill(cache, pending, read));
    prompts.forEach(({ row, source, draft }, i) => {
      const { stats, features } = row.run;
      stats.promptTokens += row.turn.prompt.length - source.keep;
      stats.cachedPromptTokens += source.keep;
      if (source.cache !== row.at?.cache) stats.prefixCacheTokens += source.keep;
      stats.draftTokens += draft.length;
      row.at = { cache, row: i };
      if (features.reuse && features.prefixCache) this.prefixes.insert(row.at, row.turn.prompt.length);
      this.accept(row, logits, i, draft);
    });
  }

  /** Feeds each row's next tokens on top of the decode batch, which first takes in rows that joined and drops finished ones. */
  private async decode(rows: Live[]): Promise<void> {
    let batch = this.batch;
    const joined = !batch || rows.some((row) => row.at!.cache !== batch);
    if (joined || (batch!.rows >= MIN_ROWS_TO_COMPACT && 2 * rows.length <= batch!.rows)) {
      batch = KvCache.gather(this.layout, rows.map(({ at }) => ({ ...at!, keep: at!.cache.tokens[at!.row]!.length })));
      rows.forEach((row, i) => (row.at = { cache: batch!, row: i }));
      this.batch = batch;
    }
    // Rows of the batch that are not decoding (finished, or waiting for their next prompt) are fed masked padding.
    const pending: number[][] = Array.from({ length: batch!.rows }, () => []);
    for (const row of rows) pending[row.at!.row] = row.feed;
    const width = Math.max(...rows.map((row) => row.feed.length));
    const logits = await this.timed(rows, () => this.forward.step(batch!, rightAligned(pending, width, 0, width), width));
    for (const row of rows) {
      const drafts = row.feed.slice(1);
      row.run.stats.draftTokens += drafts.length;
      row.feed = [];
      this.accept(row, logits, row.at!.row, drafts);
    }
  }

  /**
   * Picks the row's tokens from the logits of its last fed positions: each draft token is kept
   * while the pick at the position before it chooses it; the first pick that does not is the
   * row's next token, and the draft fed after it is discarded.
   */
  private accept(row: Live, logits: Logits, index: number, drafts: readonly number[]): void {
    const { picker, maxNewTokens } = row.turn;
    const { stats, features } = row.run;
    const at = row.at!;
    for (let j = 0; j <= drafts.length; j++) {
      const { token, probability } = picker.pick(logits.data, logitsOffset(logits, index, drafts.length - j), logits.vocab);
      const drafted = j < drafts.length && token === drafts[j];
      // Draft tokens fed after this one, not (yet) part of the answer.
      const after = drafts.length - j - (drafted ? 1 : 0);
      if (!drafted) at.cache.discard(at.row, after);
      if (this.stops.has(token)) return this.endTurn(row, 'stop');
      row.generated.tokens.push(token);
      row.generated.probabilities.push(probability);
      if (drafted) stats.acceptedDraftTokens++;
      const ending = row.generated.tokens.length >= maxNewTokens ? 'length' : features.jumpForward && picker.closed ? 'stop' : null;
      if (ending) {
        if (drafted) at.cache.discard(at.row, after);
        return this.endTurn(row, ending);
      }
      if (!drafted) {
        row.feed = [token, ...this.draft(row)];
        return;
      }
    }
  }

  /** What the row feeds ahead of its next picks: the grammar's forced text, else the prompt's continuation of the answer. */
  private draft({ turn, generated, run: { features } }: Live): number[] {
    const forced = features.jumpForward ? turn.picker.draft() : [];
    if (forced.length > 0 || !features.promptLookup) return forced;
    const lookup = promptLookupDraft(turn.prompt, generated.tokens, LOOKUP_DRAFT_TOKENS);
    return lookup.slice(0, turn.picker.admissible(lookup));
  }

  private endTurn(row: Live, reason: FinishReason): void {
    const { stats } = row.run;
    row.generated.finishReason = reason;
    stats.generatedTokens += row.generated.tokens.length;
    stats.constraintOverrides += row.turn.picker.overrides;
    let next: TurnRequest | null;
    try {
      next = row.sequence.nextTurn(row.generated);
    } catch (error) {
      return this.fail([row.run], error as Error);
    }
    if (next) {
      row.turn = next;
      row.generated = newTurn();
      return;
    }
    row.done = true;
    if (--row.run.unfinished === 0) row.run.resolve(row.run.stats);
  }

  /** The longest prefix of the row's prompt that a cache holds (at least one prompt token is left to feed). */
  private bestSource(row: Live): RowSource {
    const { features } = row.run;
    const { prompt } = row.turn;
    if (!features.reuse) return this.none;
    const limit = prompt.length - 1;
    const own = row.at ? { ...row.at, keep: commonPrefixLength(row.at.cache.tokens[row.at.row]!, prompt, limit) } : this.none;
    const shared = features.prefixCache ? this.prefixes.lookup(prompt, limit) : null;
    return shared && shared.keep > own.keep ? shared : own;
  }

  /**
   * Prompts of this pass that share a long prefix no cache holds yet (the first pass of a
   * worker, or a sentence's independent prompts): the shared part is fed once, as a row of
   * its own, and cached, so the pass forks it. Returns whether it fed any.
   */
  private async shareUncachedPrefixes(rows: Live[], sources: RowSource[]): Promise<boolean> {
    const eligible = rows.flatMap((row, i) => (row.run.features.reuse && row.run.features.prefixCache ? [i] : []));
    if (eligible.length < MIN_SHARING_ROWS) return false;
    const order = [...eligible].sort((a, b) => compareTokens(rows[a]!.turn.prompt, rows[b]!.turn.prompt));
    const promptAt = (k: number) => rows[order[k]!]!.turn.prompt;
    const prefixes = new Map<string, { tokens: number[]; row: Live }>();
    order.forEach((i, k) => {
      const prompt = promptAt(k);
      // Sorted, a run of prompts shares what its first and last share: the longest prefix this one shares with enough others.
      let shared = 0;
      for (let first = Math.max(0, k - MIN_SHARING_ROWS + 1); first <= k && first + MIN_SHARING_ROWS <= order.length; first++) {
        shared = Math.max(shared, commonPrefixLength(promptAt(first), promptAt(first + MIN_SHARING_ROWS - 1), prompt.length - 1));
      }
      if (shared < sources[i]!.keep + MIN_SHARED_TOKENS) return;
      const tokens = prompt.slice(0, shared);
      prefixes.set(tokens.join(','), { tokens, row: rows[i]! });
    });
    if (prefixes.size === 0) return false;
    const parts = [...prefixes.values()];
    const partSources = parts.map(({ tokens }) => this.prefixes.lookup(tokens, tokens.length - 1) ?? this.none);
    const cache = KvCache.gather(this.layout, partSources);
    const pending = parts.map(({ tokens }, k) => tokens.slice(partSources[k]!.keep));
    await this.timed(parts.map((p) => p.row), () => this.forward.prefill(cache, pending, 1));
    parts.forEach(({ row }, k) => {
      row.run.stats.promptTokens += pending[k]!.length;
      this.prefixes.insert({ cache, row: k }, parts[k]!.tokens.length);
    });
    return true;
  }

  /** Runs a pass, charging its time and positions to the rows' runs, a row's share each. */
  private async timed<T>(rows: readonly Live[], pass: () => Promise<T>): Promise<T> {
    const before = this.forward.forwardMs;
    const positionsBefore = this.forward.positions;
    const result = await pass();
    const seconds = (this.forward.forwardMs - before) / 1000;
    const positions = this.forward.positions - positionsBefore;
    for (const row of rows) {
      row.run.stats.forwardSeconds += seconds / rows.length;
      row.run.stats.fedPositions += positions / rows.length;
    }
    for (const run of new Set(rows.map((row) => row.run))) run.stats.forwardPasses++;
    return result;
  }

  private fail(runs: Run[], error: Error): void {
    const failed = new Set(runs);
    for (const l of [...this.live, ...this.waiting]) if (failed.has(l.run)) l.done = true;
    this.waiting = this.waiting.filter((l) => !failed.has(l.run));
    for (const run of failed) run.reject(error);
  }
}

/**
 * The prompts in one pass, or in two (the shorter and the longer ones) where that pads fewer
 * positions than a pass costs. Rows of a pass are padded to its widest.
 */
function byWidth(prompts: PendingPrompt[]): PendingPrompt[][] {
  const sorted = [...prompts].sort((a, b) => a.pending.length - b.pending.length);
  const widths = sorted.map((p) => p.pending.length);
  const n = widths.length;
  let best = { at: n, positions: n * widths[n - 1]! };
  for (let k = 1; k < n; k++) {
    const positions = k * widths[k - 1]! + (n - k) * widths[n - 1]! + PASS_COST_POSITIONS;
    if (positions < best.positions) best = { at: k, positions };
  }
  return best.at === n ? [prompts] : [sorted.slice(0, best.at), sorted.slice(best.at)];
}

function commonPrefixLength(a: readonly number[], b: readonly number[], limit: number): number {
  let n = 0;
  while (n < limit && n < a.length && a[n] === b[n]) n++;
  return n;
}

function compareTokens(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
