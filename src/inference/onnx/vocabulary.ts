// The bytes each token stands for, read once per worker from tokenizer.json, and an index of
// the tokens sorted by those bytes, which serves as a trie: the tokens that start with a given
// byte string are one contiguous range. Constrained decoding walks it; confidence uses the
// bytes to place each token in the decoded text.
import { readJson } from '../../project.js';

interface TokenizerJson {
  model: { type: string; vocab: Record<string, number> };
  decoder?: { type: string } | null;
  added_tokens?: { id: number; content: string; special: boolean }[];
}

/** Tokens sorted by their bytes; rank r is `ids[r]`, whose bytes are `bytes[starts[r] .. starts[r + 1])`. */
interface SortedTokens {
  ids: Int32Array;
  starts: Int32Array;
  bytes: Uint8Array;
}

export class Vocabulary {
  /** The tokens sorted by their bytes (about 0.3 s to build for 150k tokens, once per worker). */
  readonly sorted: SortedTokens;

  private constructor(
    /** Byte strings by token id; undefined for special tokens and unused ids. */
    private readonly tokenBytes: (Uint8Array | undefined)[],
  ) {
    this.sorted = sortTokens(tokenBytes);
  }

  /** Null when the tokenizer is not byte-level BPE (GPT-2, Qwen, Llama 3, SmolLM): only those map every token to bytes. */
  static load(tokenizerPath: string, vocabSize: number): Vocabulary | null {
    const json = readJson<TokenizerJson>(tokenizerPath);
    if (json.model.type !== 'BPE' || json.decoder?.type !== 'ByteLevel') return null;
    const tokenBytes = new Array<Uint8Array | undefined>(vocabSize);
    const byteOf = byteLevelDecoder();
    for (const [piece, id] of Object.entries(json.model.vocab)) {
      if (id < vocabSize) tokenBytes[id] = Uint8Array.from(piece, (ch) => byteOf.get(ch)!);
    }
    const utf8 = new TextEncoder();
    for (const added of json.added_tokens ?? []) {
      if (added.id < vocabSize) tokenBytes[added.id] = added.special ? undefined : utf8.encode(added.content);
    }
    return new Vocabulary(tokenBytes);
  }

  /** The token's bytes; undefined for special tokens, which decode to nothing. */
  bytes(token: number): Uint8Array | undefined {
    return this.tokenBytes[token];
  }

  /** `bytes` spelled greedily, each token the longest one that starts the rest (a trailing part no token spells is left out). */
  longestMatchTokens(bytes: Uint8Array): number[] {
    const { sorted } = this;
    const tokens: number[] = [];
    for (let at = 0; at < bytes.length; ) {
      let [lo, hi] = [0, sorted.ids.length];
      let longest: { token: number; length: number } | null = null;
      for (let depth = 0; at + depth < bytes.length && lo < hi; depth++) {
        [lo, hi] = narrow(sorted, lo, hi, depth, bytes[at + depth]!);
        // Within a range, the token that is exactly its shared bytes sorts first.
        if (lo < hi && lengthAt(sorted, lo) === depth + 1) longest = { token: sorted.ids[lo]!, length: depth + 1 };
      }
      if (!longest) break;
      tokens.push(longest.token);
      at += longest.length;
    }
    return tokens;
  }
}

/**
 * Ranks [lo, hi) of `sorted` share their first `depth` bytes; returns the sub-range whose
 * byte at `depth` is `byte` (tokens of length `depth` sort first and never match).
 */
export function narrow(sorted: SortedTokens, lo: number, hi: number, depth: number, byte: number): [number, number] {
  const at = (rank: number): number => {
    const index = sorted.starts[rank]! + depth;
    return index < sorted.starts[rank + 1]! ? sorted.bytes[index]! : -1;
  };
  const firstAtLeast = (value: number): number => {
    let [a, b] = [lo, hi];
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (at(mid) < value) a = mid + 1;
      else b = mid;
    }
    return a;
  };
  return [firstAtLeast(byte), firstAtLeast(byte + 1)];
}

/** Length in bytes of the token at a rank. */
export function lengthAt(sorted: SortedTokens, rank: number): number {
  return sorted.starts[rank + 1]! - sorted.starts[rank]!;
}

function sortTokens(tokenBytes: readonly (Uint8Array | undefined)[]): SortedTokens {
  // Latin-1 strings compare like their byte strings, and native string sort is fast.
  const keyed: { id: number; key: string }[] = [];
  tokenBytes.forEach((bytes, id) => {
    if (bytes && bytes.length > 0) keyed.push({ id, key: String.fromCharCode(...bytes) });
  });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const ids = Int32Array.from(keyed, (k) => k.id);
  const starts = new Int32Array(keyed.length + 1);
  keyed.forEach((k, r) => (starts[r + 1] = starts[r]! + k.key.length));
  const bytes = new Uint8Array(starts[keyed.length]!);
  keyed.forEach((k, r) => bytes.set(tokenBytes[k.id]!, starts[r]!));
  return { ids, starts, bytes };
}

/** Inverse of GPT-2's bytes_to_unicode: byte-level BPE spells byte b as one printable character. */
function byteLevelDecoder(): Map<string, number> {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  const map = new Map<string, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) map.set(String.fromCharCode(printable(b) ? b : 256 + shifted++), b);
  return map;
}
