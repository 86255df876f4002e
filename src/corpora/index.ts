// Corpus readers by format, so a CLI can do `readCorpus(file, format)`.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Corpus } from '../domain/types.js';
import { decodeText, UniqueIds } from './common.js';
import { parseBiocJson } from './bioc-json.js';
import { parseBiocXml } from './bioc-xml.js';
import { parseIob } from './iob.js';
import { parseJsonl } from './jsonl.js';
import { parsePubTator } from './pubtator.js';
import { parseLines, parseText } from './text.js';

export { CorpusFormatError } from './common.js';
export { parseBiocJson, parseBiocXml, parseIob, parseJsonl, parseLines, parsePubTator, parseText };

export const CORPUS_FORMATS = ['pubtator', 'iob', 'jsonl', 'text', 'lines', 'bioc-xml', 'bioc-json'] as const;
export type CorpusFormat = (typeof CORPUS_FORMATS)[number];

const PARSERS: Record<CorpusFormat, (content: string, file: string) => Corpus> = {
  pubtator: parsePubTator,
  iob: parseIob,
  jsonl: parseJsonl,
  text: parseText,
  lines: parseLines,
  'bioc-xml': parseBiocXml,
  'bioc-json': parseBiocJson,
};

/** `--input -`: standard input, read as a file named `stdin`. */
export const STDIN = '-';

/**
 * Reads a UTF-8 corpus: a file, standard input (`-`), or a folder, whose files (hidden ones
 * and subfolders left out) are read in name order as one corpus. Format errors name the file
 * and the line.
 */
export async function readCorpus(path: string, format: CorpusFormat): Promise<Corpus> {
  if (path === STDIN) return PARSERS[format](decodeText(await readAll(process.stdin), 'stdin'), 'stdin');
  if (!(await stat(path)).isDirectory()) return PARSERS[format](decodeText(await readFile(path), path), path);
  const names = (await readdir(path, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const corpora = [];
  for (const name of names) corpora.push(PARSERS[format](decodeText(await readFile(join(path, name)), join(path, name)), join(path, name)));
  return joinCorpora(corpora);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** One corpus of several files'; an id that an earlier file used is kept as `id#2`, ..., with a warning. */
function joinCorpora(corpora: Corpus[]): Corpus {
  const joined: Corpus = { documents: [], mentions: [], relations: [], warnings: [] };
  const ids = new UniqueIds();
  for (const corpus of corpora) {
    const renamed = new Map<string, string>();
    for (const document of corpus.documents) {
      const id = ids.claim(document.id);
      if (id !== document.id) joined.warnings.push(`document id ${document.id} repeated in another file; kept as ${id}`);
      renamed.set(document.id, id);
      joined.documents.push({ ...document, id });
    }
    joined.mentions.push(...corpus.mentions.map((m) => ({ ...m, docId: renamed.get(m.docId) ?? m.docId })));
    joined.relations.push(...corpus.relations.map((r) => ({ ...r, docId: renamed.get(r.docId) ?? r.docId })));
    joined.warnings.push(...corpus.warnings);
  }
  return joined;
}

/** The first `n` documents of `corpus` (all when `n` is undefined), with their mentions and relations: a slice to evaluate on. */
export function firstDocuments(corpus: Corpus, n: number | undefined): Corpus {
  if (n === undefined) return corpus;
  const documents = corpus.documents.slice(0, n);
  const kept = new Set(documents.map((d) => d.id));
  return {
    documents,
    mentions: corpus.mentions.filter((m) => kept.has(m.docId)),
    relations: corpus.relations.filter((r) => kept.has(r.docId)),
    warnings: corpus.warnings,
  };
}
