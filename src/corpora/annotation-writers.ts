// Output formats of `annotate`: each writes one stream (a file or stdout) a document at a time,
// but brat (brat.ts), which writes a folder of files.
import type { AnnotatedDocument } from '../domain/types.js';
import { BiocJsonWriter } from './bioc-json.js';
import { BiocXmlWriter } from './bioc-xml.js';
import { IobWriter } from './iob-writer.js';
import { PubTatorWriter } from './pubtator-writer.js';

export const OUTPUT_FORMATS = ['jsonl', 'pubtator', 'bioc-xml', 'bioc-json', 'iob', 'brat'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export type StreamFormat = Exclude<OutputFormat, 'brat'>;

export interface AnnotationWriter {
  start(): string;
  document(annotated: AnnotatedDocument): string;
  end(): string;
  /** What the format could not hold, for a warning; undefined when nothing was left out. */
  leftOut?(): string | undefined;
}

/** One EntityRecord JSON per line, what `eval` reads. */
class JsonlWriter implements AnnotationWriter {
  start = () => '';
  document = ({ entities }: AnnotatedDocument) => entities.map((e) => `${JSON.stringify(e)}\n`).join('');
  end = () => '';
}

/** `label` turns a canonical type into the label the format's readers expect ("disease" → "Disease"). */
export function annotationWriter(format: StreamFormat, label: (type: string) => string): AnnotationWriter {
  switch (format) {
    case 'jsonl':
      return new JsonlWriter();
    case 'pubtator':
      return new PubTatorWriter(label);
    case 'bioc-xml':
      return new BiocXmlWriter(label);
    case 'bioc-json':
      return new BiocJsonWriter(label);
    case 'iob':
      return new IobWriter(label);
  }
}
