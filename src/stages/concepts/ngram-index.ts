// Character trigram nearest neighbour over name keys: TF-IDF cosine, so a misspelt or reordered
// name ("pentoxyifylline", "dystrophy muscular") still finds its entry. Postings are packed into
// typed arrays (one Int32Array for all of them) so a million names stay within memory.

export interface NgramHit {
  /** Index of the key in the array the index was built from. */
  entry: number;
  /** Cosine similarity of the trigram vectors, in (0, 1]. */
  score: number;
}

/** Postings scanned per query at most: the rarest trigrams are scanned first, common ones may be skipped. */
const POSTINGS_BUDGET = 50_000;
/** Candidates rescored exactly after the scan. */
const RESCORED = 32;

export class NgramIndex {
  private readonly gramIds = new Map<string, number>();
  private readonly offsets: Int32Array;
  private readonly postings: Int32Array;
  private scores: Float32Array | undefined;

  constructor(private readonly keys: readonly string[]) {
    // Two passes over the keys, counting then filling, so no per-key arrays are kept.
    const counts: number[] = [];
    for (const key of keys) {
      for (const gram of trigrams(key)) {
        let id = this.gramIds.get(gram);
        if (id === undefined) {
          id = counts.length;
          this.gramIds.set(gram, id);
          counts.push(0);
        }
        counts[id]! += 1;
      }
    }
    this.offsets = new Int32Array(counts.length + 1);
    for (let g = 0; g < counts.length; g++) this.offsets[g + 1] = this.offsets[g]! + counts[g]!;
    this.postings = new Int32Array(this.offsets[counts.length]!);
    const fill = Int32Array.from(this.offsets.subarray(0, counts.length));
    keys.forEach((key, entry) => {
      for (const gram of trigrams(key)) this.postings[fill[this.gramIds.get(gram)!]!++] = entry;
    });
  }

  /** The entry most similar to `key`, or undefined when none shares a trigram with it. */
  nearest(key: string): NgramHit | undefined {
    const grams = [...trigrams(key)];
    const known = grams
      .map((gram) => this.gramIds.get(gram))
      .filter((id): id is number => id !== undefined)
      .sort((a, b) => this.df(a) - this.df(b));
    // Scores accumulate in one array reused by every query; `touched` says which entries to reset.
    this.scores ??= new Float32Array(this.keys.length);
    const scores = this.scores;
    const touched: number[] = [];
    let scanned = 0;
    for (const id of known) {
      if (scanned > 0 && scanned + this.df(id) > POSTINGS_BUDGET) break;
      const weight = this.idf(id) ** 2;
      for (let p = this.offsets[id]!; p < this.offsets[id + 1]!; p++) {
        const entry = this.postings[p]!;
        if (scores[entry] === 0) touched.push(entry);
        scores[entry]! += weight;
      }
      scanned += this.df(id);
    }
    const candidates = topEntries(touched, scores, RESCORED);
    for (const entry of touched) scores[entry] = 0;
    let best: NgramHit | undefined;
    for (const entry of candidates) {
      const score = this.cosine(grams, this.keys[entry]!);
      if (!best || score > best.score) best = { entry, score };
    }
    return best;
  }

  private cosine(queryGrams: string[], other: string): number {
    const otherGrams = trigrams(other);
    let dot = 0;
    let queryNorm = 0;
    for (const gram of queryGrams) {
      const w = this.gramIdf(gram) ** 2;
      queryNorm += w;
      if (otherGrams.has(gram)) dot += w;
    }
    let otherNorm = 0;
    for (const gram of otherGrams) otherNorm += this.gramIdf(gram) ** 2;
    return dot === 0 ? 0 : dot / Math.sqrt(queryNorm * otherNorm);
  }

  private df(id: number): number {
    return this.offsets[id + 1]! - this.offsets[id]!;
  }

  private idf(id: number): number {
    return Math.log(1 + this.keys.length / this.df(id));
  }

  /** A trigram no key has is as rare as can be. */
  private gramIdf(gram: string): number {
    const id = this.gramIds.get(gram);
    return id === undefined ? Math.log(1 + this.keys.length) : this.idf(id);
  }
}

/** The distinct trigrams of " key ", padded so first and last characters weigh like the rest. */
function trigrams(key: string): Set<string> {
  const padded = ` ${key} `;
  const grams = new Set<string>();
  for (let i = 0; i + 3 <= padded.length; i++) grams.add(padded.slice(i, i + 3));
  return grams;
}

/** The `k` entries with the highest scores, without sorting them all. */
function topEntries(entries: readonly number[], scores: Float32Array, k: number): number[] {
  const top: number[] = [];
  for (const entry of entries) {
    if (top.length === k && scores[entry]! <= scores[top[k - 1]!]!) continue;
    let i = Math.min(top.length, k - 1);
    while (i > 0 && scores[top[i - 1]!]! < scores[entry]!) i--;
    top.splice(i, 0, entry);
    if (top.length > k) top.pop();
  }
  return top;
}
