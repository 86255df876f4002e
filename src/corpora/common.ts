// Helpers shared by the corpus readers.

import { basename, extname } from 'node:path';
import { FileFormatError } from '../domain/file-format-error.js';

/** A corpus line the readers cannot make sense of. */
export class CorpusFormatError extends FileFormatError {}

/** Lines of a file, without terminators; tolerates CRLF and a leading BOM. */
export function splitLines(content: string): string[] {
  return content.replace(/^\uFEFF/, '').split(/\r?\n/);
}

/** `dir/test.tsv` → `test`: the stem used in document ids. */
export function fileStem(file: string): string {
  return basename(file, extname(file));
}

/**
 * Hands out unique document ids: the n-th repeat of `id` becomes `id#n`
 * (deterministic, so ids stay stable across runs).
 */
export class UniqueIds {
  private readonly used = new Set<string>();
  private readonly repeats = new Map<string, number>();

  claim(id: string): string {
    let n = this.repeats.get(id) ?? 0;
    let candidate: string;
    do {
      n += 1;
      candidate = n === 1 ? id : `${id}#${n}`;
    } while (this.used.has(candidate));
    this.repeats.set(id, n);
    this.used.add(candidate);
    return candidate;
  }
}
