// Helpers shared by the corpus readers.

import { isUtf8 } from 'node:buffer';
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

/**
 * The text of a file's bytes. A NUL byte (a binary file, or UTF-16) and invalid UTF-8 are
 * refused, naming the byte and its line, rather than read as replacement characters.
 */
export function decodeText(bytes: Buffer, file: string): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new CorpusFormatError(file, lineOf(bytes, nul), `a NUL byte at byte ${nul}: a binary file, not text`);
  if (!isUtf8(bytes)) {
    const at = firstInvalidUtf8(bytes);
    throw new CorpusFormatError(file, lineOf(bytes, at),
      `invalid UTF-8 at byte ${at} (0x${bytes[at]!.toString(16).padStart(2, '0')}); convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8`);
  }
  return bytes.toString('utf8');
}

const lineOf = (bytes: Buffer, offset: number): number => {
  let line = 1;
  for (let i = bytes.indexOf(10); i >= 0 && i < offset; i = bytes.indexOf(10, i + 1)) line++;
  return line;
};

/** The offset of the first byte that starts no valid UTF-8 sequence (RFC 3629: no overlongs, surrogates or code points past U+10FFFF). */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    // The byte count and the range of the second byte, per lead byte.
    const [count, low, high] = b < 0x80 ? [1, 0, 0] : b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf] : b === 0xe0 ? [3, 0xa0, 0xbf]
      : b === 0xed ? [3, 0x80, 0x9f] : b >= 0xe1 && b <= 0xef ? [3, 0x80, 0xbf] : b === 0xf0 ? [4, 0x90, 0xbf]
      : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf] : b === 0xf4 ? [4, 0x80, 0x8f] : [0, 0, 0];
    if (count === 0) return i;
    for (let k = 1; k < count; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return i;
    }
    i += count;
  }
  return bytes.length;
}
