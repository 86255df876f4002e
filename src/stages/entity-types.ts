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
