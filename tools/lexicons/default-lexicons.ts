// The default lexicons, built with the project (scripts/setup.mjs) into dist/lexicons, which the
// runtime and its images ship: every MeSH descriptor of the type (mesh-descriptors.ts) under its
// preferred name, with the names the training corpora's gold ids give it as synonyms, plus the
// concepts only the corpora name (OMIM ids, MeSH supplementary concepts).
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lexiconFromGold, DEFAULT_LEXICON_DIR, type GoldSource } from '../../src/pipeline/concept-lexicons.js';
import { projectPath } from '../../src/project.js';
import { formatLexiconTsv } from '../../src/stages/concepts/lexicon-files.js';
import type { Concept } from '../../src/stages/concepts/lexicon.js';
import { mergeConcepts } from '../../src/stages/concepts/merge-concepts.js';
import { bagKey, nameKey } from '../../src/stages/concepts/name-key.js';
import { EntityTypes } from '../../src/stages/entity-types.js';
import { descriptorsOfType, meshDescriptors } from './mesh-descriptors.js';

const SHARED_DATA = (...parts: string[]) => projectPath('..', 'shared', 'data', ...parts);

/** Training splits only: the devel and test splits measure the lexicons. */
export const DEFAULT_LEXICON_SOURCES: Record<string, GoldSource[]> = {
  disease: [
    { file: SHARED_DATA('ncbi-disease', 'train.pubtator'), format: 'pubtator' },
    { file: SHARED_DATA('bc5cdr-pubtator', 'train.pubtator'), format: 'pubtator' },
  ],
  chemical: [{ file: SHARED_DATA('bc5cdr-pubtator', 'train.pubtator'), format: 'pubtator' }],
};

export interface BuiltLexicon {
  type: string;
  file: string;
  concepts: number;
  /** Of which MeSH descriptors. */
  descriptors: number;
  names: number;
}

/** Writes `dir`/TYPE.tsv for each type of DEFAULT_LEXICON_SOURCES; sorted by id, so a rebuild is byte for byte the same. */
export async function buildDefaultLexicons(
  options: { dir?: string; log?: (line: string) => void } = {},
): Promise<BuiltLexicon[]> {
  const dir = options.dir ?? DEFAULT_LEXICON_DIR;
  const log = options.log ?? ((line: string) => console.error(line));
  const entityTypes = EntityTypes.load();
  const mesh = await meshDescriptors(log);
  await mkdir(dir, { recursive: true });
  const built: BuiltLexicon[] = [];
  for (const [type, sources] of Object.entries(DEFAULT_LEXICON_SOURCES)) {
    const missing = sources.find((s) => !existsSync(s.file));
    if (missing) throw new Error(`cannot build the default ${type} lexicon: no training corpus ${missing.file}`);
    const gold = await lexiconFromGold(sources, type, entityTypes);
    const descriptors = unshadowed(descriptorsOfType(mesh, type), gold);
    // MeSH first: a descriptor keeps its preferred name, the corpora's names become its synonyms.
    const concepts = mergeConcepts([descriptors, gold]).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const file = join(dir, `${type}.tsv`);
    // Written aside, then renamed: a process reading the lexicons never sees half a file.
    await writeFile(`${file}.partial`, formatLexiconTsv(concepts));
    await rename(`${file}.partial`, file);
    built.push({
      type, file, concepts: concepts.length, descriptors: descriptors.length,
      names: concepts.reduce((n, c) => n + 1 + c.synonyms.length, 0),
    });
  }
  return built;
}

/**
 * The descriptors but those the corpora never name whose preferred name is one the corpora give
 * another concept: a lexicon gives a preferred name precedence over synonyms, so "Depression"
 * (D003863) would take "depression" from Depressive Disorder (D003866), the annotators' choice.
 */
export function unshadowed(descriptors: readonly Concept[], gold: readonly Concept[]): Concept[] {
  const taught = new Map<string, string>(); // a gold name's key, and its bag of words → the concept
  for (const concept of gold) {
    for (const name of [concept.name, ...concept.synonyms]) {
      const key = nameKey(name);
      taught.set(key, concept.id);
      taught.set(bagKey(key), concept.id);
    }
  }
  const named = new Set(gold.map((c) => c.id));
  return descriptors.filter((d) => {
    if (named.has(d.id)) return true;
    const key = nameKey(d.name);
    return !taught.has(key) && !taught.has(bagKey(key));
  });
}
