import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeAnnotatedDocument, decodeDocument, decodeEntityRecord, encodeAnnotatedDocument, encodeDocument,
  encodeEntityRecord,
} from '../src/domain/avro.js';
import type { AnnotatedDocument, Document, EntityRecord } from '../src/domain/types.js';

const full: Document = {
  id: 'PMID:1', source: 'pubmed', title: 'A title', text: 'A title. Some text.',
  metadata: { journal: 'J', year: '2026' }, types: ['disease', 'chemical'],
};
const minimal: Document = { id: 'note-7', source: 'clinical_note', text: 'Pt has DM2.' };
const entity: EntityRecord = {
  entity_id: 'abc', doc_id: 'PMID:1', start: 9, end: 13, text: 'Some', type: 'disease',
  category: 'biolink:Disease', sentence_index: 1, confidence: 0.75,
  provenance: { model_id: 'm', prompt_format: 'conv_term', pipeline_version: '0.1.0' },
  concept_id: 'MESH:D006527', concept_ids: ['MESH:D006527'], concept_name: 'Hepatolenticular Degeneration',
  concept_score: 1, long_form: 'Wilson disease',
};

test('Document round-trips every field, and optional fields stay absent', () => {
  assert.deepEqual(decodeDocument(encodeDocument(full)), full);
  assert.deepEqual(decodeDocument(encodeDocument(minimal)), minimal);
});

test('EntityRecord round-trips every field, with and without confidence', () => {
  for (const record of [entity, { ...entity, confidence: null }]) {
    assert.deepEqual(decodeEntityRecord(encodeEntityRecord(record)), record);
  }
});

test('AnnotatedDocument round-trips, also with no entities', () => {
  const annotated: AnnotatedDocument = {
    document: full, entities: [entity, { ...entity, entity_id: 'def', start: 0, end: 1, text: 'A' }],
    sentence_count: 2, ungrounded_count: 3, invalid_answer_count: 1,
  };
  assert.deepEqual(decodeAnnotatedDocument(encodeAnnotatedDocument(annotated)), annotated);
  const empty = { ...annotated, document: minimal, entities: [] };
  assert.deepEqual(decodeAnnotatedDocument(encodeAnnotatedDocument(empty)), empty);
});

test('bytes that are not a Document are rejected with an error', () => {
  assert.throws(() => decodeDocument(Buffer.from('garbage bytes that are not avro')));
  assert.throws(() => decodeDocument(encodeDocument(full).subarray(0, 10)));
});
