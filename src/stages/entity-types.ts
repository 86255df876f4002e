// One canonical type vocabulary with Biolink categories; corpora name the same types differently.
import { projectPath, readJson } from '../project.js';

interface VocabularyFile {
  types: Record<string, { category: string }>;
  corpora: Record<string, Record<string, string>>;
}

export class EntityTypes {
  private constructor(private readonly file: VocabularyFile) {}

  static load(path = projectPath('config', 'entity-types.json')): EntityTypes {
    return new EntityTypes(readJson<VocabularyFile>(path));
  }

  /** The canonical types, in the file's order. */
  get names(): string[] {
    return Object.keys(this.file.types);
  }

  /** The canonical name for a label: a corpus label, or a canonical name in any case. */
  canonical(label: string): string {
    for (const mapping of Object.values(this.file.corpora)) {
      const mapped = mapping[label];
      if (mapped !== undefined) return mapped;
    }
    const lower = label.toLowerCase();
    if (lower in this.file.types) return lower;
    throw new Error(
      `unknown entity type "${label}"; known: ${this.names.join(', ')}`,
    );
  }

  /**
   * Why `labels` cannot be asked for, in one line: a type the vocabulary does not know, or one
   * named twice (also as two labels of one type, `Disease,disease`); undefined when they can.
   */
  typeListProblem(labels: readonly string[]): string | undefined {
    const seen = new Map<string, string>();
    for (const label of labels) {
      let type: string;
      try {
        type = this.canonical(label);
      } catch (error) {
        return (error as Error).message;
      }
      const earlier = seen.get(type);
      if (earlier !== undefined) return `entity type ${type} asked twice${earlier === label ? '' : ` (${earlier} and ${label})`}; name each type once`;
      seen.set(type, label);
    }
    return labels.length === 0 ? 'no entity types asked' : undefined;
  }

  /** The canonical names of `labels`; throws `typeListProblem`'s line when they cannot be asked for. */
  canonicalTypes(labels: readonly string[]): string[] {
    const problem = this.typeListProblem(labels);
    if (problem !== undefined) throw new Error(problem);
    return labels.map((label) => this.canonical(label));
  }

  /** What `corpus` calls a canonical type ("disease" → "Disease" in pubtator); the type itself when it has no label. */
  label(type: string, corpus: string): string {
    const mapping = this.file.corpora[corpus] ?? {};
    return Object.keys(mapping).find((label) => mapping[label] === type) ?? type;
  }

  /** A corpus's own labels → canonical types, as the file maps them; undefined for an unknown corpus. */
  corpusLabels(corpus: string): Record<string, string> | undefined {
    return this.file.corpora[corpus];
  }

  category(type: string): string {
    const entry = this.file.types[this.canonical(type)];
    return entry!.category;
  }
}
