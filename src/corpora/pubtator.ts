// PubTator reader (NCBI-disease, BC5CDR): `PMID|t|title`, `PMID|a|abstract`, then
// `PMID<TAB>start<TAB>end<TAB>mention<TAB>type[<TAB>id]` mention lines and
// `PMID<TAB>relation<TAB>id<TAB>id...` relation lines (BC5CDR's `CID`); a blank line ends a
// document. Offsets index into `title + " " + abstract`. The id column is `-1` for no concept and
// `|`-separated for a composite mention; ids become CURIEs (`D003866` → `MESH:D003866`).

import type { Corpus } from '../domain/types.js';
import { parseConceptIds } from '../domain/concept-ids.js';
import { CorpusFormatError, splitLines, UniqueIds } from './common.js';

interface Annotation {
  line: number;
  fields: string[];
}

interface Pending {
  pmid: string;
  line: number;
  title: string;
  abstract?: string;
  annotations: Annotation[];
  relations: { type: string; ids: string[] }[];
}

const TITLE = /^([^|\t]+)\|t\|(.*)$/;
const ABSTRACT = /^([^|\t]+)\|a\|(.*)$/;
const OFFSET = /^\d+$/;

/**
 * Parses a PubTator file. Known quirks are tolerated and reported in `warnings`:
 * an annotation whose offsets do not give its mention text is skipped, and a
 * repeated PMID keeps both documents, the later one as `PMID#2`, `PMID#3`, ...
 * Lines that fit no PubTator shape throw a CorpusFormatError.
 */
export function parsePubTator(content: string, file = 'pubtator'): Corpus {
  const corpus: Corpus = { documents: [], mentions: [], relations: [], warnings: [] };
  const ids = new UniqueIds();
  const firstSeen = new Map<string, number>();
  let pending: Pending | undefined;

  const finish = (doc: Pending): void => {
    const id = ids.claim(doc.pmid);
    const first = firstSeen.get(doc.pmid);
    if (first === undefined) firstSeen.set(doc.pmid, doc.line);
    else
      corpus.warnings.push(
        `${file}:${doc.line}: PMID ${doc.pmid} already appeared at line ${first}; kept as document ${id}`,
      );
    const text = doc.abstract === undefined ? doc.title : `${doc.title} ${doc.abstract}`;
    corpus.documents.push({ id, source: 'pubmed', title: doc.title, text });
    for (const relation of doc.relations) corpus.relations.push({ docId: id, ...relation });
    for (const { line, fields } of doc.annotations) {
      const [, startField, endField, mention, type, idField] = fields;
      const start = Number(startField);
      const end = Number(endField);
      const found = text.slice(start, end);
      if (start < end && end <= text.length && found === mention) {
        const conceptIds = conceptIdsAt(idField, file, line);
        corpus.mentions.push({ docId: id, start, end, text: mention, type, ...(conceptIds.length ? { conceptIds } : {}) });
      } else
        corpus.warnings.push(
          `${file}:${line}: offsets ${start}-${end} give ${JSON.stringify(found)}, ` +
            `not the mention ${JSON.stringify(mention)}; annotation skipped`,
        );
    }
  };

  const lines = splitLines(content);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const line = i + 1;
    if (raw.trim() === '') {
      if (pending) finish(pending);
      pending = undefined;
      continue;
    }
    const title = TITLE.exec(raw);
    if (title) {
      // A missing blank line between documents is harmless: the title line starts the next one.
      if (pending) finish(pending);
      pending = { pmid: title[1], line, title: title[2], annotations: [], relations: [] };
      continue;
    }
    const abstract = ABSTRACT.exec(raw);
    if (abstract) {
      if (!pending || pending.pmid !== abstract[1] || pending.abstract !== undefined)
        throw new CorpusFormatError(file, line, `abstract line for PMID ${abstract[1]} does not follow its title line`);
      pending.abstract = abstract[2];
      continue;
    }
    const fields = raw.split('\t');
    if (fields.length === 4 && !OFFSET.test(fields[1]) && pending?.pmid === fields[0]) {
      pending.relations.push({ type: fields[1], ids: fields.slice(2) });
      continue;
    }
    if (fields.length < 5)
      throw new CorpusFormatError(
        file,
        line,
        'expected PMID|t|..., PMID|a|..., PMID<TAB>start<TAB>end<TAB>mention<TAB>type... or PMID<TAB>relation<TAB>id<TAB>id',
      );
    if (!pending || fields[0] !== pending.pmid)
      throw new CorpusFormatError(file, line, `annotation for PMID ${fields[0]} outside its document`);
    if (!OFFSET.test(fields[1]) || !OFFSET.test(fields[2]))
      throw new CorpusFormatError(file, line, `offsets must be non-negative integers, got ${fields[1]}-${fields[2]}`);
    pending.annotations.push({ line, fields });
  }
  if (pending) finish(pending);
  return corpus;
}

function conceptIdsAt(field: string | undefined, file: string, line: number): string[] {
  try {
    return parseConceptIds(field);
  } catch (error) {
    throw new CorpusFormatError(file, line, (error as Error).message);
  }
}
