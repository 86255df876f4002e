// Plain-text readers: a whole file is one document (`text`), or each line is one (`lines`).

import type { Corpus } from '../domain/types.js';
import { fileStem, splitLines } from './common.js';

/** One Document with id = the file's stem (`notes/n1.txt` → `n1`), source 'other'. */
export function parseText(content: string, file: string): Corpus {
  return {
    documents: [{ id: fileStem(file), source: 'other', text: content.replace(/^\uFEFF/, '') }],
    mentions: [],
    relations: [],
    warnings: [],
  };
}

/** One Document per non-blank line, id = the file's stem and the 1-based line number (`notes:12`), source 'other'. */
export function parseLines(content: string, file: string): Corpus {
  const stem = fileStem(file);
  return {
    documents: splitLines(content).flatMap((text, i) => (text.trim() === '' ? [] : [{ id: `${stem}:${i + 1}`, source: 'other' as const, text }])),
    mentions: [],
    relations: [],
    warnings: [],
  };
}
