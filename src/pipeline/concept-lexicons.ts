// Which lexicons concept linking uses, as `--lexicons` names them: `default` (the shipped ones,
// which the build writes into dist/lexicons: MeSH with the training corpora's names, see
// tools/lexicons/), the user's files `TYPE=FILE`, both (`default,gene=genes.tsv`), or `none`.
// Nothing here writes a file: the runtime may run from a read-only install.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCorpus, type CorpusFormat } from '../corpora/index.js';
import { projectPath } from '../project.js';
import { ConceptLinker, DEFAULT_LINK_THRESHOLD } from '../stages/concepts/concept-linker.js';
import { goldLexicon } from '../stages/concepts/gold-lexicon.js';
import { readLexiconFile } from '../stages/concepts/lexicon-files.js';
import { Lexicon, type Concept } from '../stages/concepts/lexicon.js';
import { mergeConcepts } from '../stages/concepts/merge-concepts.js';
import type { EntityTypes } from '../stages/entity-types.js';

export interface GoldSource {
  file: string;
  format: CorpusFormat;
}

/** The shipped default lexicons, one TYPE.tsv each: written by the build, only read at run time. */
export const DEFAULT_LEXICON_DIR = projectPath('dist', 'lexicons');

/** What `--lexicons` accepts, for the commands' usage text. */
export const LEXICON_SPEC_HELP =
  'concept lexicons, comma-separated items that add up, in order: default (the shipped disease and chemical lexicons: ' +
  "MeSH descriptors with the training corpora's names), TYPE=FILE (CTD_*.tsv[.gz], id/name/synonyms TSV, .obo; joins " +
  "any earlier lexicon of TYPE, a concept in both keeping the earlier one's name), or none alone. Without default, " +
  "only the files' types are linked";

/** The concepts of `type` that the gold mentions of `sources` link to. */
export async function lexiconFromGold(sources: readonly GoldSource[], type: string, entityTypes: EntityTypes): Promise<Concept[]> {
  const mentions = [];
  for (const source of sources) {
    const corpus = await readCorpus(source.file, source.format);
    mentions.push(...corpus.mentions.filter((m) => entityTypes.canonical(m.type) === type));
  }
  return goldLexicon(mentions);
}

/** The shipped lexicon files, type → file; none, with a warning, when the build has not made them. */
export function defaultLexiconFiles(warn: (message: string) => void, dir = DEFAULT_LEXICON_DIR): Map<string, string> {
  const names = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.tsv')).sort() : [];
  if (names.length === 0) warn(`no default lexicons in ${dir}: the build makes them (node scripts/setup.mjs); mentions get no concept`);
  return new Map(names.map((name) => [name.slice(0, -'.tsv'.length), join(dir, name)]));
}

/** A linker over the lexicons `spec` names; undefined for `none`. */
export async function conceptLinker(
  spec: string,
  entityTypes: EntityTypes,
  options: { threshold?: number; warn?: (message: string) => void } = {},
): Promise<ConceptLinker | undefined> {
  if (spec.trim() === 'none') return undefined;
  const warn = options.warn ?? ((message: string) => console.error(`warning: ${message}`));
  const lexicons = new Map<string, Lexicon>();
  for (const [type, files] of lexiconSpec(spec, entityTypes, warn)) {
    // One file needs no merging, which would normalise every name once more (seconds for a million).
    const concepts = files.length === 1 ? readLexiconFile(files[0]!) : mergeConcepts(files.map((file) => readLexiconFile(file)));
    lexicons.set(type, new Lexicon(concepts));
  }
  return new ConceptLinker(lexicons, { threshold: options.threshold ?? DEFAULT_LINK_THRESHOLD });
}

/**
 * `default,disease=CTD_diseases.tsv.gz,gene=genes.tsv` → canonical type → its files, in the order
 * given (`default` stands for the shipped ones); empty for `none`, which takes no other item.
 */
export function lexiconSpec(spec: string, entityTypes: EntityTypes, warn: (message: string) => void): Map<string, string[]> {
  const items = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.includes('none')) {
    if (items.length > 1) throw new Error(`bad lexicons "${spec}": none takes no other item`);
    return new Map();
  }
  const files = new Map<string, string[]>();
  const add = (type: string, file: string) => files.set(type, [...(files.get(type) ?? []), file]);
  for (const item of items) {
    if (item === 'default') {
      for (const [type, file] of defaultLexiconFiles(warn)) add(type, file);
      continue;
    }
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`bad lexicon "${item}": expected TYPE=FILE, default or none`);
    const file = item.slice(eq + 1);
    if (!existsSync(file)) throw new Error(`cannot read lexicon ${file}: no such file`);
    add(entityTypes.canonical(item.slice(0, eq)), file);
  }
  return files;
}
