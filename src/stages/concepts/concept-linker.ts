// Concept normalisation: which lexicon concept a mention names. Tried in order, the first that
// answers wins: the normalised name; the long form of a short form; each part of a composite
// mention; the nearest name by character trigrams, if similar enough; the longest tail of the
// name that is a known name ("ribavirin-induced hemolytic anemia").
import { compositeReadings } from './composite-mentions.js';
import type { Lexicon, LexiconMatch } from './lexicon.js';

export interface LinkedConcept {
  /** CURIEs; several for a composite mention. */
  ids: string[];
  /** The lexicon's preferred name(s), `|`-separated for a composite. */
  name: string;
  /** 1 for exact matches; the n-gram cosine, or the share of words a tail match kept; a composite's lowest part. */
  score: number;
}

export interface ConceptLinkerOptions {
  /** Lowest n-gram cosine accepted as a match. */
  threshold: number;
}

/** Chosen on NCBI-disease devel (train lexicon): see docs/models.md, "Concepts". */
export const DEFAULT_LINK_THRESHOLD = 0.6;

export class ConceptLinker {
  constructor(
    /** One lexicon per canonical entity type; types without one stay unlinked. */
    private readonly lexicons: ReadonlyMap<string, Lexicon>,
    private readonly options: ConceptLinkerOptions = { threshold: DEFAULT_LINK_THRESHOLD },
  ) {}

  /** Whether `type`'s lexicon has every one of `ids`: a mention naming others cannot be linked right. */
  covers(type: string, ids: readonly string[]): boolean {
    const lexicon = this.lexicons.get(type);
    return !!lexicon && ids.every((id) => lexicon.hasConcept(id));
  }

  /** Builds every lexicon's n-gram index now, not on its first fuzzy match. */
  prepare(): this {
    for (const lexicon of this.lexicons.values()) lexicon.prepare();
    return this;
  }

  link(type: string, text: string, longForm?: string): LinkedConcept | undefined {
    const lexicon = this.lexicons.get(type);
    if (!lexicon) return undefined;
    const exact = lexicon.exact(text) ?? (longForm === undefined ? undefined : lexicon.exact(longForm));
    if (exact) return { ids: [exact.id], name: exact.name, score: 1 };
    const name = longForm ?? text;
    return this.composite(lexicon, text) ?? single(this.fuzzy(lexicon, name) ?? this.head(lexicon, name));
  }

  /**
   * The longest tail of the name that is an exact name: "ribavirin-induced hemolytic anemia" is a
   * hemolytic anemia. Scored by the share of words kept.
   */
  private head(lexicon: Lexicon, text: string): LexiconMatch | undefined {
    const words = text.split(/[\s-]+/).filter(Boolean);
    for (let dropped = 1; dropped < words.length; dropped++) {
      const concept = lexicon.exact(words.slice(dropped).join(' '));
      if (concept) return { concept, score: (words.length - dropped) / words.length };
    }
    return undefined;
  }

  private composite(lexicon: Lexicon, text: string): LinkedConcept | undefined {
    const readings = compositeReadings(text);
    if (readings.length === 0) return undefined;
    const parts: LexiconMatch[] = [];
    for (const candidates of readings) {
      const part = this.bestOf(lexicon, candidates);
      if (!part) return undefined;
      parts.push(part);
    }
    const ids = [...new Set(parts.map((p) => p.concept.id))];
    if (ids.length < 2) return undefined; // one concept named twice is no composite
    return {
      ids,
      name: [...new Set(parts.map((p) => p.concept.name))].join('|'),
      score: Math.min(...parts.map((p) => p.score)),
    };
  }

  /** An exact reading if there is one, else the most similar above the threshold. */
  private bestOf(lexicon: Lexicon, candidates: string[]): LexiconMatch | undefined {
    for (const candidate of candidates) {
      const concept = lexicon.exact(candidate);
      if (concept) return { concept, score: 1 };
    }
    return candidates
      .map((candidate) => this.fuzzy(lexicon, candidate))
      .reduce<LexiconMatch | undefined>((best, m) => (m && (!best || m.score > best.score) ? m : best), undefined);
  }

  private fuzzy(lexicon: Lexicon, text: string): LexiconMatch | undefined {
    const match = lexicon.nearest(text);
    return match && match.score >= this.options.threshold ? match : undefined;
  }
}

const single = (match: LexiconMatch | undefined): LinkedConcept | undefined =>
  match && { ids: [match.concept.id], name: match.concept.name, score: match.score };
