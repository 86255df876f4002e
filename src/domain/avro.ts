// Avro codecs for the wire types, built from the .avsc files in schemas/.
import avro from 'avsc';
import type { AnnotatedDocument, Document, EntityRecord } from './types.js';
import { projectPath, readJson } from '../project.js';

const registry: Record<string, avro.Type> = {};
const parse = (name: string) =>
  avro.Type.forSchema(readJson<avro.Schema>(projectPath('schemas', `${name}.avsc`)), { registry });

// Order matters: AnnotatedDocument refers to the two named types before it.
export const documentType = parse('Document');
export const entityRecordType = parse('EntityRecord');
export const annotatedDocumentType = parse('AnnotatedDocument');

export function encodeDocument(doc: Document): Buffer {
  return documentType.toBuffer(toAvroDocument(doc));
}

/** Throws on bytes that are not a Document. */
export function decodeDocument(bytes: Buffer): Document {
  return toDocument(documentType.fromBuffer(bytes));
}

export function encodeEntityRecord(record: EntityRecord): Buffer {
  return entityRecordType.toBuffer(record);
}

export function decodeEntityRecord(bytes: Buffer): EntityRecord {
  return toEntityRecord(entityRecordType.fromBuffer(bytes));
}

/** An EntityRecord from what avsc decoded. */
export const toEntityRecord = (decoded: unknown): EntityRecord => plain(decoded);

export function encodeAnnotatedDocument(annotated: AnnotatedDocument): Buffer {
  return annotatedDocumentType.toBuffer(toAvroAnnotated(annotated));
}

/** The value avsc writes for an AnnotatedDocument: optional fields become Avro nulls. */
export function toAvroAnnotated(annotated: AnnotatedDocument): unknown {
  return { ...annotated, document: toAvroDocument(annotated.document) };
}

export function decodeAnnotatedDocument(bytes: Buffer): AnnotatedDocument {
  return toAnnotatedDocument(annotatedDocumentType.fromBuffer(bytes));
}

/** An AnnotatedDocument from what avsc decoded. */
export function toAnnotatedDocument(decoded: unknown): AnnotatedDocument {
  const value = plain<AnnotatedDocument & { document: AvroDocument }>(decoded);
  return { ...value, document: fromAvroDocument(value.document) };
}

/** avsc decodes records into generated classes; consumers want plain data. */
const plain = <T>(value: unknown): T => structuredClone(value) as T;

export interface AvroDocument {
  id: string;
  source: Document['source'];
  title: string | null;
  text: string;
  metadata: Record<string, string>;
  types: string[] | null;
}

export function toAvroDocument(doc: Document): AvroDocument {
  return {
    id: doc.id,
    source: doc.source,
    title: doc.title ?? null,
    text: doc.text,
    metadata: doc.metadata ?? {},
    types: doc.types ?? null,
  };
}

/** A Document from what avsc decoded. */
export function toDocument(decoded: unknown): Document {
  return fromAvroDocument(plain(decoded));
}

function fromAvroDocument(value: AvroDocument): Document {
  const doc: Document = { id: value.id, source: value.source, text: value.text };
  if (value.title !== null) doc.title = value.title;
  if (Object.keys(value.metadata).length > 0) doc.metadata = { ...value.metadata };
  if (value.types !== null) doc.types = [...value.types];
  return doc;
}
