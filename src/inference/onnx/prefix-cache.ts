// Keys and values of prompt prefixes, shared across sentences: every conv_term prompt starts
// with the same system prompt, instruction and format description, so a worker computes them
// once and forks them into each conversation that starts with them (as vLLM's automatic prefix
// caching and SGLang's RadixAttention do). Entries are looked up by token ids in a trie, each
// node knowing the entries that pass through it, and evicted least recently used first when
// the bytes they hold pass the bound. Exact: a hit feeds the model the same keys and values
// at the same positions as prefilling the prefix again would.
import { KvCache, type CachedRow, type RowSource } from './kv-cache.js';
import type { DecoderLayout } from './decoder-session.js';

interface Entry {
  tokens: readonly number[];
  /** One row holding exactly `tokens`. */
  cache: KvCache;
  lastUsed: number;
}

interface TrieNode {
  children: Map<number, TrieNode>;
  /** The entries whose tokens pass through this node. */
  entries: Set<Entry>;
}

const trieNode = (): TrieNode => ({ children: new Map(), entries: new Set() });

export interface PrefixCacheStats {
  lookups: number;
  hits: number;
  /** Prompt tokens served from the cache. */
  tokens: number;
  evictions: number;
}

export class PrefixCache {
  readonly stats: PrefixCacheStats = { lookups: 0, hits: 0, tokens: 0, evictions: 0 };
  private readonly root = trieNode();
  private readonly entries = new Set<Entry>();
  private clock = 0;
  private held = 0;
  private readonly bytesPerToken: number;

  constructor(
    layout: DecoderLayout,
    /** Most bytes of keys and values the entries may hold together. */
    readonly maxBytes: number,
  ) {
    this.bytesPerToken = KvCache.bytesPerToken(layout);
  }

  get bytes(): number {
    return this.held;
  }

  /** The longest cached prefix of `tokens`, at most `limit` long, as a row to gather from; null when none is cached. */
  lookup(tokens: readonly number[], limit: number): RowSource | null {
    this.stats.lookups++;
    const { depth, entry } = this.deepest(tokens, limit);
    if (!entry) return null;
    entry.lastUsed = ++this.clock;
    this.stats.hits++;
    this.stats.tokens += depth;
    return { cache: entry.cache, row: 0, keep: depth };
  }

  /** Keeps a copy of the first `length` tokens of a cached row, unless the cache holds them already. */
  insert({ cache, row }: CachedRow, length: number): void {
    const tokens = cache.tokens[row]!.slice(0, length);
    const bytes = tokens.length * this.bytesPerToken;
    if (tokens.length === 0 || bytes > this.maxBytes) return;
    const known = this.deepest(tokens, tokens.length);
    if (known.depth === tokens.length) {
      known.entry!.lastUsed = ++this.clock;
      return;
    }
    while (this.held + bytes > this.maxBytes) this.evict();
    const entry: Entry = { tokens, cache: KvCache.gather(cache.layout, [{ cache, row, keep: length }]), lastUsed: ++this.clock };
    let node = this.root;
    for (const token of tokens) {
      let child = node.children.get(token);
      if (!child) node.children.set(token, (child = trieNode()));
      child.entries.add(entry);
      node = child;
    }
    this.entries.add(entry);
    this.held += bytes;
  }

  /** How far down the trie `tokens` lead (at most `limit`), and an entry that holds that prefix. */
  private deepest(tokens: readonly number[], limit: number): { depth: number; entry: Entry | undefined } {
    let node = this.root;
    let depth = 0;
    while (depth < limit) {
      const child = node.children.get(tokens[depth]!);
      if (!child) break;
      node = child;
      depth++;
    }
    return { depth, entry: depth > 0 ? node.entries.values().next().value : undefined };
  }

  private evict(): void {
    let oldest: Entry | undefined;
    for (const entry of this.entries) if (!oldest || entry.lastUsed < oldest.lastUsed) oldest = entry;
    if (!oldest) return;
    this.entries.delete(oldest);
    this.held -= oldest.tokens.length * this.bytesPerToken;
    this.stats.evictions++;
    let node = this.root;
    for (const token of oldest.tokens) {
      const child = node.children.get(token)!;
      child.entries.delete(oldest);
      if (child.entries.size === 0) {
        node.children.delete(token);
        return;
      }
      node = child;
    }
  }
}
