// Decides what each forward pass of an inference worker feeds, and takes in what it gave
// (generation-loop.ts runs the passes, model-runner.ts feeds them). Sequences (conversations,
// chat completions) ask for one turn at a time; each turn's prompt is fed on top of the longest
// prefix a cache holds, then one token (and its draft) per sequence per step.
//  - Step-level batching: a sequence joins the running batch at the next forward pass and
//    leaves it when it is done; no batch waits for its slowest member. Prompts are fed in
//    passes of their own (their widths would pad the one-token decode rows), after which the
//    new rows are gathered into the decode batch.
//  - Reuse: a conversation's next turn is fed on top of its own cached turns, and a prompt on
//    top of the longest prefix in the prefix cache (prefix-cache.ts). Prompts of one pass that
//    share more than is cached have the shared part fed once and forked (prompt-grouping.ts).
//  - Drafts: tokens fed ahead of their picks, each kept only if the pick at the position
//    before it chooses it (draft-verification.ts). Jump-forward drafts the only text the
//    grammar allows next (`Answer: [`), and a turn whose grammar leaves only the end of turn
//    ends without another pass; prompt lookup drafts the tokens that follow, in the prompt,
//    the answer's last ones (a mention copied from the sentence).
// Every prompt is tokenised in full and the cache cut back to what it shares with it, so the
// tokens a sequence has fed are by construction those of its full prompt.
import type { DecoderLayout } from './decoder-session.js';
import { verifyDraft } from './draft-verification.js';
import type { Logits } from './forward.js';
import { KvCache, type CachedRow, type RowSource } from './kv-cache.js';
import type { DecodeFeed, PassOutput, PromptFeed } from './model-runner.js';
import { PrefixCache } from './prefix-cache.js';
import { byWidth, commonPrefixLength, sharedPrefixes } from './prompt-grouping.js';
import { promptLookupDraft } from './prompt-lookup.js';
import { chargeDrafts, chargePass, chargePrompt, chargeSharedPrefix, chargeTurn, noRunStats, type RunStats } from './run-cost.js';
import type { FinishReason, GeneratedTurn, Sequence, TurnRequest } from './sequence.js';

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

export interface GenerationSchedulerOptions {
  /** Most sequences decoding at once. */
  maxRows: number;
  /** Bound on the prefix cache's keys and values. */
  prefixCacheBytes: number;
}

/** How a run's promise settles. */
export interface RunSettlement {
  resolve: (stats: RunStats) => void;
  reject: (error: Error) => void;
}

/**
 * Most prompt-lookup tokens a row feeds ahead. A decode pass reads every weight whatever its
 * width, so a few more positions per row cost little next to the passes they save.
 */
const LOOKUP_DRAFT_TOKENS = 4;

/** A forward pass as planned: what the model runner feeds, and the rows it feeds for. */
export type Pass =
  /** Prefixes several prompts share, fed once for them to fork; each charged to one of its rows. */
  | { kind: 'shared'; feed: PromptFeed; rows: Live[]; lengths: number[] }
  /** Prompts on top of their best cached prefixes, with their drafts. */
  | { kind: 'prompts'; feed: PromptFeed; rows: Live[]; drafts: number[][] }
  /** Each row's next token and its draft, on top of its own keys and values. */
  | { kind: 'decode'; feed: DecodeFeed; rows: Live[] };

interface Run extends RunSettlement {
  features: EngineFeatures;
  stats: RunStats;
  unfinished: number;
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
  /** The passes of the step under way, each planned once the one before it has been taken in. */
  private step: Iterator<Pass> | null = null;

  constructor(
    layout: DecoderLayout,
    stopTokenIds: readonly number[],
    private readonly options: GenerationSchedulerOptions,
  ) {
    this.stops = new Set(stopTokenIds);
    this.prefixes = new PrefixCache(layout, options.prefixCacheBytes);
    this.none = { cache: KvCache.empty(layout, 1), row: 0, keep: 0 };
  }

  /** Whether no sequence is waiting or running. */
  get idle(): boolean {
    return this.waiting.length === 0 && this.live.length === 0;
  }

  /** Queues the sequences as one run, which settles with what it cost once they are all done. */
  add(sequences: readonly Sequence[], features: EngineFeatures, settlement: RunSettlement): void {
    const run: Run = { ...settlement, features, stats: noRunStats(), unfinished: 0 };
    try {
      for (const sequence of sequences) {
        const turn = sequence.nextTurn(null);
        if (!turn) continue;
        run.unfinished++;
        this.waiting.push({ run, sequence, turn, generated: newTurn(), at: null, feed: [], done: false });
      }
    } catch (error) {
      this.waiting = this.waiting.filter((l) => l.run !== run);
      return run.reject(error as Error);
    }
    if (run.unfinished === 0) run.resolve(run.stats);
  }

  /** The next pass of this step, planned from what the passes before it gave; null once the step is over. */
  schedule(): Pass | null {
    this.step ??= this.passes();
    const next = this.step.next();
    return next.done ? null : next.value;
  }

  /** Takes in what a pass gave: charges it, then verifies each row's picks and drafts its next feed. */
  update(pass: Pass, output: PassOutput): void {
    chargePass(pass.rows.map((row) => row.run.stats), output);
    if (pass.kind === 'shared') {
      pass.rows.forEach((row, k) => {
        chargeSharedPrefix(row.run.stats, pass.feed.tokens[k]!.length);
        this.prefixes.insert(output.at[k]!, pass.lengths[k]!);
      });
    } else if (pass.kind === 'prompts') {
      pass.rows.forEach((row, i) => {
        const { features, stats } = row.run;
        const source = pass.feed.sources[i]!;
        chargePrompt(stats, row.turn.prompt.length, source.keep, source.cache !== row.at?.cache);
        row.at = output.at[i]!;
        if (features.reuse && features.prefixCache) this.prefixes.insert(row.at, row.turn.prompt.length);
        this.accept(row, output.logits, pass.drafts[i]!);
      });
    } else {
      pass.rows.forEach((row, i) => {
        row.at = output.at[i]!;
        const drafts = row.feed.slice(1);
        row.feed = [];
        this.accept(row, output.logits, drafts);
      });
    }
  }

  /** Ends the step: a failed pass fails every run it fed; finished sequences leave. Returns whether any is left running. */
  endStep(error?: Error): boolean {
    if (error) this.fail(this.live.map((l) => l.run), error);
    this.live = this.live.filter((l) => !l.done);
    this.step = null;
    return this.live.length > 0;
  }

  /** Fails every run waiting or running; only between steps, once endStep has been called. */
  abandon(error: Error): void {
    this.fail([...this.live, ...this.waiting].map((l) => l.run), error);
    this.live = [];
  }

  /** The step's passes: prompts (those that share a prefix first) or one decode step. */
  private *passes(): Generator<Pass, void, undefined> {
    this.admit();
    const prompting = this.live.filter((l) => l.feed.length === 0);
    const decoding = this.live.filter((l) => l.feed.length > 0);
    const lockstep = this.live.some((l) => !l.run.features.stepBatching);
    if (prompting.length > 0 && this.prefillsNow(prompting.length, decoding.length, lockstep)) yield* this.promptPasses(prompting);
    else if (decoding.length > 0) yield this.decodePass(decoding);
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

  /** The rows' prompts, each on top of the longest prefix a cache holds, with their drafts; what they share uncached goes first. */
  private *promptPasses(rows: Live[]): Generator<Pass, void, undefined> {
    let sources = rows.map((row) => this.bestSource(row));
    const shared = this.sharedPrefixPass(rows, sources);
    if (shared) {
      yield shared;
      sources = rows.map((row) => this.bestSource(row));
    }
    const prompts = rows.map((row, i) => {
      const draft = row.run.features.jumpForward ? row.turn.picker.draft() : [];
      return { row, source: sources[i]!, draft, pending: [...row.turn.prompt.slice(sources[i]!.keep), ...draft] };
    });
    for (const group of byWidth(prompts, (p) => p.pending.length)) {
      const lastOnly = group.every(({ row }) => row.run.features.lastLogitsOnly);
      const read = lastOnly ? Math.max(...group.map((p) => p.draft.length)) + 1 : Math.max(...group.map((p) => p.pending.length));
      const feed: PromptFeed = { kind: 'prompt', sources: group.map((p) => p.source), tokens: group.map((p) => p.pending), read };
      yield { kind: 'prompts', feed, rows: group.map((p) => p.row), drafts: group.map((p) => p.draft) };
    }
  }

  private decodePass(rows: Live[]): Pass {
    return { kind: 'decode', feed: { kind: 'decode', rows: rows.map((row) => row.at!), tokens: rows.map((row) => row.feed) }, rows };
  }

  /**
   * Prompts of this pass that share a long prefix no cache holds yet (the first pass of a
   * worker, or a sentence's independent prompts): the shared part is fed once, as a row of
   * its own, and cached, so the pass forks it.
   */
  private sharedPrefixPass(rows: Live[], sources: RowSource[]): Pass | null {
    const eligible = rows.flatMap((row, i) => (row.run.features.reuse && row.run.features.prefixCache ? [i] : []));
    const parts = sharedPrefixes(eligible.map((i) => rows[i]!.turn.prompt), eligible.map((i) => sources[i]!.keep));
    if (parts.length === 0) return null;
    const partSources = parts.map(({ tokens }) => this.prefixes.lookup(tokens, tokens.length - 1) ?? this.none);
    const tokens = parts.map(({ tokens }, k) => tokens.slice(partSources[k]!.keep));
    const feed: PromptFeed = { kind: 'prompt', sources: partSources, tokens, read: 1 };
    return { kind: 'shared', feed, rows: parts.map(({ index }) => rows[eligible[index]!]!), lengths: parts.map((p) => p.tokens.length) };
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

  /** Takes the row's picks from the logits of its last fed positions (draft-verification.ts) and plans its next feed. */
  private accept(row: Live, logits: Logits, drafts: readonly number[]): void {
    const { picker, maxNewTokens } = row.turn;
    const { stats, features } = row.run;
    const at = row.at!;
    const limits = { stops: this.stops, room: maxNewTokens - row.generated.tokens.length, endsWhenClosed: features.jumpForward };
    const verdict = verifyDraft(picker, logits, at.row, drafts, limits);
    at.cache.discard(at.row, verdict.discard);
    for (const { token, probability } of verdict.picked) {
      row.generated.tokens.push(token);
      row.generated.probabilities.push(probability);
    }
    chargeDrafts(stats, drafts.length, verdict.accepted);
    if (verdict.finish) return this.endTurn(row, verdict.finish);
    row.feed = [verdict.picked.at(-1)!.token, ...this.draft(row)];
  }

  /** What the row feeds ahead of its next picks: the grammar's forced text, else the prompt's continuation of the answer. */
  private draft({ turn, generated, run: { features } }: Live): number[] {
    const forced = features.jumpForward ? turn.picker.draft() : [];
    if (forced.length > 0 || !features.promptLookup) return forced;
    const lookup = promptLookupDraft(turn.prompt, generated.tokens, LOOKUP_DRAFT_TOKENS);
    return lookup.slice(0, turn.picker.admissible(lookup));
  }

  private endTurn(row: Live, reason: FinishReason): void {
    row.generated.finishReason = reason;
    chargeTurn(row.run.stats, row.generated.tokens.length, row.turn.picker.overrides);
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

  private fail(runs: Run[], error: Error): void {
    const failed = new Set(runs);
    for (const l of [...this.live, ...this.waiting]) if (failed.has(l.run)) l.done = true;
    this.waiting = this.waiting.filter((l) => !failed.has(l.run));
    for (const run of failed) run.reject(error);
  }
}
