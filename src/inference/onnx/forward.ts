// Forward passes over one decoder session: feed token columns on top of a KV cache, get the
// logits of the positions that will be read. Graphs built by this project take
// `num_logits_to_keep`, so the LM head runs only there (on prefill that is the last position
// or few of each row, where otherwise every position pays for a vocabulary-wide projection);
// other graphs return every position and the same view reads the last ones.
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { keepsLogits } from './decoder-session.js';
import { InputBuffers, type FeedBlock, type KvCache } from './kv-cache.js';

/** The logits of the last `columns` positions of each row: `data[(row * columns + column) * vocab + token]`. */
export interface Logits {
  data: Float32Array;
  columns: number;
  vocab: number;
}

/** Where a row's logits start, `fromEnd` positions before its last one. */
export function logitsOffset(logits: Logits, row: number, fromEnd: number): number {
  return (row * logits.columns + logits.columns - 1 - fromEnd) * logits.vocab;
}

/**
 * Most token positions one forward pass feeds. Longer prefills go in chunks, which bounds the
 * activations (and, for graphs that return every position, the logits: 196 KB a position with
 * SmolLM2's 49,152 tokens). Each pass reads every weight once, so chunks should be wide: a
 * prompt pass of 16 rows × 53 tokens went in two passes at 512 and in one at 2,048.
 */
export const DEFAULT_PREFILL_CHUNK_TOKENS = 2048;

export class Forward {
  forwardMs = 0;
  /** Token positions computed (rows × columns of every pass, padding included). */
  positions = 0;
  /** Whether the graph computes logits only where asked (`num_logits_to_keep`). */
  readonly keepsLogits: boolean;
  private readonly buffers = new InputBuffers();

  constructor(
    readonly session: InferenceSession,
    readonly padTokenId: number,
    readonly chunkTokens = DEFAULT_PREFILL_CHUNK_TOKENS,
  ) {
    this.keepsLogits = keepsLogits(session);
  }

  /** Feeds `block` on top of `cache` (which takes in the new keys/values); the logits of each row's last `read` columns. */
  async step(cache: KvCache, block: FeedBlock, read: number): Promise<Logits> {
    const inputs = cache.inputs(block, this.padTokenId, this.buffers);
    if (this.keepsLogits) inputs.num_logits_to_keep = new Tensor('int64', BigInt64Array.of(BigInt(read)), []);
    const started = performance.now();
    const outputs = await this.session.run(inputs);
    this.forwardMs += performance.now() - started;
    this.positions += cache.rows * block.width;
    cache.append(outputs, block);
    const logits = outputs.logits!;
    const [, columns, vocab] = logits.dims as [number, number, number];
    return { data: logits.data as Float32Array, columns, vocab };
  }

  /**
   * Feeds each row's pending tokens, right-aligned so every row's last token is in the last
   * column, in chunks; the logits of the last `read` columns (which the last chunk covers).
   */
  async prefill(cache: KvCache, pending: readonly (readonly number[])[], read: number): Promise<Logits> {
    if (pending.some((p) => p.length === 0)) throw new RangeError('every row needs at least one token to feed');
    const width = Math.max(...pending.map((p) => p.length));
    const chunk = Math.max(read, Math.floor(this.chunkTokens / cache.rows));
    let logits: Logits | undefined;
    // Chunks are cut from the right, so only the first one is narrow and the last one holds every read column.
    for (let to = width - Math.floor((width - 1) / chunk) * chunk, from = 0; from < width; from = to, to += chunk) {
      const last = to >= width;
      logits = await this.step(cache, rightAligned(pending, width, from, to), last ? Math.min(read, to - from) : 1);
    }
    return logits!;
  }
}

/** Columns [from, to) of the rows right-aligned to `width`; -1 left of a shorter row. */
export function rightAligned(pending: readonly (readonly number[])[], width: number, from: number, to: number): FeedBlock {
  const columns = to - from;
  const tokens = new Int32Array(pending.length * columns);
  pending.forEach((row, r) => {
    const padding = width - row.length;
    for (let col = from; col < to; col++) tokens[r * columns + col - from] = col < padding ? -1 : row[col - padding]!;
  });
  return { width: columns, tokens };
}
