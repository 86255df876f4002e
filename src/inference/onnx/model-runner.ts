// Runs the passes the generation scheduler plans: gathers the keys and values each row feeds on
// top of, lays out its tokens, runs the session (forward.ts) and says where every row's keys and
// values are afterwards. It keeps the decode batch, the rows that decode step after step.
import type { DecoderLayout } from './decoder-session.js';
import { rightAligned, type Forward, type Logits } from './forward.js';
import { KvCache, type CachedRow, type RowSource } from './kv-cache.js';
import type { PassCost } from './run-cost.js';

/** What one pass feeds: each row's tokens, in rows of its own or in the decode batch. */
export type Feed = PromptFeed | DecodeFeed;

/** Prompts, each on top of a copy of a cached prefix; the logits of each row's last `read` positions. */
export interface PromptFeed {
  kind: 'prompt';
  sources: readonly RowSource[];
  tokens: readonly (readonly number[])[];
  read: number;
}

/** Decode steps, each on top of the row its keys and values are in; the logits of every fed position. */
export interface DecodeFeed {
  kind: 'decode';
  rows: readonly CachedRow[];
  tokens: readonly (readonly number[])[];
}

export interface PassOutput extends PassCost {
  logits: Logits;
  /** Where each row's keys and values are now; its `row` is also its row of the logits. */
  at: CachedRow[];
}

/** Below this many rows a decode batch is not worth compacting when rows finish. */
const MIN_ROWS_TO_COMPACT = 8;

export class ModelRunner {
  /** The decode batch, whose rows the decoding sequences point into. */
  private batch: KvCache | null = null;

  constructor(
    private readonly forward: Forward,
    private readonly layout: DecoderLayout,
  ) {}

  run(feed: Feed): Promise<PassOutput> {
    return feed.kind === 'prompt' ? this.prefill(feed.sources, feed.tokens, feed.read) : this.decode(feed.rows, feed.tokens);
  }

  /** Lets the decode batch go (no sequence is left in it). */
  dropDecodeBatch(): void {
    this.batch = null;
  }

  private async prefill(sources: readonly RowSource[], tokens: readonly (readonly number[])[], read: number): Promise<PassOutput> {
    const cache = KvCache.gather(this.layout, sources);
    const measured = await this.measure(() => this.forward.prefill(cache, tokens, read));
    return { ...measured, at: sources.map((_, row) => ({ cache, row })) };
  }

  /** Feeds each row's tokens on top of the decode batch, which first takes in rows that joined and drops finished ones. */
  private async decode(rows: readonly CachedRow[], tokens: readonly (readonly number[])[]): Promise<PassOutput> {
    let at = [...rows];
    let batch = this.batch;
    if (!batch || at.some((row) => row.cache !== batch) || (batch.rows >= MIN_ROWS_TO_COMPACT && 2 * at.length <= batch.rows)) {
      batch = KvCache.gather(this.layout, at.map((row) => ({ ...row, keep: row.cache.tokens[row.row]!.length })));
      at = at.map((_, row) => ({ cache: batch!, row }));
      this.batch = batch;
    }
    // Rows of the batch that are not decoding (finished, or waiting for their next prompt) are fed masked padding.
    const pending: (readonly number[])[] = Array.from({ length: batch.rows }, () => []);
    at.forEach(({ row }, i) => (pending[row] = tokens[i]!));
    const width = Math.max(...tokens.map((t) => t.length));
    const fed = batch;
    const measured = await this.measure(() => this.forward.step(fed, rightAligned(pending, width, 0, width), width));
    return { ...measured, at };
  }

  /** Runs a pass and measures its forward time and positions. */
  private async measure(pass: () => Promise<Logits>): Promise<PassCost & { logits: Logits }> {
    const forwardMs = this.forward.forwardMs;
    const positions = this.forward.positions;
    const logits = await pass();
    return { logits, forwardSeconds: (this.forward.forwardMs - forwardMs) / 1000, positions: this.forward.positions - positions };
  }
}
