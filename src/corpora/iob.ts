// CoNLL-style IOB reader (BC5CDR, JNLPBA): `token<TAB>tag` lines, a blank line between
// sentences, `-DOCSTART-` lines between documents. Extra middle columns are ignored
// (the tag is the last column).

import type { Corpus } from '../domain/types.js';
import { CorpusFormatError, fileStem, splitLines } from './common.js';

const TAG = /^(?:O|([BI])-(.+))$/;

interface Span {
  type: string;
  start: number;
  end: number;
}

/**
 * Each sentence becomes one Document, id `<file stem>:<sentence index>` (e.g. `test:17`;
 * `-DOCSTART-` lines are not counted), source 'other', text = tokens joined by single
 * spaces, gold spans on that string. An I- tag that does not continue an entity of its
 * type starts one, as conlleval does.
 */
export function parseIob(content: string, file: string): Corpus {
  const corpus: Corpus = { documents: [], mentions: [], relations: [], warnings: [] };
  const stem = fileStem(file);
  let tokens: string[] = [];
  let spans: Span[] = [];
  let open: Span | undefined;
  let length = 0; // of the sentence text so far

  const endSentence = (): void => {
    if (tokens.length === 0) return;
    const docId = `${stem}:${corpus.documents.length}`;
    const text = tokens.join(' ');
    corpus.documents.push({ id: docId, source: 'other', text });
    for (const { type, start, end } of spans)
      corpus.mentions.push({ docId, start, end, text: text.slice(start, end), type });
    tokens = [];
    spans = [];
    open = undefined;
    length = 0;
  };

  const lines = splitLines(content);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const fields = raw.split('\t');
    if (raw.trim() === '' || fields[0] === '-DOCSTART-') {
      endSentence();
      continue;
    }
    const tag = fields.length >= 2 ? TAG.exec(fields[fields.length - 1]) : null;
    if (fields[0] === '' || !tag)
      throw new CorpusFormatError(
        file,
        i + 1,
        `expected token<TAB>tag, tag O, B-<type> or I-<type>; got ${JSON.stringify(raw)}`,
      );
    const start = tokens.length === 0 ? 0 : length + 1;
    tokens.push(fields[0]);
    length = start + fields[0].length;
    const [, bio, type] = tag;
    if (bio === undefined) open = undefined;
    else if (bio === 'I' && open?.type === type) open.end = length;
    else {
      open = { type, start, end: length };
      spans.push(open);
    }
  }
  endSentence();
  return corpus;
}
