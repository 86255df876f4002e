// The KV cache of a batch of rows: the past keys/values the model computed, and the tokens
// they came from. Forward passes append columns; `gather` builds a new batch from rows of
// earlier caches, each cut back to a prefix, which is how conversations are continued,
// forked and trimmed without feeding a token twice.
import { Tensor } from 'onnxruntime-node';
import type { DecoderLayout } from './decoder-session.js';

/** Where one conversation's keys and values live: a row of a cache. */
export interface CachedRow {
  cache: KvCache;
  row: number;
}

/** A row of a new batch: the first `keep` tokens of a cached row. */
export interface RowSource extends CachedRow {
  keep: number;
}

/** Token columns to feed: `tokens[row * width + col]`, -1 where a row has nothing (a masked pad). */
export interface FeedBlock {
  width: number;
  tokens: Int32Array;
}

export class KvCache {
  /** Columns per row, masked ones (padding, finished rows) included. */
  private columns = 0;
  /** Column-major: `mask[col * rows + row]` is 1 where the column holds one of the row's tokens. */
  private mask = new Uint8Array(0);

  private constructor(
    readonly layout: DecoderLayout,
    readonly rows: number,
    private past: Record<string, Tensor>,
    /** Each row's tokens, in order: what its keys and values encode. */
    readonly tokens: number[][],
  ) {}

  static empty(layout: DecoderLayout, rows: number): KvCache {
    const none = new Tensor('float32', new Float32Array(0), [rows, layout.numKeyValueHeads, 0, layout.headDim]);
    const past: Record<string, Tensor> = {};
    for (const name of pastNames(layout)) past[name] = none;
    return new KvCache(layout, rows, past, Array.from({ length: rows }, () => []));
  }

  /**
   * A batch whose row i holds the first `keep` tokens of `sources[i]`, left-padded to the
   * longest and with no masked columns in between: trimming, forking (a row listed twice)
   * and compaction in one copy.
   */
  static gather(layout: DecoderLayout, sources: readonly RowSource[]): KvCache {
    const { numKeyValueHeads: heads, headDim } = layout;
    const kept = sources.map(({ cache, row, keep }) => cache.realColumns(row, keep));
    const width = Math.max(0, ...kept.map((columns) => columns.length));
    const rows = sources.length;
    const past: Record<string, Tensor> = {};
    for (const name of pastNames(layout)) {
      const target = new Float32Array(rows * heads * width * headDim);
      sources.forEach(({ cache, row }, r) => {
        const source = cache.past[name]!.data as Float32Array;
        const columns = kept[r]!;
        for (let h = 0; h < heads; h++) {
          let to = ((r * heads + h) * width + width - columns.length) * headDim;
          const from = (row * heads + h) * cache.columns * headDim;
          forEachRun(columns, (first, count) => {
            target.set(source.subarray(from + first * headDim, from + (first + count) * headDim), to);
            to += count * headDim;
          });
        }
      });
      past[name] = new Tensor('float32', target, [rows, heads, width, headDim]);
    }
    const cache = new KvCache(layout, rows, past, sources.map(({ cache: c, row, keep }) => c.tokens[row]!.slice(0, keep)));
    cache.columns = width;
    cache.mask = new Uint8Array(rows * width);
    kept.forEach((columns, r) => {
      for (let col = width - columns.length; col < width; col++) cache.mask[col * rows + r] = 1;
    });
    return cache;
  }

  get width(): number {
    return this.columns;
  }

  /** Bytes of keys and values one token takes in a row. */
  static bytesPerToken(layout: DecoderLayout): number {
    return layout.numLayers * 2 * layout.numKeyValueHeads * layout.headDim * Float32Array.BYTES_PER_ELEMENT;
  }

  /** Forgets the row's last `count` tokens (a rejected draft): their columns are masked from now on. */
  discard(row: number, count: number): void {
    const tokens = this.tokens[row]!;
    if (count > tokens.length) throw new RangeError(`row ${row} caches ${tokens.length} tokens, cannot discard ${count}`);
    tokens.length -= count;
    for (let col = this.columns - 1; col >= 0 && count > 0; col--) {
      if (this.mask[col * this.rows + row]) {
        this.mask[col * this.rows + row] = 0;
        count--;
      }
    }
  }

  /** Model inputs that feed `block` on top of this cache. */
  inputs(block: FeedBlock, padTokenId: number, buffers: InputBuffers): Record<string, Tensor> {
    const { rows } = this;
    const { width } = block;
    const total = this.columns + width;
    const ids = buffers.take('ids', rows * width);
    const positions = buffers.take('positions', rows * width);
    const mask = buffers.take('mask', rows * total);
    for (let row = 0; row < rows; row++) {
      let position = this.tokens[row]!.length;
      for (let col = 0; col < this.columns; col++) mask[row * total + col] = this.mask[col * rows + row] ? 1n : 0n;
      for (let col = 0; col < width; col++) {
        const token = block.tokens[row * width + col]!;
        const at = row * width + col;
        ids[at] = BigInt(token < 0 ? padTokenId : token);
        // Padding positions are clamped to 0, like HF's cumsum(mask) - 1.
        positions[at] = BigInt(token < 0 ? 0 : position++);
        mask[row * total + this.columns + col] = token < 0 ? 0n : 1n;
      }
    }
    return {
      input_ids: new Tensor('int64', ids, [rows, width]),
      attention_mask: new Tensor('int64', mask, [rows, total]),
      position_ids: new Tensor('int64', positions, [rows, width]),
      ...this.past,
    };
  }

  /** Takes in the `present.*` outputs of the forward pass that fed `block`. */
  append(outputs: Readonly<Record<string, Tensor>>, block: FeedBlock): void {
    for (const name of Object.keys(this.past)) {
      this.past[name] = outputs[name.replace('past_key_values', 'present')]!;
    }
    const { rows } = this;
    const grown = new Uint8Array(rows * (this.columns + block.width));
    grown.set(this.mask);
    for (let col = 0; col < block.width; col++) {
      for (let row = 0; row < rows; row++) {
        const token = block.tokens[row * block.width + col]!;
        if (token < 0) continue;
        grown[(this.columns + col) * rows + row] = 1;
        this.tokens[row]!.push(token);
      }
    }
    this.mask = grown;
    this.columns += block.width;
  }

  /** Indices of the row's first `keep` unmasked columns. */
  private realColumns(row: number, keep: number): number[] {
    if (keep > this.tokens[row]!.length) throw new RangeError(`row ${row} caches ${this.tokens[row]!.length} tokens, not ${keep}`);
    const columns: number[] = [];
    for (let col = 0; col < this.columns && columns.length < keep; col++) {
      if (this.mask[col * this.rows + row]) columns.push(col);
    }
    return columns;
  }
}

/** Growable int64 buffers for the per-step inputs, so steps do not allocate them. */
export class InputBuffers {
  private readonly buffers = new Map<string, BigInt64Array>();

  take(name: string, size: number): BigInt64Array {
    let buffer = this.buffers.get(name);
    if (!buffer || buffer.length < size) {
      buffer = new BigInt64Array(Math.max(size, 2 * (buffer?.length ?? 0)));
      this.buffers.set(name, buffer);
    }
    return buffer.subarray(0, size);
  }
}

function pastNames(layout: DecoderLayout): string[] {
  return Array.from({ length: layout.numLayers }, (_, l) => [`past_key_values.${l}.key`, `past_key_values.${l}.value`]).flat();
}

/** Calls `f(first, count)` for each run of consecutive numbers in ascending `columns`. */
function forEachRun(columns: readonly number[], f: (first: number, count: number) => void): void {
  for (let i = 0; i < columns.length; ) {
    let j = i + 1;
    while (j < columns.length && columns[j] === columns[j - 1]! + 1) j++;
    f(columns[i]!, j - i);
    i = j;
  }
}
