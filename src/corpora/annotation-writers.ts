// Output formats of `annotate`: each writes a file a document at a time.
import type { AnnotatedDocument } from '../domain/types.js';
import { BiocJsonWriter } from './bioc-json.js';
import { BiocXmlWriter } from './bioc-xml.js';
import { PubTatorWriter } from './pubtator-writer.js';

export const OUTPUT_FORMATS = ['jsonl', 'pubtator', 'bioc-xml', 'bioc-json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface AnnotationWriter {
  start(): string;
  document(annotated: AnnotatedDocument): string;
  end(): string;
}

/** One EntityRecord JSON per line, what `eval` reads. */
class JsonlWriter implements AnnotationWriter {
  start = () => '';
  document = ({ entities }: AnnotatedDocument) => entities.map((e) => `${JSON.stringify(e)}\n`).join('');
  end = () => '';
}

/** `label` turns a canonical type into the label the format's readers expect ("disease" → "Disease"). */
export function annotationWriter(format: OutputFormat, label: (type: string) => string): AnnotationWriter {
  switch (format) {
    case 'jsonl':
      return new JsonlWriter();
    case 'pubtator':
      return new PubTatorWriter(label);
    case 'bioc-xml':
      return new BiocXmlWriter(label);
    case 'bioc-json':
      return new BiocJsonWriter(label);
  }
}
