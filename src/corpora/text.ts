// Plain-text reader: the whole file is one document.

import type { Corpus } from '../domain/types.js';
import { fileStem } from './common.js';

/** One Document with id = the file's stem (`notes/n1.txt` → `n1`), source 'other'. */
export function parseText(content: string, file: string): Corpus {
  return {
    documents: [{ id: fileStem(file), source: 'other', text: content.replace(/^\uFEFF/, '') }],
    mentions: [],
    relations: [],
    warnings: [],
  };
}
