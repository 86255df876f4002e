// `bioner-stream lexicon`: builds a lexicon TSV from gold-annotated corpora (their concept ids),
// or, with no --from, lists the default lexicons the build shipped.
import { writeFile } from 'node:fs/promises';
import { CORPUS_FORMATS } from '../corpora/index.js';
import { defaultLexiconFiles, lexiconFromGold } from '../pipeline/concept-lexicons.js';
import { formatLexiconTsv } from '../stages/concepts/lexicon-files.js';
import { EntityTypes } from '../stages/entity-types.js';
import { choice, parseCommandLine, text, UsageError } from './options.js';

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream lexicon [--from FILE[,FILE] --format FORMAT --type TYPE --out FILE.tsv]\n\n' +
    'With no options, lists the shipped default lexicons (MeSH and the training corpora, built with the project).',
  options: {
    from: text('FILES', 'gold corpora, comma-separated, whose concept ids teach the lexicon (use training splits only)'),
    format: choice(CORPUS_FORMATS, 'their format', 'pubtator'),
    type: text('TYPE', 'the entity type whose mentions to take, e.g. disease (required with --from)'),
    out: text('FILE', 'where to write the id<TAB>name<TAB>synonyms TSV (required with --from)'),
  },
};

export async function lexiconCommand(argv: string[]): Promise<void> {
  const { values: o } = parseCommandLine(argv, COMMAND_LINE);
  const entityTypes = EntityTypes.load();
  if (o.from === undefined) {
    const files = defaultLexiconFiles((message) => console.error(`warning: ${message}`));
    for (const [type, file] of files) console.error(`${type}: ${file}`);
    return;
  }
  if (o.type === undefined) throw new UsageError('missing --type');
  if (o.out === undefined) throw new UsageError('missing --out');
  const type = entityTypes.canonical(o.type);
  const sources = o.from.split(',').map((file) => ({ file: file.trim(), format: o.format }));
  const concepts = await lexiconFromGold(sources, type, entityTypes);
  await writeFile(o.out, formatLexiconTsv(concepts));
  console.error(`${concepts.length} ${type} concepts, ${concepts.reduce((n, c) => n + 1 + c.synonyms.length, 0)} names → ${o.out}`);
}
