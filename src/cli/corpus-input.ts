// A corpus the command line names (`annotate --input`, `eval --gold`): a file, a folder or `-`
// for standard input, refused in one line when there is nothing to read.
import { existsSync } from 'node:fs';
import { readCorpus, STDIN, type CorpusFormat } from '../corpora/index.js';
import type { Corpus } from '../domain/types.js';
import { UsageError } from './options.js';

/** `flag` names the option in errors. A format error names the file and the line (a CorpusFormatError: exit 2). */
export async function readInputCorpus(path: string, format: CorpusFormat, flag: string): Promise<Corpus> {
  if (path !== STDIN && !existsSync(path)) throw new UsageError(`cannot read ${flag} ${path}: no such file or folder`);
  const corpus = await readCorpus(path, format);
  const where = path === STDIN ? 'standard input' : path;
  if (corpus.documents.length === 0) throw new UsageError(`${flag} ${where} holds no documents (an empty ${format} input)`);
  if (corpus.documents.every((d) => d.text.trim() === '')) throw new UsageError(`${flag} ${where} is empty: its documents have no text`);
  return corpus;
}
