// brat standoff (https://brat.nlplab.org/standoff.html): per document a `.txt` with its text and
// a `.ann` with a `T` line per entity (`T1<TAB>Disease 10 25<TAB>text`; an entity over a line
// break in fragments, `0 5;6 12`) and an `N` line per concept id (`N1<TAB>Reference T1
// MESH:D003866<TAB>name`). Files are named by the document id, characters a file name cannot
// hold replaced by `_`, a repeated name kept as `name#2`.
import type { AnnotatedDocument, EntityRecord } from '../domain/types.js';
import { UniqueIds } from './common.js';

export interface BratDocument {
  /** The file name without `.txt`/`.ann`. */
  name: string;
  txt: string;
  ann: string;
}

export class BratWriter {
  private readonly names = new UniqueIds();

  constructor(private readonly label: (type: string) => string) {}

  document({ document, entities }: AnnotatedDocument): BratDocument {
    const name = this.names.claim(document.id.replace(/[/\\:*?"<>|\p{Cc}]/gu, '_').replace(/^\.+/, '_'));
    const lines: string[] = [];
    let notes = 0;
    entities.forEach((entity, i) => {
      const parts = fragments(document.text, entity);
      const spans = parts.map(([from, to]) => `${from} ${to}`).join(';');
      const text = parts.map(([from, to]) => document.text.slice(from, to)).join(' ');
      lines.push(`T${i + 1}\t${this.label(entity.type).replace(/\s/g, '_')} ${spans}\t${text}`);
      for (const id of entity.concept_ids) lines.push(`N${++notes}\tReference T${i + 1} ${id}\t${entity.concept_name ?? ''}`);
    });
    return { name, txt: document.text, ann: lines.map((line) => `${line}\n`).join('') };
  }
}

/** The entity's span, cut around each line break in it: brat's text field is one line. */
function fragments(text: string, { start, end }: EntityRecord): [number, number][] {
  const parts: [number, number][] = [];
  let from = start;
  for (let i = start; i <= end; i++) {
    if (i < end && text[i] !== '\n' && text[i] !== '\r') continue;
    if (i > from) parts.push([from, i]);
    from = i + 1;
  }
  return parts;
}
