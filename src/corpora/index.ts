// Corpus readers by format, so a CLI can do `readCorpus(file, format)`.

import { readFile } from 'node:fs/promises';
import type { Corpus } from '../domain/types.js';
import { parseBiocJson } from './bioc-json.js';
import { parseBiocXml } from './bioc-xml.js';
import { parseIob } from './iob.js';
import { parseJsonl } from './jsonl.js';
import { parsePubTator } from './pubtator.js';
import { parseText } from './text.js';

export { CorpusFormatError } from './common.js';
export { parseBiocJson, parseBiocXml, parseIob, parseJsonl, parsePubTator, parseText };

export const CORPUS_FORMATS = ['pubtator', 'iob', 'jsonl', 'text', 'bioc-xml', 'bioc-json'] as const;
export type CorpusFormat = (typeof CORPUS_FORMATS)[number];

const PARSERS: Record<CorpusFormat, (content: string, file: string) => Corpus> = {
  pubtator: parsePubTator,
  iob: parseIob,
  jsonl: parseJsonl,
  text: parseText,
  'bioc-xml': parseBiocXml,
  'bioc-json': parseBiocJson,
};

/** Reads a UTF-8 corpus file; format errors name `path` and the line. */
export async function readCorpus(path: string, format: CorpusFormat): Promise<Corpus> {
  return PARSERS[format](await readFile(path, 'utf8'), path);
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
