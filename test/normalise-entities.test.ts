import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntityTypes } from '../src/stages/entity-types.js';
import { entityId, toEntityRecords } from '../src/stages/normalise-entities.js';

const types = EntityTypes.load();
const provenance = { model_id: 'm', prompt_format: 'conv_term', pipeline_version: '0.0.0' };

test('corpus labels map to one canonical vocabulary with Biolink categories', () => {
  assert.equal(types.canonical('SpecificDisease'), 'disease');
  assert.equal(types.canonical('Modifier'), 'disease');
  assert.equal(types.canonical('Chemical'), 'chemical');
  assert.equal(types.canonical('DNA'), 'dna');
  assert.equal(types.category('Disease'), 'biolink:Disease');
  assert.equal(types.category('chemical'), 'biolink:ChemicalEntity');
  assert.equal(types.category('cell_line'), 'biolink:CellLine');
  assert.throws(() => types.canonical('vehicle'), /unknown entity type "vehicle"/);
});

test('duplicate spans merge, keeping the higher confidence; records are ordered by offset', () => {
  const m = (start: number, end: number, type: string, confidence?: number) => ({
    mention: 'x', text: 'x'.repeat(end - start), start, end, type, sentenceIndex: 0, confidence,
  });
  const records = toEntityRecords(
    'doc', [m(10, 15, 'Disease', 0.4), m(0, 5, 'chemical'), m(10, 15, 'disease', 0.9), m(0, 5, 'disease')],
    types, provenance,
  );
  assert.deepEqual(records.map((r) => [r.start, r.type, r.confidence]), [
    [0, 'chemical', null], [0, 'disease', null], [10, 'disease', 0.9],
  ]);
  assert.equal(records[2]!.category, 'biolink:Disease');
});

test('entity ids are deterministic and differ by span and type', () => {
  assert.equal(entityId('d', 1, 5, 'disease'), entityId('d', 1, 5, 'disease'));
  assert.match(entityId('d', 1, 5, 'disease'), /^[0-9a-f]{32}$/);
  const ids = new Set([entityId('d', 1, 5, 'disease'), entityId('d', 1, 6, 'disease'),
    entityId('d', 1, 5, 'chemical'), entityId('e', 1, 5, 'disease')]);
  assert.equal(ids.size, 4);
});
