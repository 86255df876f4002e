// A lexicon of one entity type: concepts with an id, a preferred name and synonyms, indexed for
// the matches concept linking tries (normalised exact, then character n-gram nearest neighbour).
import { bagKey, nameKey } from './name-key.js';
import { NgramIndex } from './ngram-index.js';

export interface Concept {
  /** A CURIE, e.g. `MESH:D003866`. */
  id: string;
  name: string;
  synonyms: string[];
}

/** What a match names; synonyms are only needed to build the index, so a lexicon keeps none. */
export type ConceptName = Pick<Concept, 'id' | 'name'>;

export interface LexiconMatch {
  concept: ConceptName;
  /** 1 for a normalised exact match, the n-gram cosine for a nearest neighbour. */
  score: number;
}

export class Lexicon {
  private readonly concepts: ConceptName[] = [];
  /** Distinct name keys, and the concept each belongs to (parallel arrays). */
  private readonly keys: string[] = [];
  private readonly keyConcept: number[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly byBag = new Map<string, number>();
  private ngrams: NgramIndex | undefined;
  private ids: Set<string> | undefined;

  /**
   * A name two concepts share goes to the first whose preferred name it is, else to the first
   * that lists it: preferred names are indexed before any synonym.
   */
  constructor(concepts: Iterable<Concept>) {
    const all = [...concepts];
    all.forEach((concept, c) => {
      this.concepts.push({ id: concept.id, name: concept.name });
      this.add(concept.name, c);
    });
    all.forEach((concept, c) => concept.synonyms.forEach((synonym) => this.add(synonym, c)));
  }

  /** Distinct normalised names. */
  get size(): number {
    return this.keys.length;
  }

  get conceptCount(): number {
    return this.concepts.length;
  }

  /** Whether the lexicon has a concept with this id; what bounds any matcher's accuracy. */
  hasConcept(id: string): boolean {
    this.ids ??= new Set(this.concepts.map((c) => c.id));
    return this.ids.has(id);
  }

  /** Same name once case, punctuation, Greek letters, plurals and word order are folded away. */
  exact(name: string): ConceptName | undefined {
    const key = nameKey(name);
    const entry = this.byKey.get(key) ?? this.byBag.get(bagKey(key));
    return entry === undefined ? undefined : this.concepts[this.keyConcept[entry]!];
  }

  /** The concept with the most similar name by character trigrams; built on first use. */
  nearest(name: string): LexiconMatch | undefined {
    const key = nameKey(name);
    if (key === '') return undefined;
    this.ngrams ??= new NgramIndex(this.keys);
    const hit = this.ngrams.nearest(key);
    return hit && { concept: this.concepts[this.keyConcept[hit.entry]!]!, score: hit.score };
  }

  /** Builds the n-gram index now rather than on the first fuzzy match (load-time measurement, servers). */
  prepare(): this {
    this.ngrams ??= new NgramIndex(this.keys);
    return this;
  }

  private add(name: string, concept: number): void {
    const key = nameKey(name);
    if (key === '' || this.byKey.has(key)) return;
    const entry = this.keys.length;
    this.keys.push(key);
    this.keyConcept.push(concept);
    this.byKey.set(key, entry);
    const bag = bagKey(key);
    if (!this.byBag.has(bag)) this.byBag.set(bag, entry);
  }
}
