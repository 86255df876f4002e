// Where `annotate` writes: one file or standard output (`-`) for the stream formats, a folder of
// .txt/.ann pairs for brat. The checks run before the model loads, so a wrong --output costs no
// wait; the output is closed properly (a whole collection) whenever the run stops.
import { createWriteStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { annotationWriter, type OutputFormat } from '../corpora/annotation-writers.js';
import { BratWriter } from '../corpora/brat.js';
import type { AnnotatedDocument } from '../domain/types.js';
import { UsageError } from './options.js';

/** `--output -`: standard output. */
export const STDOUT = '-';

export interface AnnotationOutput {
  /** Where it goes, for the messages. */
  where: string;
  write(annotated: AnnotatedDocument): void;
  /** Ends the output as its format requires and resolves once it is written. */
  close(): Promise<void>;
  /** What the format could not hold, for a warning. */
  leftOut(): string | undefined;
}

const isFolder = (path: string) => existsSync(path) && statSync(path).isDirectory();

export function checkOutput(path: string, format: OutputFormat): void {
  if (format === 'brat') {
    if (path === STDOUT) throw new UsageError('--output-format brat writes a .txt and an .ann file per document into a folder; --output - cannot hold them');
    if (existsSync(path) && !isFolder(path)) throw new UsageError(`--output ${path} is a file; brat writes into a folder`);
    if (!isFolder(dirname(resolve(path)))) throw new UsageError(`--output ${path}: no folder ${dirname(resolve(path))} to make it in`);
    return;
  }
  if (path === STDOUT) return;
  if (isFolder(path)) throw new UsageError(`--output ${path} is a folder; --output-format ${format} writes one file (or - for standard output)`);
  if (!isFolder(dirname(resolve(path)))) throw new UsageError(`--output ${path}: no folder ${dirname(resolve(path))}`);
}

/** `label` turns a canonical type into the label the format's readers expect. */
export function openOutput(path: string, format: OutputFormat, label: (type: string) => string): AnnotationOutput {
  if (format === 'brat') {
    mkdirSync(path, { recursive: true });
    const writer = new BratWriter(label);
    return {
      where: `${path}/ (a .txt and an .ann per document)`,
      write(annotated) {
        const { name, txt, ann } = writer.document(annotated);
        writeFileSync(join(path, `${name}.txt`), txt);
        writeFileSync(join(path, `${name}.ann`), ann);
      },
      close: async () => undefined,
      leftOut: () => undefined,
    };
  }
  const out = path === STDOUT ? process.stdout : createWriteStream(path);
  // A closed pipe or a full disk stops the run at the next document, in one line.
  let failed: Error | undefined;
  out.on('error', (error) => (failed ??= error));
  const put = (text: string) => {
    if (failed) throw new Error(`cannot write ${path === STDOUT ? 'to standard output' : path}: ${failed.message}`);
    out.write(text);
  };
  const writer = annotationWriter(format, label);
  put(writer.start());
  return {
    where: path === STDOUT ? 'standard output' : path,
    write: (annotated) => put(writer.document(annotated)),
    async close() {
      put(writer.end());
      // Standard output stays open: the process ends it.
      await new Promise<void>((done) => (out === process.stdout ? out.write('', () => done()) : out.end(() => done())));
      put('');
    },
    leftOut: () => writer.leftOut?.(),
  };
}
