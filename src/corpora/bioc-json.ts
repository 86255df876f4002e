// BioC JSON (as the bioc Python package and PubTator3 write it): read into a Corpus, written
// from annotated documents.
import type { AnnotatedDocument, Corpus } from '../domain/types.js';
import { biocFromAnnotated, corpusFromBioc, type BiocAnnotation, type BiocDocument, type BiocPassage } from './bioc.js';
import { CorpusFormatError } from './common.js';
import { parseLocatedJson, type LocatedJson } from './located-json.js';

type Json = Record<string, unknown>;

export function parseBiocJson(content: string, file = 'bioc.json'): Corpus {
  const json = parseLocatedJson(content, file);
  const read = new Reader(json, file);
  const collection = read.object(json.value, 'the collection');
  return corpusFromBioc(read.array(collection, 'documents').map((d) => read.document(d)), file);
}

class Reader {
  constructor(
    private readonly json: LocatedJson,
    private readonly file: string,
  ) {}

  document(value: unknown): BiocDocument {
    const doc = this.object(value, 'a document');
    return {
      id: this.string(doc, 'id'),
      line: this.line(doc),
      passages: this.array(doc, 'passages').map((p) => this.passage(p)),
      relations: this.optionalArray(doc, 'relations').map((r) => ({ infons: this.infons(this.object(r, 'a relation')) })),
    };
  }

  private passage(value: unknown): BiocPassage {
    const passage = this.object(value, 'a passage');
    return {
      offset: this.integer(passage, 'offset'),
      line: this.line(passage),
      infons: this.infons(passage),
      text: passage.text === undefined || passage.text === null ? '' : this.string(passage, 'text'),
      annotations: this.optionalArray(passage, 'annotations').map((a) => this.annotation(a)),
    };
  }

  private annotation(value: unknown): BiocAnnotation {
    const annotation = this.object(value, 'an annotation');
    return {
      id: String(annotation.id ?? ''),
      line: this.line(annotation),
      infons: this.infons(annotation),
      text: this.string(annotation, 'text'),
      locations: this.array(annotation, 'locations').map((l) => {
        const location = this.object(l, 'a location');
        return { offset: this.integer(location, 'offset'), length: this.integer(location, 'length') };
      }),
    };
  }

  object(value: unknown, what: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new CorpusFormatError(this.file, this.line(value), `expected ${what} (a JSON object)`);
    return value as Json;
  }

  array(owner: Json, key: string): unknown[] {
    const value = owner[key];
    if (!Array.isArray(value)) throw new CorpusFormatError(this.file, this.line(owner), `"${key}" must be an array`);
    return value;
  }

  private optionalArray(owner: Json, key: string): unknown[] {
    return owner[key] === undefined ? [] : this.array(owner, key);
  }

  private string(owner: Json, key: string): string {
    const value = owner[key];
    if (typeof value !== 'string') throw new CorpusFormatError(this.file, this.line(owner), `"${key}" must be a string`);
    return value;
  }

  private integer(owner: Json, key: string): number {
    const value = owner[key];
    if (!Number.isInteger(value)) throw new CorpusFormatError(this.file, this.line(owner), `"${key}" must be an integer, got ${JSON.stringify(value)}`);
    return value as number;
  }

  private infons(owner: Json): Record<string, string> {
    const infons = owner.infons === undefined ? {} : this.object(owner.infons, '"infons"');
    return Object.fromEntries(Object.entries(infons).map(([k, v]) => [k, String(v)]));
  }

  private line(value: unknown): number {
    return (typeof value === 'object' && value !== null && this.json.lineOf(value)) || 1;
  }
}

/** Writes a collection a document at a time, one document a line, so annotate can stream it. */
export class BiocJsonWriter {
  private first = true;

  constructor(private readonly label: (type: string) => string) {}

  start(): string {
    return '{"source":"bioner-stream","date":"","key":"bioner-stream.key","infons":{},"documents":[\n';
  }

  document(annotated: AnnotatedDocument): string {
    const doc = biocFromAnnotated(annotated, this.label);
    const json = {
      id: doc.id,
      infons: {},
      passages: doc.passages.map((p) => ({
        offset: p.offset,
        infons: p.infons,
        text: p.text,
        sentences: [],
        annotations: p.annotations.map(({ id, infons, text, locations }) => ({ id, infons, text, locations })),
        relations: [],
      })),
      relations: [],
    };
    const separator = this.first ? '' : ',\n';
    this.first = false;
    return separator + JSON.stringify(json);
  }

  end(): string {
    return '\n]}\n';
  }
}
