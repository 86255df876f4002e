import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { annotatedDocumentType, entityRecordType, toAvroAnnotated } from '../src/domain/avro.js';
import type { EntityRecord } from '../src/domain/types.js';
import { projectPath, readJson } from '../src/project.js';

// The schemas as they were before concept ids: what deployed readers and writers still use.
const v1Registry: Record<string, avro.Type> = {};
const v1 = (file: string) => avro.Type.forSchema(readJson<avro.Schema>(file), { registry: v1Registry });
v1(projectPath('schemas', 'Document.avsc'));
const v1EntityRecord = v1(projectPath('test', 'fixtures', 'schemas', 'EntityRecord.v1.avsc'));
const v1AnnotatedDocument = v1(projectPath('test', 'fixtures', 'schemas', 'AnnotatedDocument.v1.avsc'));

const provenance = { model_id: 'm', prompt_format: 'conv_term', pipeline_version: '0.1.0' };
const oldRecord = {
  entity_id: 'e1', doc_id: 'd', start: 16, end: 18, text: 'WD', type: 'disease', category: 'biolink:Disease',
  sentence_index: 0, confidence: 0.5, provenance,
};
const newRecord: EntityRecord = {
  ...oldRecord, concept_id: 'MESH:D006527', concept_ids: ['MESH:D006527'], concept_name: 'Hepatolenticular Degeneration',
  concept_score: 1, long_form: 'Wilson disease',
};
/** avsc decodes into generated classes; compare the data. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const unknownConcept = { concept_id: null, concept_ids: [], concept_name: null, concept_score: null, long_form: null };

test('old readers read new EntityRecords: the new fields are skipped', () => {
  const bytes = entityRecordType.toBuffer(newRecord);
  const read = v1EntityRecord.fromBuffer(bytes, v1EntityRecord.createResolver(entityRecordType));
  assert.deepEqual(plain(read), oldRecord);
});

test('new readers read old EntityRecords: the new fields take their defaults', () => {
  const bytes = v1EntityRecord.toBuffer(oldRecord);
  const read = entityRecordType.fromBuffer(bytes, entityRecordType.createResolver(v1EntityRecord));
  assert.deepEqual(plain(read), { ...oldRecord, ...unknownConcept });
});

test('AnnotatedDocument resolves both ways with its entities', () => {
  const document = { id: 'd', source: 'pubmed', title: null, text: 'Wilson disease (WD)', metadata: {}, types: null };
  const annotated = { document, entities: [newRecord], sentence_count: 1, ungrounded_count: 0, invalid_answer_count: 0 };
  const newBytes = annotatedDocumentType.toBuffer(toAvroAnnotated({ ...annotated, document: { id: 'd', source: 'pubmed', text: document.text } }));
  const oldRead = v1AnnotatedDocument.fromBuffer(newBytes, v1AnnotatedDocument.createResolver(annotatedDocumentType));
  assert.deepEqual(plain(oldRead.entities), [oldRecord]);

  const oldBytes = v1AnnotatedDocument.toBuffer({ ...annotated, entities: [oldRecord] });
  const newRead = annotatedDocumentType.fromBuffer(oldBytes, annotatedDocumentType.createResolver(v1AnnotatedDocument));
  assert.deepEqual(plain(newRead.entities), [{ ...oldRecord, ...unknownConcept }]);
});
