// JSON Lines reader: one Document per line, {id, text, source?, title?, metadata?, types?}.

import type { Corpus, Document, DocumentSource } from '../domain/types.js';
import { CorpusFormatError, splitLines, UniqueIds } from './common.js';

const SOURCES: readonly DocumentSource[] = ['pubmed', 'clinical_note', 'other'];

/**
 * Parses one Document per non-blank line; missing `source` defaults to 'other'. Invalid
 * JSON or fields throw a CorpusFormatError naming the line; a repeated id is kept as
 * `id#2`, ... with a warning, as in the PubTator reader.
 */
export function parseJsonl(content: string, file = 'jsonl'): Corpus {
  const corpus: Corpus = { documents: [], mentions: [], relations: [], warnings: [] };
  const ids = new UniqueIds();
  const lines = splitLines(content);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const doc = toDocument(lines[i], (detail) => new CorpusFormatError(file, i + 1, detail));
    const id = ids.claim(doc.id);
    if (id !== doc.id) corpus.warnings.push(`${file}:${i + 1}: id ${doc.id} repeated; kept as document ${id}`);
    corpus.documents.push({ ...doc, id });
  }
  return corpus;
}

function toDocument(raw: string, fail: (detail: string) => Error): Document {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw fail(`invalid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(value)) throw fail('expected a JSON object');
  const { id, text, source = 'other', title, metadata, types } = value;
  if (typeof id !== 'string' || id === '') throw fail('"id" must be a non-empty string');
  if (typeof text !== 'string') throw fail('"text" must be a string');
  if (!SOURCES.includes(source as DocumentSource)) throw fail(`"source" must be one of ${SOURCES.join(', ')}`);
  if (title !== undefined && typeof title !== 'string') throw fail('"title" must be a string');
  if (metadata !== undefined && !(isRecord(metadata) && Object.values(metadata).every((v) => typeof v === 'string')))
    throw fail('"metadata" must be an object of strings');
  if (types !== undefined && !(Array.isArray(types) && types.every((t) => typeof t === 'string')))
    throw fail('"types" must be an array of strings');
  const doc: Document = { id, source: source as DocumentSource, text };
  if (title !== undefined) doc.title = title;
  if (metadata !== undefined) doc.metadata = metadata as Record<string, string>;
  if (types !== undefined) doc.types = types as string[];
  return doc;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
