// PubTator output with concept ids, the format the BioCreative V CDR evaluator scores:
// `PMID|t|title`, `PMID|a|abstract`, then `PMID<TAB>start<TAB>end<TAB>mention<TAB>Type<TAB>ID` lines
// (ids `|`-separated for a composite mention, `-1` for none), a blank line after each document.
import type { AnnotatedDocument } from '../domain/types.js';

export class PubTatorWriter {
  constructor(private readonly label: (type: string) => string) {}

  start(): string {
    return '';
  }

  document({ document, entities }: AnnotatedDocument): string {
    const { id, title } = document;
    // PubTator offsets index `title + " " + abstract`; a text without a title goes whole on the
    // title line, so offsets stay those of the text. Line breaks become spaces, same length.
    const [head, abstract] =
      title !== undefined && document.text.startsWith(`${title} `)
        ? [title, document.text.slice(title.length + 1)]
        : [document.text, ''];
    const oneLine = (text: string) => text.replace(/[\r\n]/g, ' ');
    const lines = [`${id}|t|${oneLine(head)}`, `${id}|a|${oneLine(abstract)}`];
    for (const e of entities) {
      const ids = e.concept_ids.length > 0 ? e.concept_ids.join('|') : '-1';
      lines.push([id, e.start, e.end, oneLine(e.text), this.label(e.type), ids].join('\t'));
    }
    return `${lines.join('\n')}\n\n`;
  }

  end(): string {
    return '';
  }
}
