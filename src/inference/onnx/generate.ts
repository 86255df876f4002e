// Greedy KV-cached generation over an ONNX decoder. `generateFrom` is the one generation loop:
// it feeds each row's pending tokens on top of what the row's cache already holds (a batched,
// chunked prefill), then one token per row per step until every row has emitted a stop token
// or reached the length bound. Conversation turns, forks and whole chats all go through it.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { InputBuffers, KvCache, type CachedRow, type FeedBlock } from './kv-cache.js';
import { greedyPicker, type TokenPicker } from './token-picker.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** End-of-turn tokens: a row that emits one is finished (the token is not returned). */
  stopTokenIds: Iterable<number>;
  padTokenId: number;
}

export type FinishReason = 'stop' | 'length';

export interface GeneratedRow {
  tokens: number[];
  /** Softmax probability of each returned token at the step it was chosen. */
  probabilities: number[];
  finishReason: FinishReason;
}

/** One forward pass: batch rows, token columns fed, cached columns attended to. */
export interface ForwardShape {
  rows: number;
  tokens: number;
  past: number;
}

export interface LoopOptions extends GenerateOptions {
  picker?: TokenPicker;
}

/** A generated row and where its conversation's keys/values now live (without a last token cut off by the length bound). */
export interface ContinuedRow extends GeneratedRow {
  cache: CachedRow;
}

/** Below this many rows a batch is not worth compacting when rows finish. */
const MIN_ROWS_TO_COMPACT = 8;

/**
 * Most token positions one forward pass feeds. The graph returns logits for every position
 * (positions × vocabulary × 4 bytes: 311 MB at 512 with Qwen's 151,936 tokens), so longer
 * prefills go in chunks. With the tiny model on 2 cores, 512 ran as fast as 1024 and 1.5x
 * faster than 128.
 */
export const DEFAULT_PREFILL_CHUNK_TOKENS = 512;

/** Forward passes over one session, with what every caller wants to know about them. */
export class Forward {
  forwardMs = 0;
  readonly trace: ForwardShape[] = [];

  constructor(
    readonly session: InferenceSession,
    readonly padTokenId: number,
    readonly chunkTokens = DEFAULT_PREFILL_CHUNK_TOKENS,
    private readonly buffers = new InputBuffers(),
  ) {}

  /** Feeds `block` on top of `cache` (which takes in the new keys/values); returns the logits. */
  async step(cache: KvCache, block: FeedBlock): Promise<Tensor> {
    const inputs = cache.inputs(block, this.padTokenId, this.buffers);
    const started = performance.now();
    const outputs = await this.session.run(inputs);
    this.forwardMs += performance.now() - started;
    this.trace.push({ rows: cache.rows, tokens: block.width, past: cache.width });
    cache.append(outputs, block);
    return outputs.logits!;
  }

  /** Feeds each row's pending tokens, right-aligned so every row's last token is in the last column. */
  async prefill(cache: KvCache, pending: readonly (readonly number[])[]): Promise<Tensor> {
    if (pending.some((p) => p.length === 0)) throw new RangeError('every row needs at least one token to feed');
    const width = Math.max(...pending.map((p) => p.length));
    const chunk = Math.max(1, Math.floor(this.chunkTokens / cache.rows));
    let logits: Tensor | undefined;
    for (let from = 0; from < width; from += chunk) {
      logits = await this.step(cache, rightAligned(pending, width, from, Math.min(width, from + chunk)));
    }
    return logits!;
  }
}

/**
 * Feeds `pending[i]` on top of row i of `cache`, then generates greedily (or as `picker`
 * says) until every row stops. Finished rows are fed masked padding, never their garbage,
 * and are dropped from the batch once at most half of it is still generating.
 */
export async function generateFrom(
  forward: Forward,
  cache: KvCache,
  pending: readonly (readonly number[])[],
  options: LoopOptions,
): Promise<ContinuedRow[]> {
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) {
    throw new RangeError(`maxNewTokens must be a positive integer, got ${options.maxNewTokens}`);
  }
  const picker = options.picker ?? greedyPicker;
  const stopTokens = new Set(options.stopTokenIds);
  const rows: ContinuedRow[] = pending.map((_, row) => ({
    tokens: [],
    probabilities: [],
    finishReason: 'length',
    cache: { cache, row },
  }));
  if (rows.length === 0) return rows;

  let batch = cache;
  /** The output row of each batch row. */
  let members = rows.map((_, row) => row);
  let logits = await forward.prefill(batch, pending);
  for (let step = 1; ; step++) {
    const [, width, vocab] = logits.dims as [number, number, number];
    const data = logits.data as Float32Array;
    const next = new Int32Array(members.length).fill(-1);
    members.forEach((member, b) => {
      const row = rows[member]!;
      if (row.finishReason === 'stop') return;
      const { token, probability } = picker.pick(member, data, (b * width + width - 1) * vocab, vocab);
      if (stopTokens.has(token)) {
        row.finishReason = 'stop';
      } else {
        row.tokens.push(token);
        row.probabilities.push(probability);
        next[b] = token;
      }
    });
    const generating = members.filter((_, b) => next[b]! >= 0);
    if (generating.length === 0 || step >= options.maxNewTokens) break;

    if (members.length >= MIN_ROWS_TO_COMPACT && generating.length <= members.length / 2) {
      // The finished rows keep pointing at the old batch, which is never fed again.
      const kept = members.flatMap((_, b) => (next[b]! >= 0 ? [b] : []));
      batch = KvCache.gather(batch.layout, kept.map((b) => ({ cache: batch, row: b, keep: batch.tokens[b]!.length })));
      members = kept.map((b) => members[b]!);
      members.forEach((member, b) => (rows[member]!.cache = { cache: batch, row: b }));
      logits = await forward.step(batch, { width: 1, tokens: Int32Array.from(kept, (b) => next[b]!) });
    } else {
      logits = await forward.step(batch, { width: 1, tokens: next });
    }
  }
  return rows;
}

/** Columns [from, to) of the rows right-aligned to `width`; -1 left of a shorter row. */
function rightAligned(pending: readonly (readonly number[])[], width: number, from: number, to: number): FeedBlock {
  const columns = to - from;
  const tokens = new Int32Array(pending.length * columns);
  pending.forEach((row, r) => {
    const padding = width - row.length;
    for (let col = from; col < to; col++) tokens[r * columns + col - from] = col < padding ? -1 : row[col - padding]!;
  });
  return { width: columns, tokens };
}
