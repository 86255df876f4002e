// `bioner-stream lexicon`: builds a lexicon TSV from gold-annotated corpora (their concept ids),
// or, with no --from, the default lexicons that annotate and run otherwise build on first use.
import { writeFile } from 'node:fs/promises';
import { CORPUS_FORMATS } from '../corpora/index.js';
import { defaultLexiconFiles, lexiconFromGold } from '../pipeline/concept-lexicons.js';
import { formatLexiconTsv } from '../stages/concepts/lexicon-files.js';
import { EntityTypes } from '../stages/entity-types.js';
import { oneOf, parseOptions, required } from './args.js';

const USAGE = `usage: bioner-stream lexicon [--from FILE[,FILE] --format pubtator|bioc-xml|bioc-json --type TYPE --out FILE.tsv]

  with no options   build the default lexicons (training splits of NCBI-disease and BC5CDR) into .cache/lexicons
  --from FILES      gold corpora whose concept ids teach the lexicon (use training splits only)
  --format FORMAT   their format (default pubtator)
  --type TYPE       the entity type whose mentions to take, e.g. disease
  --out FILE        where to write the id<TAB>name<TAB>synonyms TSV`;

const OPTIONS = {
  from: { type: 'string' },
  format: { type: 'string' },
  type: { type: 'string' },
  out: { type: 'string' },
} as const;

export async function lexiconCommand(argv: string[]): Promise<void> {
  const args = parseOptions(argv, OPTIONS, USAGE);
  const entityTypes = EntityTypes.load();
  if (args.from === undefined) {
    const files = await defaultLexiconFiles(entityTypes, (message) => console.error(`warning: ${message}`));
    for (const [type, file] of files) console.error(`${type}: ${file}`);
    return;
  }
  const format = oneOf(args.format ?? 'pubtator', CORPUS_FORMATS, '--format');
  const type = entityTypes.canonical(required(args.type, '--type'));
  const sources = args.from.split(',').map((file) => ({ file, format }));
  const concepts = await lexiconFromGold(sources, type, entityTypes);
  const out = required(args.out, '--out');
  await writeFile(out, formatLexiconTsv(concepts));
  console.error(`${concepts.length} ${type} concepts, ${concepts.reduce((n, c) => n + 1 + c.synonyms.length, 0)} names → ${out}`);
}
