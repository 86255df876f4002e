// CoNLL-style IOB output, as the IOB reader (iob.ts) reads it: a `-DOCSTART-` line before each
// document, then its sentences (split as the annotator splits them), one `token<TAB>tag` line a
// token and a blank line after each sentence. Tokens are runs of letters and digits and single
// other characters, cut where an entity starts or ends, so every entity lies on whole tokens.
// IOB gives a token one tag: of overlapping entities the first (then longest) is kept and the
// others are counted for a warning. Document ids are not written; documents keep input order.
import type { AnnotatedDocument, EntityRecord } from '../domain/types.js';
import { splitSentences } from '../stages/split-sentences.js';

const TOKEN = /[\p{L}\p{N}]+|\S/gu;

export class IobWriter {
  private overlapping = 0;

  constructor(private readonly label: (type: string) => string) {}

  start(): string {
    return '';
  }

  document({ document, entities }: AnnotatedDocument): string {
    const kept = this.withoutOverlaps(entities);
    const cuts = new Set(kept.flatMap((e) => [e.start, e.end]));
    const lines = ['-DOCSTART-\tO', ''];
    for (const sentence of splitSentences(document)) {
      for (const match of sentence.text.matchAll(TOKEN)) {
        const from = sentence.start + match.index;
        let start = from;
        for (let i = from + 1; i <= from + match[0].length; i++) {
          if (i < from + match[0].length && !cuts.has(i)) continue;
          lines.push(`${document.text.slice(start, i)}\t${this.tag(kept, start)}`);
          start = i;
        }
      }
      lines.push('');
    }
    return `${lines.join('\n')}\n`;
  }

  end(): string {
    return '';
  }

  leftOut(): string | undefined {
    return this.overlapping === 0 ? undefined : `${this.overlapping} entities overlap an earlier one and are not in the IOB output (a token has one tag)`;
  }

  private tag(entities: EntityRecord[], start: number): string {
    const entity = entities.find((e) => e.start <= start && start < e.end);
    if (entity === undefined) return 'O';
    return `${entity.start === start ? 'B' : 'I'}-${this.label(entity.type).replace(/\s/g, '_')}`;
  }

  private withoutOverlaps(entities: EntityRecord[]): EntityRecord[] {
    const kept: EntityRecord[] = [];
    for (const e of [...entities].sort((a, b) => a.start - b.start || b.end - a.end)) {
      if (kept.length > 0 && e.start < kept.at(-1)!.end) this.overlapping++;
      else kept.push(e);
    }
    return kept;
  }
}
