// Which lexicons concept linking uses: `default` (built from the training corpora's gold ids on
// first use, into .cache/lexicons), `none`, or the user's own files, `TYPE=FILE[,TYPE=FILE]`.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readCorpus, type CorpusFormat } from '../corpora/index.js';
import { projectPath } from '../project.js';
import { ConceptLinker, DEFAULT_LINK_THRESHOLD } from '../stages/concepts/concept-linker.js';
import { goldLexicon } from '../stages/concepts/gold-lexicon.js';
import { formatLexiconTsv, readLexiconFile } from '../stages/concepts/lexicon-files.js';
import { Lexicon, type Concept } from '../stages/concepts/lexicon.js';
import type { EntityTypes } from '../stages/entity-types.js';

export interface GoldSource {
  file: string;
  format: CorpusFormat;
}

const SHARED_DATA = (...parts: string[]) => projectPath('..', 'shared', 'data', ...parts);

/** Training splits only: the devel and test splits measure the lexicons. */
export const DEFAULT_LEXICON_SOURCES: Record<string, GoldSource[]> = {
  disease: [
    { file: SHARED_DATA('ncbi-disease', 'train.pubtator'), format: 'pubtator' },
    { file: SHARED_DATA('bc5cdr-pubtator', 'train.pubtator'), format: 'pubtator' },
  ],
  chemical: [{ file: SHARED_DATA('bc5cdr-pubtator', 'train.pubtator'), format: 'pubtator' }],
};

export const DEFAULT_LEXICON_DIR = projectPath('.cache', 'lexicons');

/** The concepts of `type` that the gold mentions of `sources` link to. */
export async function lexiconFromGold(sources: readonly GoldSource[], type: string, entityTypes: EntityTypes): Promise<Concept[]> {
  const mentions = [];
  for (const source of sources) {
    const corpus = await readCorpus(source.file, source.format);
    mentions.push(...corpus.mentions.filter((m) => entityTypes.canonical(m.type) === type));
  }
  return goldLexicon(mentions);
}

/**
 * The default lexicon files, built from DEFAULT_LEXICON_SOURCES when not yet in `dir`. A type
 * whose training corpus is absent gets none, with a warning: its mentions stay unlinked.
 */
export async function defaultLexiconFiles(
  entityTypes: EntityTypes,
  warn: (message: string) => void,
  dir = DEFAULT_LEXICON_DIR,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const [type, sources] of Object.entries(DEFAULT_LEXICON_SOURCES)) {
    const file = `${dir}/${type}.tsv`;
    if (!existsSync(file)) {
      const missing = sources.find((s) => !existsSync(s.file));
      if (missing) {
        warn(`no default ${type} lexicon: ${missing.file} not found; ${type} mentions get no concept (or pass --lexicons ${type}=FILE)`);
        continue;
      }
      mkdirSync(dirname(file), { recursive: true });
      // Written aside, then renamed: workers starting together never read a half-written file.
      const partial = `${file}.${process.pid}.partial`;
      writeFileSync(partial, formatLexiconTsv(await lexiconFromGold(sources, type, entityTypes)));
      renameSync(partial, file);
    }
    files.set(type, file);
  }
  return files;
}

/** A linker over the lexicons `spec` names; undefined for `none`. */
export async function conceptLinker(
  spec: string,
  entityTypes: EntityTypes,
  options: { threshold?: number; warn?: (message: string) => void } = {},
): Promise<ConceptLinker | undefined> {
  if (spec === 'none') return undefined;
  const warn = options.warn ?? ((message: string) => console.error(`warning: ${message}`));
  const files = spec === 'default' ? await defaultLexiconFiles(entityTypes, warn) : lexiconSpec(spec, entityTypes);
  const lexicons = new Map<string, Lexicon>();
  for (const [type, file] of files) lexicons.set(type, new Lexicon(readLexiconFile(file)));
  return new ConceptLinker(lexicons, { threshold: options.threshold ?? DEFAULT_LINK_THRESHOLD });
}

/** `disease=CTD_diseases.tsv,chemical=CTD_chemicals.tsv.gz` → canonical type → file. */
export function lexiconSpec(spec: string, entityTypes: EntityTypes): Map<string, string> {
  const files = new Map<string, string>();
  for (const item of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`bad lexicon "${item}": expected TYPE=FILE, default or none`);
    const file = item.slice(eq + 1);
    if (!existsSync(file)) throw new Error(`cannot read lexicon ${file}: no such file`);
    files.set(entityTypes.canonical(item.slice(0, eq)), file);
  }
  return files;
}
